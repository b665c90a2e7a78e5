// Small progressive enhancements for the public site. Everything works without it.
(function () {
  "use strict";
  // Tell the stylesheet that scripts run, as early as possible: only then may the
  // menu fold away behind the button on narrow screens.
  document.documentElement.classList.add("js");

  function init() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) return;
    toggle.hidden = false;

    function setOpen(open) {
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("is-open", open);
    }

    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });

    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("is-open")) {
        setOpen(false);
        toggle.focus();
      }
    });

    // Back on a wide screen the menu is always shown; start closed next time.
    if (window.matchMedia) {
      var wide = window.matchMedia("(min-width: 48em)");
      var onChange = function (query) {
        if (query.matches && nav.classList.contains("is-open")) setOpen(false);
      };
      if (wide.addEventListener) wide.addEventListener("change", onChange);
      else if (wide.addListener) wide.addListener(onChange);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
