"""The register lists' cells written in Python (``members.admin_cells``) are the HTML
Wagtail's cell templates write: plain cells, and title cells with each row's "More
options" menu, compared on the lists as staff open them."""

from __future__ import annotations

import re
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from wagtail.admin.ui.tables import Column

from members.admin_cells import PlainColumn, PlainTitleColumn
from members.models import Membership
from tests.members.factories import (
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
)


def _cell(column_class, value, classname=None) -> str:
    column = column_class("value", classname=classname)
    row = SimpleNamespace(value=value)
    html = column.render_cell_html(row, {"row": row, "table": None, "request": None})
    # Only the whitespace the template leaves around its tags may differ.
    return re.sub(r"\s*([<>])\s*", r"\1", " ".join(str(html).split()))


@pytest.mark.parametrize(
    "value",
    [
        "Kvalheim",
        "Nilsen & Sønn <AS>",
        mark_safe("<strong>safe</strong>"),
        None,
        "",
        "   ",
        4711,
        12345678,
        date(2026, 11, 24),
        timezone.make_aware(datetime(2026, 11, 24, 13, 5)),
        True,
    ],
)
@pytest.mark.parametrize("language", ["en", "nb"])
@pytest.mark.parametrize("classname", [None, "title"])
def test_a_plain_cell_is_what_wagtails_template_writes(value, language, classname):
    with translation.override(language):
        assert _cell(PlainColumn, value, classname) == _cell(Column, value, classname)


# --- Title cells with the row's actions, on the register lists as staff see them ------


def _collapsed(html) -> str:
    """The HTML with each run of whitespace made one space, as a browser draws it."""
    return " ".join(str(html).split())


def _title_cells(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200
    table = response.context["table"]
    (title,) = (c for c in table.columns.values() if isinstance(c, PlainTitleColumn))
    cells = []
    for row in table.rows:
        parent = {"row": row, "table": table, "request": response.wsgi_request}
        ours = title.render_cell_html(row.instance, parent)
        wagtails = title.cell_template.render(
            title.get_cell_context_data(row.instance, parent)
        )
        cells.append((_collapsed(ours), _collapsed(wagtails)))
    return response, cells


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "nb"])
def test_title_cells_are_what_wagtails_templates_write(
    verified_client, superuser, language
):
    PersonFactory(first_name='Åse "Kvikk"', last_name="O'Neil & <Sønn>")
    archived = PersonFactory(last_name="Arkivert")
    archived.archived_at = timezone.now()
    archived.save()
    organisation = OrganisationFactory(name="Nilsen & Co <AS>")
    MembershipFactory(organisation=organisation, person=None)
    MembershipFactory(status=Membership.Status.ENDED)
    MembershipFactory(status=Membership.Status.APPLIED)
    client = verified_client(superuser)
    with translation.override(language):
        client.cookies["django_language"] = language
        lists = [
            ("/admin/register/persons/", None),
            ("/admin/register/persons/", {"archived": "1"}),
            ("/admin/register/persons/", {"q": "neil"}),
            ("/admin/register/organisations/", None),
            ("/admin/register/memberships/", None),
        ]
        seen = set()
        for url, params in lists:
            response, cells = _title_cells(client, url, params)
            assert cells, (url, params)
            for ours, wagtails in cells:
                assert ours == wagtails
                seen.add(ours)
            if params == {"q": "neil"}:
                # The name is escaped once, in the link and in the menu's label.
                assert "O&#x27;Neil &amp; &lt;Sønn&gt;" in ours
    menu_entries = " ".join(seen)
    for label in ("Edit", "Archive", "Bring back from archive", "Activate"):
        with translation.override(language):
            assert f"{_(label)} </a>" in menu_entries, label


def test_a_button_it_does_not_know_is_left_to_wagtails_template(rf):
    """Another kind of button in the row's menu: the template writes the cell."""
    from wagtail.admin.widgets.button import ButtonWithDropdown, HeaderButton

    column = PlainTitleColumn("value", get_url=lambda row: "/x/")
    row = SimpleNamespace(value="Kari", pk=1)
    odd = ButtonWithDropdown(buttons=[HeaderButton("Odd", url="/odd/")])
    context = column.get_cell_context_data(
        row, {"row": row, "table": None, "request": rf.get("/")}
    )
    context["buttons"] = [odd]
    assert column._cell_html(context) is None
    assert "w-header-button" in column.cell_template.render(context)
