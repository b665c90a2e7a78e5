// The join form without clutter: show only the parts the chosen membership needs,
// and update the prices when another chapter is chosen. The form works without it.
(function () {
  "use strict";

  function checkedType(form) {
    return form.querySelector('input[name="type"]:checked');
  }

  function update(form) {
    var radios = form.querySelectorAll('input[name="type"]');
    var chosen = checkedType(form);
    var allOrganisations = radios.length > 0;
    radios.forEach(function (radio) {
      if (radio.dataset.kind !== "organisation") allOrganisations = false;
    });
    var organisation = allOrganisations || (chosen && chosen.dataset.kind === "organisation");
    var openAmount = chosen ? chosen.hasAttribute("data-open-amount") : false;

    form.querySelectorAll("[data-join-nojs]").forEach(function (el) { el.hidden = true; });
    form.querySelectorAll('[data-join-for="organisation"]').forEach(function (el) {
      el.hidden = !organisation;
    });
    form.querySelectorAll('[data-join-for="person"]').forEach(function (el) {
      el.hidden = organisation;
    });
    form.querySelectorAll('[data-join-for="open-amount"]').forEach(function (el) {
      el.hidden = !openAmount;
    });
  }

  function refreshPrices(form, select) {
    var url = new URL(form.getAttribute("action") || window.location.pathname, window.location.href);
    url.search = "";
    url.searchParams.set("chapter", select.value);
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        // Only the prices change; what the visitor chose and any errors stay.
        form.querySelectorAll(".join-type__price[id]").forEach(function (price) {
          var updated = fresh.getElementById(price.id);
          if (updated) price.innerHTML = updated.innerHTML;
        });
        var note = form.querySelector("[data-join-price-note]");
        if (note) note.hidden = true;
      })
      .catch(function () { /* the prices stay as they were; the button still works */ });
  }

  function init() {
    var form = document.querySelector("[data-join-form]");
    if (!form) return;
    var refresh = form.querySelector("[data-join-refresh]");
    if (refresh && window.fetch && window.DOMParser) refresh.hidden = true;

    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.name === "type") update(form);
      if (target.name === "chapter" && refresh && refresh.hidden && target.value) {
        refreshPrices(form, target);
      }
    });
    update(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
