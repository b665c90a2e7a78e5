"""The yearly gift report per donor for the tax authority."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from stdnum.no import fodselsnummer, orgnr

from shop import billing
from shop.gifts import (
    INVALID,
    NONE,
    ORGANISATION,
    PERSON,
    gift_report,
    gift_report_csv,
)

pytestmark = pytest.mark.django_db

PERSON_NUMBER = "01010012356"
COMPANY_NUMBER = "974760673"


def give(amount, on, name="", identifier=""):
    return billing.gift_record(
        amount=Decimal(amount),
        received_on=on,
        donor_name=name,
        donor_identifier=identifier,
        currency="NOK",
    )


@pytest.fixture
def gifts(db):
    assert fodselsnummer.is_valid(PERSON_NUMBER)
    assert orgnr.is_valid(COMPANY_NUMBER)
    give("250.50", date(2026, 2, 1), "Ingrid Hansen", PERSON_NUMBER)
    # The same person, written with a space and under her new name.
    give("300.25", date(2026, 11, 30), "Ingrid Hansen Berg", "010100 12356")
    give("1000.00", date(2026, 5, 5), "Makers AS", "974 760 673")
    give("75.00", date(2026, 6, 1), "Ola Uten Nummer")
    give("25.00", date(2026, 7, 1), "ola  uten nummer")
    give("500.00", date(2026, 8, 1), "Feil Nummer", "12345678901")
    # Another year is not in the report.
    give("999.00", date(2025, 12, 31), "Ingrid Hansen", PERSON_NUMBER)


def test_gifts_are_added_up_per_donor_and_year(gifts):
    rows = gift_report(2026)
    by_kind = {(row.kind, row.identifier): row for row in rows}
    ingrid = by_kind[(PERSON, PERSON_NUMBER)]
    assert ingrid.total == Decimal("550.75")
    assert ingrid.gifts == 2
    assert ingrid.donor_name == "Ingrid Hansen Berg"
    company = by_kind[(ORGANISATION, COMPANY_NUMBER)]
    assert company.total == Decimal("1000.00")
    # No number: told apart by name, however it was typed.
    (ola,) = [row for row in rows if row.kind == NONE]
    assert ola.total == Decimal("100.00")
    assert ola.identifier == ""


def test_an_invalid_number_is_kept_for_the_clerk_to_fix(gifts):
    rows = gift_report(2026)
    assert rows[0].kind == INVALID  # first, so it is not overlooked
    assert rows[0].identifier == "12345678901"
    assert rows[0].total == Decimal("500.00")
    assert not rows[0].reportable
    assert sum(row.total for row in rows) == Decimal("2150.75")


def test_the_csv_for_the_tax_authority_has_only_valid_numbers(gifts):
    lines = gift_report_csv(2026).splitlines()
    assert lines[0] == "year;identifier_type;identifier;name;amount;currency"
    assert sorted(lines[1:]) == [
        f"2026;F;{PERSON_NUMBER};Ingrid Hansen Berg;550.75;NOK",
        f"2026;O;{COMPANY_NUMBER};Makers AS;1000.00;NOK",
    ]
    floored = gift_report_csv(2026, minimum=Decimal("600.00")).splitlines()
    assert floored[1:] == [f"2026;O;{COMPANY_NUMBER};Makers AS;1000.00;NOK"]


def test_a_year_without_gifts_is_an_empty_report(gifts):
    assert gift_report(2024) == []
    assert gift_report_csv(2024).splitlines() == [
        "year;identifier_type;identifier;name;amount;currency"
    ]
