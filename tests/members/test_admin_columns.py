"""``PlainColumn`` writes the same cell as Wagtail's templated ``Column``."""

from __future__ import annotations

import re
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from wagtail.admin.ui.tables import Column

from members.admin_views import PlainColumn


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
