"""Register list cells written in Python rather than through Wagtail's cell templates.

A register list page has 50 rows. Rendered through Wagtail's templates, each row's
plain cells (``wagtailadmin/tables/cell.html``) and its title cell with the row's
"More options" menu (``title_cell.html``, ``buttons.html``, the dropdown component and
one button template per action) took most of the page's time: some 700 template
renders per page. The columns here write the same HTML, with its whitespace collapsed
to single spaces (which the browser draws the same), at a fraction of the cost.
``tests/members/test_admin_cells.py`` compares them with Wagtail's templates, so a
Wagtail upgrade that changes the markup fails there, not in front of staff.

Anything the Python version does not know (another kind of button, a dropdown with
its own template, a theme) is rendered by Wagtail's template as before.
"""

from __future__ import annotations

from functools import lru_cache

from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.widgets.button import Button, ButtonWithDropdown


def _printed(value) -> str:
    """``{{ value }}`` in a template: localised, in local time, escaped unless safe."""
    return conditional_escape(localize(template_localtime(value)))


class PlainColumn(Column):
    """Wagtail's ``Column`` with its cell written in Python rather than through the
    ``wagtailadmin/tables/cell.html`` template: the same ``<td>`` (class, localised
    and escaped value, the empty display)."""

    def render_cell_html(self, instance, parent_context):
        value = self.get_cell_context_data(instance, parent_context)["value"]
        text = "" if value is None else _printed(value)
        if self.classname:
            return format_html('<td class="{}">{}</td>', self.classname, text)
        return format_html("<td>{}</td>", text)


@lru_cache(maxsize=256)
def _icon(name: str, classname: str = "icon") -> SafeString:
    """``{% icon name=… classname=… %}`` without a title (``shared/icon.html``)."""
    return format_html(
        '<svg class="icon icon-{} {}" aria-hidden="true"><use href="#icon-{}"></use>'
        "</svg>",
        name,
        classname,
        name,
    )


def _button(button) -> SafeString | None:
    """A plain ``Button`` as ``shared/button.html`` writes it, or None if this is
    some other kind of button."""
    if type(button) is not Button or button.template_name != Button.template_name:
        return None
    content = format_html("{} ", _icon(button.icon_name)) if button.icon_name else ""
    label = conditional_escape(button.label)
    attrs = button.base_attrs_string
    if button.url:
        return format_html(
            '<a href="{}" class="{}" {}> {}{} </a>',
            button.url,
            button.classname,
            attrs,
            content,
            label,
        )
    return format_html(
        '<button class="{}" {}> {}{} </button>', button.classname, attrs, content, label
    )


def _dropdown(button) -> SafeString | None:
    """A ``ButtonWithDropdown`` of plain buttons as ``shared/button_with_dropdown.html``
    and the dropdown component write it, or None if it is anything else."""
    if (
        type(button) is not ButtonWithDropdown
        or button.template_name != ButtonWithDropdown.template_name
    ):
        return None
    items = [_button(item) for item in sorted(button.dropdown_buttons)]
    if any(item is None for item in items):
        return None
    attrs = str(button.base_attrs_string).strip()
    label = conditional_escape(button.label)
    toggle_class = " ".join(
        name.strip()
        for name in (
            "w-dropdown__toggle",
            "" if button.label else "w-dropdown__toggle--icon",
            button.classname or "",
        )
        if name and name.strip()
    )
    aria_label = button.aria_label
    return format_html(
        '<div data-controller="w-dropdown" class="w-dropdown"{} >'
        ' <button type="button" class="{}" data-w-dropdown-target="toggle"{}>'
        " {}{} </button>"
        ' <div data-w-dropdown-target="content" class="w-dropdown__content" hidden>'
        " {} </div> </div>",
        mark_safe(" " + attrs) if attrs else "",  # noqa: S308 - flatatt escaped it
        toggle_class,
        format_html(' aria-label="{}"', aria_label) if aria_label else "",
        format_html("{} ", label) if label else "",
        _icon(button.icon_name or "arrow-down", "w-dropdown__toggle-icon"),
        mark_safe(" ".join(items)),  # noqa: S308 - each item built by format_html
    )


class PlainTitleColumn(TitleColumn):
    """Wagtail's ``TitleColumn`` with its row actions (``ButtonsColumnMixin``), the
    cell written in Python: the link to the record, then the "More options" menu."""

    def render_cell_html(self, instance, parent_context):
        context = self.get_cell_context_data(instance, parent_context)
        html = self._cell_html(context)
        if html is None:
            return self.cell_template.render(context)
        return html

    def _cell_html(self, context) -> SafeString | None:
        buttons = [button for button in context.get("buttons", ()) if button.show]
        rendered = []
        for button in buttons:
            html = _dropdown(button) or _button(button)
            if html is None:
                return None
            rendered.append(html)
        value = _printed(context["value"])
        if context.get("title_id"):
            value = format_html('<span id="{}">{}</span>', context["title_id"], value)
        if context.get("link_url"):
            attrs = {
                name: attr
                for name, attr in context["link_attrs"].items()
                if attr is not False
            }
            title = format_html(
                "<a{}> {} </a>",
                format_html_join(
                    "",
                    " {}{}",
                    (
                        (name, "" if attr is True else format_html('="{}"', attr))
                        for name, attr in attrs.items()
                    ),
                ),
                value,
            )
        elif context.get("label_id"):
            title = format_html(
                '<label for="{}"> {} </label>', context["label_id"], value
            )
        else:
            title = format_html(" {} ", value)
        classname = f"{self.classname} title" if self.classname else "title"
        actions = ""
        if context.get("buttons"):
            actions = format_html(
                ' <ul class="actions"> {}</ul>',
                format_html_join("", "<li> {} </li> ", ((html,) for html in rendered)),
            )
        return format_html(
            '<td class="{}"> <div class="title-wrapper"> {} </div>{} </td>',
            classname,
            title,
            actions,
        )
