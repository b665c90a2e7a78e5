"""Booking an OCR giro file: each payment once, by KID, with an outcome.

``bank_file_import`` reads a whole file (``parsing``), then books its transactions
in chunks of ``CHUNK``: the invoice with the payment's KID gets the money, the
order is settled through ``billing`` when the money reaches its total, and each
payment's ``BankTransaction`` records its outcome. What cannot be booked in full
waits in the accounts clerk's queue until ``bank_transaction_resolve``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Subquery, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .. import billing
from ..models import BankImport, BankTransaction, Invoice, Order, Payment, Refund
from ..money import ZERO, money
from .parsing import BankFileError, ParsedRecord, decode, parse_ocr

logger = logging.getLogger(__name__)

Outcome = BankTransaction.Outcome

#: Records booked per round trip: invoices are fetched, orders locked and rows
#: written for this many transactions at a time.
CHUNK = 2000


class AlreadyImported(BankFileError):
    """This very file (same content) was imported before; nothing was changed."""


@dataclass
class ImportResult:
    """What an import did: transactions per outcome, duplicates skipped, money."""

    bank_import: BankImport
    counts: dict[str, int] = field(default_factory=dict)
    #: Transactions already booked from another file (or twice in this one).
    duplicates: int = 0
    #: The money of the transactions booked from this file.
    total: Decimal = ZERO
    #: Transactions in the file, duplicates included.
    records: int = 0

    @property
    def booked(self) -> int:
        return sum(self.counts.values())

    @property
    def queued(self) -> int:
        return sum(self.counts.get(o, 0) for o in BankTransaction.NEEDS_ATTENTION)

    def rows(self) -> list[tuple[str, str, int]]:
        """(outcome, its label, count) for every outcome, in the queue's order."""
        return [
            (o.value, o.label, self.counts.get(o.value, 0))
            for o in Outcome
            if o != Outcome.RESOLVED
        ]


def _already_imported(previous: BankImport) -> AlreadyImported:
    when = timezone.localtime(previous.imported_at)
    return AlreadyImported(
        _(
            "This file was already imported on %(date)s (as “%(file)s”); nothing "
            "was changed."
        )
        % {
            "date": formats.date_format(when, "DATETIME_FORMAT"),
            "file": previous.filename,
        }
    )


def bank_file_import(*, filename: str, content: bytes, by=None) -> ImportResult:
    """Import an OCR giro file from the bank, in one transaction.

    The same file (same content) is refused the second time. The whole file is read
    and checked before anything is booked, so a malformed file books nothing. Each
    transaction is booked once (``BankTransaction.reference``): one already booked
    from another file is skipped and counted as a duplicate. By KID:

    * the amount outstanding → MATCHED: the invoice's pending "invoice" payment
      attempt is confirmed, or a payment is recorded; the order becomes paid;
    * less → SHORT: the part payment is booked, and the clerk is told;
    * more → the outstanding part is booked, and the excess is a gift when the
      invoice has an open amount (GIFT), else waits for the clerk (OVER);
    * the invoice or its order is no longer awaiting payment → ALREADY_PAID;
    * no invoice with that KID, no KID, or money taken back → UNMATCHED.
    """
    digest = hashlib.sha256(content).hexdigest()
    previous = BankImport.objects.filter(sha256=digest).first()
    if previous is not None:
        raise _already_imported(previous)
    parsed = parse_ocr(decode(content))
    try:
        with transaction.atomic():
            bank_import = BankImport.objects.create(
                filename=os.path.basename(filename)[:255],
                sha256=digest,
                transmission_number=parsed.transmission_number,
                imported_by=by,
            )
            result = ImportResult(bank_import=bank_import, records=len(parsed.records))
            fresh = _skip_duplicates(parsed.records, result)
            for start in range(0, len(fresh), CHUNK):
                _book_chunk(bank_import, fresh[start : start + CHUNK], result, by)
            bank_import.transactions_count = result.booked
            bank_import.total = result.total
            bank_import.save(update_fields=["transactions_count", "total"])
    except IntegrityError as exc:
        previous = BankImport.objects.filter(sha256=digest).first()
        if previous is not None:
            raise _already_imported(previous) from exc
        raise BankFileError(
            _(
                "Another import booked some of these payments at the same moment. "
                "Import the file again: what is booked by then is skipped."
            )
        ) from exc
    logger.info(
        "Bank file %s: %s booked, %s duplicates, %s.",
        filename,
        result.counts,
        result.duplicates,
        result.total,
    )
    return result


def _skip_duplicates(records: list[ParsedRecord], result: ImportResult):
    fresh, seen = [], set()
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        known = set(
            BankTransaction.objects.filter(
                reference__in=[r.reference for r in chunk]
            ).values_list("reference", flat=True)
        )
        for record in chunk:
            if record.reference in known or record.reference in seen:
                result.duplicates += 1
            else:
                seen.add(record.reference)
                fresh.append(record)
    return fresh


def _sums(queryset, key: str) -> dict[int, Decimal]:
    return {
        row[key]: row["total"]
        for row in queryset.values(key).order_by().annotate(total=Sum("amount"))
    }


def _raw(bank_import: BankImport, record: ParsedRecord) -> dict:
    """Where the money came from; the amount, KID, date and payer's account are on
    the bank transaction the payment is linked to."""
    return {
        "source": "ocr_giro",
        "bank_import": bank_import.pk,
        "reference": record.reference,
        "line": record.line,
    }


def _book_chunk(bank_import, records: list[ParsedRecord], result, by) -> None:
    """Book a chunk of transactions: one query fetches their invoices, one locks
    their orders (in key order, so concurrent imports queue rather than deadlock),
    two sum what is paid; payments and transactions are written in bulk."""
    kids = {r.kid for r in records if r.kid}
    invoices = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, kid__in=kids).only(
        "pk", "kid", "kind", "order_id", "status", "open_amount", "currency"
    )
    orders = {
        order.pk: order
        for order in Order.objects.select_for_update(of=("self",))
        .filter(pk__in=Subquery(invoices.values("order_id")))
        .order_by("pk")
    }
    by_kid = {invoice.kid: invoice for invoice in invoices}
    for invoice in by_kid.values():
        invoice.order = orders[invoice.order_id]
    paid = defaultdict(lambda: ZERO)
    for order_id, total in _sums(
        Payment.objects.filter(order_id__in=orders, state=Payment.State.CONFIRMED),
        "order_id",
    ).items():
        paid[order_id] += total
    for order_id, total in _sums(
        Refund.objects.filter(payment__order_id__in=orders, state=Refund.State.DONE),
        "payment__order_id",
    ).items():
        paid[order_id] -= total
    attempts = defaultdict(list)
    for attempt in Payment.objects.filter(
        invoice__in=list(by_kid.values()),
        provider="invoice",
        state=Payment.State.PENDING,
    ).order_by("pk"):
        attempts[attempt.invoice_id].append(attempt)

    now = timezone.now()
    rows: list[BankTransaction] = []
    new_payments: list[tuple[BankTransaction, Payment]] = []
    gifts: list[tuple[BankTransaction, Decimal]] = []
    for record in records:
        invoice = by_kid.get(record.kid) if record.kid else None
        row = BankTransaction(
            bank_import=bank_import,
            reference=record.reference,
            line_number=record.line,
            kid=record.kid[:25],
            amount=record.amount,
            paid_on=record.date,
            payer_account=record.payer_account[:20],
            invoice=invoice,
        )
        rows.append(row)
        result.total += record.amount
        if invoice is None or record.amount <= 0:
            row.outcome = Outcome.UNMATCHED
            continue
        order = invoice.order
        outstanding = ZERO
        if order.status == Order.Status.OPEN and invoice.status == Invoice.Status.OPEN:
            outstanding = max(ZERO, money(order.total - paid[order.pk]))
        if outstanding <= 0:
            row.outcome = Outcome.ALREADY_PAID
            continue
        booked = min(record.amount, outstanding)
        if record.amount == outstanding:
            row.outcome = Outcome.MATCHED
        elif record.amount < outstanding:
            row.outcome = Outcome.SHORT
        elif invoice.open_amount:
            row.outcome = Outcome.GIFT
            gifts.append((row, record.amount - booked))
        else:
            row.outcome = Outcome.OVER
        paid[order.pk] += booked
        raw = _raw(bank_import, record)
        if attempts[invoice.pk]:
            # The payer chose "invoice" on the pay page: that attempt is the one
            # this money completes. billing confirms it and settles the order.
            attempt = attempts[invoice.pk].pop(0)
            billing.payment_confirm(
                payment=attempt,
                amount=booked,
                gateway_id=record.reference,
                raw=raw,
                by=by,
            )
            row.payment = attempt
            order.refresh_from_db(fields=["status", "paid_at"])
        else:
            new_payments.append(
                (
                    row,
                    Payment(
                        order=order,
                        invoice=invoice,
                        provider="invoice",
                        state=Payment.State.CONFIRMED,
                        amount=booked,
                        currency=order.currency,
                        gateway_id=record.reference,
                        raw={"history": [raw]},
                        confirmed_at=now,
                        created_by=by,
                    ),
                )
            )
    Payment.objects.bulk_create([payment for _row, payment in new_payments])
    for row, payment in new_payments:
        row.payment = payment
    BankTransaction.objects.bulk_create(rows)
    for row, excess in gifts:
        billing.gift_record(
            amount=excess,
            received_on=row.paid_on,
            order=row.invoice.order,
            payment=row.payment,
        )
    for row in rows:
        result.counts[row.outcome] = result.counts.get(row.outcome, 0) + 1
    billing.orders_settle_many(
        order_ids=[
            order.pk
            for order in orders.values()
            if order.status == Order.Status.OPEN and paid[order.pk] >= order.total
        ],
        by=by,
    )


# The clerk's queue ----------------------------------------------------------------


def _confirmed_on(*, invoice: Invoice, amount: Decimal, gateway_id: str, raw, note, by):
    """Book ``amount`` on ``invoice``: its pending "invoice" attempt if it has one,
    else a new payment; billing confirms it and settles the order."""
    attempt = (
        Payment.objects.filter(
            invoice=invoice, provider="invoice", state=Payment.State.PENDING
        )
        .order_by("pk")
        .first()
    )
    if attempt is None:
        attempt = billing.payment_create(
            order=invoice.order,
            provider="invoice",
            amount=amount,
            invoice=invoice,
            by=by,
        )
    attempt.note = note
    attempt.save(update_fields=["note"])
    billing.payment_confirm(
        payment=attempt, amount=amount, gateway_id=gateway_id, raw=raw, by=by
    )
    return attempt


@transaction.atomic
def bank_transaction_resolve(
    *,
    transaction: BankTransaction,
    by,
    note: str,
    invoice: Invoice | None = None,
) -> BankTransaction:
    """The clerk settles a queued transaction, saying what was done in ``note``.

    With ``invoice``, what is left of the money (all of it when nothing was booked,
    the excess of an overpayment) is booked on that invoice's order; an excess
    beyond what that order owes becomes a gift only if the invoice has an open
    amount, else the clerk must choose otherwise. Without, only the note is kept
    (e.g. "refunded to the payer by bank transfer").
    """
    locked = (
        BankTransaction.objects.select_for_update(of=("self",))
        .select_related("payment")
        .get(pk=transaction.pk)
    )
    if locked.outcome == Outcome.RESOLVED:
        raise BankFileError(
            _("This payment was already resolved on %(date)s.")
            % {
                "date": formats.date_format(
                    timezone.localtime(locked.resolved_at), "DATETIME_FORMAT"
                )
            }
        )
    if locked.outcome not in BankTransaction.NEEDS_ATTENTION:
        raise BankFileError(
            _("This payment was booked in full; it needs no attention.")
        )
    note = (note or "").strip()
    if not note:
        raise BankFileError(_("Write a note saying what was done, for the books."))
    if invoice is not None:
        _resolve_on(locked, invoice, note, by)
    locked.outcome = Outcome.RESOLVED
    locked.resolution = note
    locked.resolved_by = by
    locked.resolved_at = timezone.now()
    locked.save()
    transaction.refresh_from_db()
    return locked


def _resolve_on(locked: BankTransaction, invoice: Invoice, note: str, by) -> None:
    booked = locked.payment.amount if locked.payment else ZERO
    remaining = money(locked.amount - booked)
    if remaining <= 0:
        raise BankFileError(
            _("Nothing of this payment is left to book; resolve it with a note only.")
        )
    order = Order.objects.select_for_update().get(pk=invoice.order_id)
    invoice = Invoice.objects.get(pk=invoice.pk)
    invoice.order = order
    outstanding = (
        billing.order_outstanding(order)
        if invoice.kind == Invoice.Kind.INVOICE
        and invoice.status == Invoice.Status.OPEN
        else ZERO
    )
    if outstanding <= 0:
        raise BankFileError(
            _("Invoice %(number)s has nothing left to pay.")
            % {"number": invoice.display_number}
        )
    if remaining > outstanding and not invoice.open_amount:
        raise BankFileError(
            _(
                "%(remaining)s %(currency)s of this payment is left, more than the "
                "%(outstanding)s %(currency)s owed on invoice %(number)s. Choose "
                "another invoice, or pay the money back and resolve with a note."
            )
            % {
                "remaining": remaining,
                "outstanding": outstanding,
                "currency": order.currency,
                "number": invoice.display_number,
            }
        )
    amount = min(remaining, outstanding)
    payment = _confirmed_on(
        invoice=invoice,
        amount=amount,
        gateway_id=f"{locked.reference}:resolved",
        raw={
            "source": "ocr_giro_resolved",
            "reference": locked.reference,
            "amount": str(amount),
            "note": note,
        },
        note=note,
        by=by,
    )
    if remaining > amount:
        billing.gift_record(
            amount=remaining - amount,
            received_on=locked.paid_on,
            order=order,
            payment=payment,
        )
    if locked.payment is None:
        locked.payment = payment
        locked.invoice = invoice
