"""The yearly report of gifts per donor, for the tax authority.

Donors in Norway get a tax deduction for gifts to voluntary organisations when the
organisation reports the year's total per donor, identified by national identity
number (fødselsnummer, a person) or organisation number (a company). Gifts are
recorded by ``billing.gift_record`` (an overpayment on an open-amount invoice, a
donation line); this module adds them up per donor and year.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from stdnum.no import fodselsnummer, orgnr

from .models import Gift
from .money import ZERO, money

PERSON = "person"
ORGANISATION = "organisation"
NONE = "none"
INVALID = "invalid"

KIND_LABELS = {
    PERSON: _("National identity number"),
    ORGANISATION: _("Organisation number"),
    NONE: _("None given"),
    INVALID: _("Invalid – must be corrected"),
}

#: Invalid identifiers first (the clerk must fix them), then the reportable donors,
#: then the donors who gave no number.
_KIND_ORDER = {INVALID: 0, PERSON: 1, ORGANISATION: 1, NONE: 2}


def identifier_kind(value: str) -> tuple[str, str]:
    """(the identifier without spaces or dots, its kind) of a donor's number."""
    compact = "".join(ch for ch in (value or "") if ch not in " .-")
    if not compact:
        return "", NONE
    if len(compact) == 11 and fodselsnummer.is_valid(compact):
        return compact, PERSON
    if len(compact) == 9 and orgnr.is_valid(compact):
        return compact, ORGANISATION
    return value.strip(), INVALID


@dataclass
class GiftReportRow:
    """One donor's gifts in a year."""

    donor_name: str
    identifier: str
    kind: str
    total: Decimal
    currency: str
    gifts: int

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])

    @property
    def reportable(self) -> bool:
        """Whether the tax authority can take it: a valid number identifies it."""
        return self.kind in (PERSON, ORGANISATION)


def gift_report(year: int) -> list[GiftReportRow]:
    """Gifts received in ``year``, added up per donor.

    A donor is their national identity or organisation number when it is valid;
    donors who gave none are told apart by name. Numbers that do not validate are
    kept as rows of kind ``invalid`` (one per number as written), so the clerk sees
    and corrects them instead of losing the gift from the report. Each row carries
    the latest name the donor used.
    """
    rows: dict[tuple, GiftReportRow] = {}
    for gift in Gift.objects.filter(received_on__year=year).order_by(
        "received_on", "pk"
    ):
        identifier, kind = identifier_kind(gift.donor_identifier)
        name = " ".join(gift.donor_name.split())
        key = (kind, identifier or name.casefold(), gift.currency)
        row = rows.get(key)
        if row is None:
            row = rows[key] = GiftReportRow(
                donor_name=name,
                identifier=identifier,
                kind=kind,
                total=ZERO,
                currency=gift.currency,
                gifts=0,
            )
        row.donor_name = name or row.donor_name
        row.total = money(row.total + gift.amount)
        row.gifts += 1
    return sorted(
        rows.values(),
        key=lambda r: (_KIND_ORDER[r.kind], r.donor_name.casefold(), r.identifier),
    )


CSV_COLUMNS = ["year", "identifier_type", "identifier", "name", "amount", "currency"]


def gift_report_csv(year: int, *, minimum: Decimal | None = None) -> str:
    """The report for the tax authority as CSV: UTF-8, ``;`` between fields, one
    header line, then one line per donor with a valid number, in these columns:

    ``year``
        the year the gifts were received (e.g. ``2026``);
    ``identifier_type``
        ``F`` for a national identity number (fødselsnummer), ``O`` for an
        organisation number;
    ``identifier``
        the number, digits only (11 or 9);
    ``name``
        the donor's name as last given;
    ``amount``
        the year's total, two decimals with a point (``1250.00``);
    ``currency``
        ISO 4217 code (``NOK``).

    Donors without a number, or whose number does not validate, cannot be reported
    and are left out: ``gift_report`` lists them for the clerk. With ``minimum``,
    donors whose total is below it are left out (the deduction has a floor).
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in gift_report(year):
        if not row.reportable or (minimum is not None and row.total < minimum):
            continue
        writer.writerow(
            [
                year,
                "F" if row.kind == PERSON else "O",
                row.identifier,
                row.donor_name,
                f"{row.total:.2f}",
                row.currency,
            ]
        )
    return out.getvalue()
