"""Reading an OCR giro file: every line checked, the payments it holds.

``parse_ocr`` turns the text of a Nets OCR giro file into a ``ParsedFile`` of
``ParsedRecord`` payments, or raises ``BankFileError`` naming the line that is wrong
(``BankFileError.line``). Nothing here touches the database. The reference each
payment gets, and why, is explained in ``shop.bankfiles``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import netsgiro
from django.utils.translation import gettext as _
from netsgiro import records as nets

from .. import billing
from ..money import ZERO, from_minor, money

logger = logging.getLogger(__name__)


class BankFileError(billing.BillingError):
    """A bank file that cannot be imported, with a message for the clerk
    (and the 1-based line it concerns, when it is one line's fault)."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class ParsedRecord:
    """One payment of an OCR giro file."""

    reference: str
    line: int
    kid: str
    amount: Decimal
    date: date
    payer_account: str
    transaction_type: int


@dataclass
class ParsedFile:
    """An OCR giro file read and checked: its transmission and its payments."""

    transmission_number: str
    records: list[ParsedRecord]

    @property
    def total(self) -> Decimal:
        return money(sum((r.amount for r in self.records), ZERO))


def _record_names() -> dict:
    return {
        nets.TransmissionStart: _("transmission start"),
        nets.TransmissionEnd: _("transmission end"),
        nets.AssignmentStart: _("assignment start"),
        nets.AssignmentEnd: _("assignment end"),
        nets.TransactionAmountItem1: _("amount item 1"),
        nets.TransactionAmountItem2: _("amount item 2"),
        nets.TransactionAmountItem3: _("amount item 3"),
    }


_RECORD_CLASSES = {
    cls.RECORD_TYPE: cls
    for cls in (
        nets.TransmissionStart,
        nets.TransmissionEnd,
        nets.AssignmentStart,
        nets.AssignmentEnd,
        nets.TransactionAmountItem1,
        nets.TransactionAmountItem2,
        nets.TransactionAmountItem3,
    )
}
_AVTALEGIRO_ONLY = {
    netsgiro.RecordType.TRANSACTION_AGREEMENTS,
    netsgiro.RecordType.TRANSACTION_SPECIFICATION,
}


def _line_error(number: int, problem: str) -> BankFileError:
    return BankFileError(
        _("Line %(line)d: %(problem)s") % {"line": number, "problem": problem},
        line=number,
    )


def _not_ocr_giro() -> BankFileError:
    return BankFileError(
        _(
            "This is an AvtaleGiro file (direct debit agreements or payment "
            "requests), not an OCR giro file of payments. Import the OCR giro file "
            "from the bank instead."
        )
    )


def decode(content: bytes) -> str:
    """The text of a bank file: UTF-8 if it is that, else ISO-8859-1 (Nets' own)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("iso-8859-1")
    return text.lstrip("\ufeff")


def _parse_line(number: int, line: str):
    """One line as a netsgiro record, or a BankFileError naming the line."""
    if len(line) != 80:
        raise _line_error(
            number,
            _("it is %(length)d characters long; every line of an OCR file has 80.")
            % {"length": len(line)},
        )
    if not line.startswith("NY"):
        raise _line_error(number, _("it does not begin with “NY” as OCR lines do."))
    code = line[6:8]
    if not code.isdigit() or int(code) not in netsgiro.RecordType._value2member_map_:
        raise _line_error(
            number, _("“%(type)s” is not a record type.") % {"type": code}
        )
    record_type = netsgiro.RecordType(int(code))
    if line[2:4] == "21" or record_type in _AVTALEGIRO_ONLY:
        raise _not_ocr_giro()
    cls = _RECORD_CLASSES[record_type]
    try:
        return cls.from_string(line)
    except (ValueError, TypeError) as exc:
        logger.info("OCR line %s refused by netsgiro: %s", number, exc)
        raise _line_error(
            number,
            _(
                "it does not fit the layout of the “%(record)s” record (a field has "
                "the wrong length, or letters where digits belong)."
            )
            % {"record": _record_names()[cls]},
        ) from exc


def _count_check(number: int, what: str, kind: str, stated, counted) -> None:
    """Refuse the file when an end record's count or total differs from the lines."""
    if stated == counted:
        return
    problems = {
        "records": _(
            "the %(what)s gives the number of lines as %(stated)s, but the file "
            "has %(counted)s."
        ),
        "payments": _(
            "the %(what)s gives the number of payments as %(stated)s, but the "
            "file has %(counted)s."
        ),
        "total": _(
            "the %(what)s gives the total as %(stated)s, but the payments add up "
            "to %(counted)s."
        ),
    }
    raise _line_error(
        number,
        problems[kind] % {"what": what, "stated": stated, "counted": counted}
        + " "
        + _("The file is incomplete or was changed."),
    )


def parse_ocr(text: str) -> ParsedFile:
    """Read an OCR giro file (the text of it) into its payments, checking every
    line and the counts and totals the file states. Raises ``BankFileError``
    naming the line that is wrong; nothing here touches the database."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not "".join(lines).strip():
        raise BankFileError(_("The file is empty."))
    if not lines[0].startswith("NY"):
        raise BankFileError(
            _(
                "This is not an OCR giro file from Nets: its first line should "
                "begin with “NY”. Check that you chose the OCR file from the bank."
            ),
            line=1,
        )

    records: list[ParsedRecord] = []
    transmission = None
    assignment = None  # the open AssignmentStart
    counted = {"transactions": 0, "records": 0, "amount": 0}
    in_assignment = {"transactions": 0, "records": 0, "amount": 0}
    pending = None  # (line, item 1) awaiting its amount item 2
    seen_numbers: set[int] = set()
    ended = False
    for number, line in enumerate(lines, start=1):
        if ended:
            raise _line_error(number, _("there is more after the transmission end."))
        if not line.strip():
            raise _line_error(number, _("the line is empty."))
        record = _parse_line(number, line)
        counted["records"] += 1
        if transmission is None:
            if not isinstance(record, nets.TransmissionStart):
                raise _line_error(
                    number, _("a file must begin with a transmission start.")
                )
            transmission = record
            continue
        if isinstance(record, nets.TransmissionStart):
            raise _line_error(number, _("a second transmission start."))
        if isinstance(record, nets.TransmissionEnd):
            if assignment is not None:
                raise _line_error(number, _("the last assignment has no end."))
            what = _("transmission end")
            _count_check(
                number,
                what,
                "payments",
                record.num_transactions,
                counted["transactions"],
            )
            _count_check(
                number, what, "records", record.num_records, counted["records"]
            )
            _count_check(
                number,
                what,
                "total",
                from_minor(record.total_amount),
                from_minor(counted["amount"]),
            )
            ended = True
            continue
        if isinstance(record, nets.AssignmentStart):
            if assignment is not None:
                raise _line_error(number, _("an assignment starts inside another."))
            if record.service_code != netsgiro.ServiceCode.OCR_GIRO:
                raise _not_ocr_giro()
            assignment = record
            in_assignment = {"transactions": 0, "records": 1, "amount": 0}
            seen_numbers = set()
            continue
        if assignment is None:
            raise _line_error(number, _("this record is outside an assignment."))
        in_assignment["records"] += 1
        if isinstance(record, nets.AssignmentEnd):
            if pending is not None:
                raise _line_error(pending[0] + 1, _("amount item 2 is missing."))
            what = _("assignment end")
            _count_check(
                number,
                what,
                "payments",
                record.num_transactions,
                in_assignment["transactions"],
            )
            _count_check(
                number, what, "records", record.num_records, in_assignment["records"]
            )
            _count_check(
                number,
                what,
                "total",
                from_minor(record.total_amount or 0),
                from_minor(in_assignment["amount"]),
            )
            assignment = None
            continue
        if isinstance(record, nets.TransactionAmountItem1):
            if pending is not None:
                raise _line_error(number, _("amount item 2 is missing above."))
            if record.transaction_number in seen_numbers:
                raise _line_error(
                    number,
                    _("transaction number %(number)s comes twice in the assignment.")
                    % {"number": record.transaction_number},
                )
            seen_numbers.add(record.transaction_number)
            pending = (number, record)
            signed = -record.amount if record.sign == "-" else record.amount
            in_assignment["transactions"] += 1
            in_assignment["amount"] += record.amount
            counted["transactions"] += 1
            counted["amount"] += record.amount
            records.append(
                ParsedRecord(
                    reference="-".join(
                        (
                            assignment.agreement_id or assignment.assignment_account,
                            assignment.assignment_number,
                            f"{record.transaction_number:07d}",
                        )
                    ),
                    line=number,
                    kid=record.kid or "",
                    amount=from_minor(signed),
                    date=record.nets_date,
                    payer_account="",
                    transaction_type=int(record.transaction_type),
                )
            )
            continue
        current = records[-1] if in_assignment["transactions"] else None
        if current is None or record.transaction_number != int(current.reference[-7:]):
            raise _line_error(
                number, _("this record does not follow its amount item 1.")
            )
        if isinstance(record, nets.TransactionAmountItem2):
            if pending is None:
                raise _line_error(number, _("a second amount item 2."))
            account = record.debit_account or ""
            records[-1] = ParsedRecord(
                **{**current.__dict__, "payer_account": account.strip("0") and account}
            )
            pending = None
        elif pending is not None:
            raise _line_error(number, _("amount item 2 is missing above."))
    if transmission is None or not ended:
        raise _line_error(
            len(lines),
            _("the file ends here without a transmission end: it is incomplete."),
        )
    return ParsedFile(
        transmission_number=transmission.transmission_number, records=records
    )
