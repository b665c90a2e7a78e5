"""State changes of orders, invoices and payments. Views, webhooks, admin actions,
tasks and commands all call these, never ``obj.status = ...``.

Every function here runs in a transaction and locks the rows it changes, so that a
webhook delivered three times at once, or two clerks clicking together, change things
once. Who and when is recorded; ``shop.signals`` announces the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from . import signals
from .kid import kid_make
from .models import (
    BillingSettings,
    GatewayEvent,
    Gift,
    Invoice,
    InvoiceLine,
    InvoiceNumberCounter,
    InvoiceSeries,
    Order,
    OrderLine,
    OrderStatusChange,
    Payment,
    Refund,
)
from .money import ZERO, default_currency, money

logger = logging.getLogger(__name__)

Status = Order.Status

#: Which order status may follow which. Anything else is refused.
ORDER_TRANSITIONS: dict[str, set[str]] = {
    Status.OPEN: {Status.PAID, Status.CANCELLED},
    Status.PAID: {Status.REFUNDED},
    Status.CANCELLED: set(),
    Status.REFUNDED: set(),
}


class BillingError(ValidationError):
    """A billing action that cannot be done, with a message for the user."""


@dataclass(frozen=True)
class LineSpec:
    """One line to put on a new order. Prices are gross (VAT included)."""

    description: str
    unit_price: Decimal
    quantity: Decimal = Decimal(1)
    vat_rate: Decimal = ZERO
    item: object | None = None
    kind: str = OrderLine.Kind.ITEM


def _reference(obj) -> tuple[ContentType | None, int | None]:
    if obj is None:
        return None, None
    return ContentType.objects.get_for_model(obj), obj.pk


# Orders ---------------------------------------------------------------------------


@transaction.atomic
def order_create(
    *,
    customer_name: str,
    lines: list[LineSpec],
    customer=None,
    customer_email: str = "",
    customer_phone: str = "",
    billing_address: str = "",
    customer_identifier: str = "",
    currency: str | None = None,
    language: str | None = None,
    by_post: bool = False,
    user=None,
    by=None,
    note: str = "",
    open_amount: bool = False,
    return_url: str = "",
) -> Order:
    """A new open order for ``customer`` (any model instance, or None) with ``lines``.

    ``open_amount``: its invoice accepts more than the total, the excess a gift.
    ``return_url``: a path on this site the payer is sent to once it is paid.
    """
    _lines_check(lines)
    customer_type, customer_id = _reference(customer)
    order = Order(
        customer_type=customer_type,
        customer_id=customer_id,
        customer_name=customer_name,
        customer_email=customer_email,
        customer_phone=customer_phone,
        billing_address=billing_address,
        customer_identifier=customer_identifier,
        currency=currency or default_currency(),
        by_post=by_post,
        user=user,
        created_by=by,
        note=note,
        open_amount=open_amount,
        return_url=return_url,
    )
    if language:
        order.language = language
    order.save()
    for position, spec in enumerate(lines):
        _line_add(order, spec, position)
    order.recalculate()
    order.save(update_fields=["total", "vat_total"])
    OrderStatusChange.objects.create(order=order, to_status=order.status, by=by)
    return order


def _lines_check(lines: list[LineSpec]) -> None:
    if not lines:
        raise BillingError(_("An order needs at least one line."))
    for spec in lines:
        if isinstance(spec.unit_price, float) or isinstance(spec.quantity, float):
            raise TypeError("Money is never a float.")
        if spec.quantity <= 0:
            raise BillingError(_("A quantity must be more than zero."))


def _line_add(order: Order, spec: LineSpec, position: int) -> OrderLine:
    item_type, item_id = _reference(spec.item)
    return OrderLine.objects.create(
        order=order,
        position=position,
        kind=spec.kind,
        description=spec.description,
        quantity=spec.quantity,
        unit_price=money(spec.unit_price),
        vat_rate=spec.vat_rate,
        item_type=item_type,
        item_id=item_id,
    )


@transaction.atomic
def order_line_add(*, order: Order, line: LineSpec, by=None) -> OrderLine:
    """Add a line (a reminder fee, say) to an order that is still awaiting payment."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != Status.OPEN:
        raise BillingError(_("Only an order awaiting payment can get new lines."))
    position = locked.lines.count()
    created = _line_add(locked, line, position)
    locked.recalculate()
    locked.save(update_fields=["total", "vat_total"])
    order.total, order.vat_total = locked.total, locked.vat_total
    return created


@transaction.atomic
def order_transition(*, order: Order, to_status: str, by=None, note: str = "") -> Order:
    """Move an order to ``to_status`` if the table allows it, record it, announce it."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    from_status = locked.status
    if to_status not in ORDER_TRANSITIONS[from_status]:
        raise BillingError(
            _("An order that is “%(from)s” cannot become “%(to)s”.")
            % {"from": Status(from_status).label, "to": Status(to_status).label}
        )
    locked.status = to_status
    update = ["status"]
    if to_status == Status.PAID:
        locked.paid_at = timezone.now()
        update.append("paid_at")
    locked.save(update_fields=update)
    OrderStatusChange.objects.create(
        order=locked, from_status=from_status, to_status=to_status, by=by, note=note
    )
    order.status, order.paid_at = locked.status, locked.paid_at
    if to_status == Status.PAID:
        _gift_lines_record([locked])
    announce = {
        Status.PAID: signals.order_paid,
        Status.CANCELLED: signals.order_cancelled,
        Status.REFUNDED: signals.order_refunded,
    }[to_status]
    announce.send(sender=Order, order=locked, by=by)
    return locked


def order_user_link(*, order: Order, user) -> None:
    """Let ``user`` see the order in My Account (an applicant's new account, say);
    an order that already belongs to an account keeps it."""
    Order.objects.filter(pk=order.pk, user__isnull=True).update(user=user)


def order_paid_amount(order: Order) -> Decimal:
    """Confirmed payments minus refunds done, in the order's currency."""
    paid = (
        order.payments.filter(state=Payment.State.CONFIRMED).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    refunded = (
        Refund.objects.filter(payment__order=order, state=Refund.State.DONE).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    return money(paid - refunded)


def order_outstanding(order: Order) -> Decimal:
    """What is still owed on the order (never negative)."""
    if order.status != Status.OPEN:
        return ZERO
    return max(ZERO, money(order.total - order_paid_amount(order)))


@transaction.atomic
def order_settle(*, order: Order, by=None) -> Order:
    """Bring the order's status in line with its money: paid when confirmed payments
    minus refunds reach the total, refunded when a paid order's money is all back."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    net = order_paid_amount(locked)
    if locked.status == Status.OPEN and net >= locked.total:
        order_transition(order=locked, to_status=Status.PAID, by=by)
        locked.invoices.filter(
            kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN
        ).update(status=Invoice.Status.PAID)
    elif locked.status == Status.PAID and net <= ZERO:
        order_transition(order=locked, to_status=Status.REFUNDED, by=by)
    order.status, order.paid_at = locked.status, locked.paid_at
    return locked


@transaction.atomic
def orders_settle_many(*, order_ids: list[int], by=None) -> list[int]:
    """``order_settle`` for many orders at once, for bulk bank files; the same rules.

    The orders are locked in key order (so concurrent callers queue rather than
    deadlock); those awaiting payment whose confirmed payments minus refunds reach
    their total become paid, with the change recorded in their history, their open
    invoices marked paid, and ``order_paid`` sent once for each. The others are
    left as they are. A few queries however many orders; pass ids in chunks of a
    few thousand. Money coming in never makes an order refunded, so that step
    stays ``order_settle``'s. Returns the ids of the orders paid, in key order.
    """
    order_ids = list(order_ids)
    if not order_ids:
        return []
    orders = list(
        Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk")
    )
    paid = {
        row["order_id"]: row["total"]
        for row in Payment.objects.filter(
            order_id__in=order_ids, state=Payment.State.CONFIRMED
        )
        .values("order_id")
        .order_by()
        .annotate(total=Sum("amount"))
    }
    refunded = {
        row["payment__order_id"]: row["total"]
        for row in Refund.objects.filter(
            payment__order_id__in=order_ids, state=Refund.State.DONE
        )
        .values("payment__order_id")
        .order_by()
        .annotate(total=Sum("amount"))
    }
    settled = [
        order
        for order in orders
        if order.status == Status.OPEN
        and Status.PAID in ORDER_TRANSITIONS[order.status]
        and money(paid.get(order.pk, ZERO) - refunded.get(order.pk, ZERO))
        >= order.total
    ]
    if not settled:
        return []
    ids = [order.pk for order in settled]
    now = timezone.now()
    Order.objects.filter(pk__in=ids).update(status=Status.PAID, paid_at=now)
    OrderStatusChange.objects.bulk_create(
        OrderStatusChange(
            order=order, from_status=order.status, to_status=Status.PAID, by=by
        )
        for order in settled
    )
    Invoice.objects.filter(
        order_id__in=ids, kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN
    ).update(status=Invoice.Status.PAID)
    for order in settled:
        order.status, order.paid_at = Status.PAID, now
    _gift_lines_record(settled)
    for order in settled:
        signals.order_paid.send(sender=Order, order=order, by=by)
    return ids


def _gift_lines_record(orders: list[Order]) -> None:
    """A paid order's gift lines (a donation added at checkout) become gifts, for the
    donor's yearly report. One query when none of the orders has one."""
    by_id = {order.pk: order for order in orders}
    lines = OrderLine.objects.filter(order_id__in=by_id, kind=OrderLine.Kind.GIFT)
    today = timezone.localdate()
    Gift.objects.bulk_create(
        Gift(
            donor_name=by_id[line.order_id].customer_name,
            donor_identifier=by_id[line.order_id].customer_identifier,
            amount=money(line.total),
            currency=by_id[line.order_id].currency,
            received_on=today,
            order=by_id[line.order_id],
        )
        for line in lines
        if line.total > 0
    )


# Invoices -------------------------------------------------------------------------


def _next_number(series: InvoiceSeries, year: int) -> int:
    """The next gapless number of ``series`` in ``year``; the counter row stays
    locked until the calling transaction ends, so concurrent issuers queue."""
    InvoiceNumberCounter.objects.get_or_create(series=series, year=year)
    counter = InvoiceNumberCounter.objects.select_for_update().get(
        series=series, year=year
    )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def default_series() -> InvoiceSeries:
    series = InvoiceSeries.objects.filter(is_default=True).first()
    if series is None:
        series = InvoiceSeries.objects.order_by("pk").first()
    if series is None:
        series = InvoiceSeries.objects.create(
            name=_("Invoices"), prefix="F", kid_prefix=1, is_default=True
        )
    return series


def _kid_for(series: InvoiceSeries, year: int, number: int) -> str:
    digits = series.kid_length - 1 - 4
    base = f"{series.kid_prefix:02d}{year % 100:02d}{number:0{digits}d}"
    return kid_make(base, length=series.kid_length, method=series.kid_method)


@transaction.atomic
def invoice_issue(
    *,
    order: Order,
    series: InvoiceSeries | None = None,
    due_date: date | None = None,
    open_amount: bool | None = None,
    by=None,
) -> Invoice:
    """Issue the order's invoice, freezing seller, buyer and lines, with a KID.

    An order has one open invoice at a time: issuing again returns it unchanged.
    ``open_amount`` defaults to the order's own.
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    existing = locked.invoices.filter(
        kind=Invoice.Kind.INVOICE, status__in=[Invoice.Status.OPEN, Invoice.Status.PAID]
    ).first()
    if existing is not None:
        return existing
    if locked.status != Status.OPEN:
        raise BillingError(_("Only an order awaiting payment can be invoiced."))
    if locked.total <= 0:
        raise BillingError(_("There is nothing to invoice on this order."))
    series = series or default_series()
    billing = BillingSettings.load()
    now = timezone.now()
    today = timezone.localdate(now)
    year = today.year
    number = _next_number(series, year)
    terms = series.payment_terms_days or billing.payment_terms_days
    invoice = Invoice.objects.create(
        order=locked,
        series=series,
        year=year,
        number=number,
        kid=_kid_for(series, year, number),
        issued_at=now,
        issue_date=today,
        due_date=due_date or today + timedelta(days=terms),
        currency=locked.currency,
        total=locked.total,
        vat_total=locked.vat_total,
        seller=billing.frozen(),
        buyer_name=locked.customer_name,
        buyer_email=locked.customer_email,
        buyer_address=locked.billing_address,
        buyer_identifier=locked.customer_identifier,
        delivery=Invoice.Delivery.POST
        if locked.by_post or not locked.customer_email
        else Invoice.Delivery.EMAIL,
        open_amount=locked.open_amount if open_amount is None else open_amount,
        issued_by=by,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=line.position,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            vat_rate=line.vat_rate,
            total=line.total,
            vat_amount=line.vat_amount,
        )
        for line in locked.lines.all()
    )
    signals.invoice_issued.send(sender=Invoice, invoice=invoice, by=by)
    return invoice


@transaction.atomic
def credit_note_issue(*, invoice: Invoice, reason: str, by=None) -> Invoice:
    """Reverse ``invoice`` exactly with a credit note (its negated copy).

    An unpaid order is cancelled with it; a paid one stays paid until the money
    is refunded (``refund_create``).
    """
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.kind != Invoice.Kind.INVOICE:
        raise BillingError(_("A credit note cannot itself be credited."))
    if locked.status == Invoice.Status.CREDITED:
        raise BillingError(_("This invoice has already been credited."))
    if not reason.strip():
        raise BillingError(_("Say why the invoice is credited."))
    now = timezone.now()
    today = timezone.localdate(now)
    number = _next_number(locked.series, today.year)
    note = Invoice.objects.create(
        order=locked.order,
        kind=Invoice.Kind.CREDIT_NOTE,
        series=locked.series,
        year=today.year,
        number=number,
        credits=locked,
        status=Invoice.Status.CLOSED,
        kid=None,
        issued_at=now,
        issue_date=today,
        due_date=today,
        currency=locked.currency,
        total=-locked.total,
        vat_total=-locked.vat_total,
        seller=locked.seller,
        buyer_name=locked.buyer_name,
        buyer_email=locked.buyer_email,
        buyer_address=locked.buyer_address,
        buyer_identifier=locked.buyer_identifier,
        delivery=locked.delivery,
        reason=reason.strip(),
        issued_by=by,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=note,
            position=line.position,
            description=line.description,
            quantity=-line.quantity,
            unit_price=line.unit_price,
            vat_rate=line.vat_rate,
            total=-line.total,
            vat_amount=-line.vat_amount,
        )
        for line in locked.lines.all()
    )
    locked.status = Invoice.Status.CREDITED
    locked.save(update_fields=["status"])
    order = locked.order
    if order.status == Status.OPEN:
        order_transition(order=order, to_status=Status.CANCELLED, by=by, note=reason)
    signals.invoice_issued.send(sender=Invoice, invoice=note, by=by)
    return note


# Payments -------------------------------------------------------------------------


@transaction.atomic
def payment_create(
    *,
    order: Order,
    provider: str,
    amount: Decimal | None = None,
    invoice: Invoice | None = None,
    by=None,
) -> Payment:
    """A new attempt to pay ``order`` (what is outstanding, unless ``amount``)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != Status.OPEN:
        raise BillingError(_("This order is not awaiting payment."))
    outstanding = order_outstanding(locked)
    amount = outstanding if amount is None else money(amount)
    if amount <= 0:
        raise BillingError(_("There is nothing left to pay on this order."))
    return Payment.objects.create(
        order=locked,
        invoice=invoice,
        provider=provider,
        amount=amount,
        currency=locked.currency,
        created_by=by,
    )


def _merge_raw(payment: Payment, raw: dict | None) -> None:
    if raw:
        history = payment.raw.setdefault("history", [])
        history.append(raw)


@transaction.atomic
def payment_pending(
    *, payment: Payment, gateway_id: str = "", raw: dict | None = None
) -> Payment:
    """The provider has the payment and is working on it (e.g. redirected to Vipps)."""
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if gateway_id:
        locked.gateway_id = gateway_id
    _merge_raw(locked, raw)
    if locked.state == Payment.State.CREATED:
        locked.state = Payment.State.PENDING
    locked.save(update_fields=["gateway_id", "raw", "state"])
    payment.refresh_from_db()
    return locked


@transaction.atomic
def payment_confirm(
    *,
    payment: Payment,
    amount: Decimal | None = None,
    gateway_id: str = "",
    raw: dict | None = None,
    by=None,
) -> bool:
    """Mark the payment confirmed (money received) and settle its order.

    Idempotent: a payment already confirmed is left as it is and False is returned.
    A payment marked failed or cancelled is confirmed if the money did arrive
    after all, since money received is never ignored.
    """
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.state == Payment.State.CONFIRMED:
        logger.info("Payment %s already confirmed; nothing changed.", locked.pk)
        payment.refresh_from_db()
        return False
    if amount is not None:
        locked.amount = money(amount)
    if gateway_id:
        locked.gateway_id = gateway_id
    _merge_raw(locked, raw)
    locked.state = Payment.State.CONFIRMED
    locked.confirmed_at = timezone.now()
    locked.save()
    order_settle(order=locked.order, by=by)
    payment.refresh_from_db()
    return True


@transaction.atomic
def payment_fail(
    *,
    payment: Payment,
    message: str = "",
    raw: dict | None = None,
    cancelled: bool = False,
) -> bool:
    """Mark an unconfirmed payment failed (or cancelled by the payer).

    Idempotent; a confirmed payment is never failed (False is returned).
    """
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    target = Payment.State.CANCELLED if cancelled else Payment.State.FAILED
    if locked.state in (Payment.State.CONFIRMED, target):
        logger.info("Payment %s is %s; not marked %s.", locked.pk, locked.state, target)
        payment.refresh_from_db()
        return False
    _merge_raw(locked, raw)
    locked.state = target
    locked.failed_at = timezone.now()
    locked.message = message[:255]
    locked.save()
    payment.refresh_from_db()
    return True


@transaction.atomic
def payment_record_manual(
    *, order: Order, amount: Decimal, note: str, by, invoice: Invoice | None = None
) -> Payment:
    """Staff record money received outside the providers (cash, a transfer
    without KID), with a note saying what it was."""
    if not note.strip():
        raise BillingError(_("Say what the payment was, for the books."))
    payment = payment_create(
        order=order, provider="manual", amount=amount, invoice=invoice, by=by
    )
    payment.note = note.strip()
    payment.save(update_fields=["note"])
    payment_confirm(payment=payment, by=by)
    return payment


@transaction.atomic
def refund_create(*, payment: Payment, amount: Decimal, reason: str, by=None) -> Refund:
    """Ask for ``amount`` of a confirmed payment back. The provider carries it out
    (``shop.providers``) and marks it done with ``refund_done``."""
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    amount = money(amount)
    if locked.state != Payment.State.CONFIRMED:
        raise BillingError(_("Only a confirmed payment can be refunded."))
    already = (
        locked.refunds.exclude(state=Refund.State.FAILED).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    if amount <= 0 or amount > locked.amount - already:
        raise BillingError(
            _("At most %(amount)s %(currency)s of this payment can be refunded.")
            % {"amount": money(locked.amount - already), "currency": locked.currency}
        )
    return Refund.objects.create(
        payment=locked, amount=amount, reason=reason, created_by=by
    )


@transaction.atomic
def refund_done(
    *, refund: Refund, gateway_id: str = "", raw: dict | None = None, by=None
) -> bool:
    """The money went back. Idempotent; settles the order (maybe to refunded)."""
    locked = Refund.objects.select_for_update().get(pk=refund.pk)
    if locked.state == Refund.State.DONE:
        return False
    locked.state = Refund.State.DONE
    locked.done_at = timezone.now()
    if gateway_id:
        locked.gateway_id = gateway_id
    if raw:
        locked.raw = raw
    locked.save()
    order_settle(order=locked.payment.order, by=by)
    refund.refresh_from_db()
    return True


@transaction.atomic
def refund_pending(*, refund: Refund, gateway_id: str, raw: dict | None = None) -> bool:
    """The provider accepted the refund and will finish it later: keep its reference
    so that its webhook finds the row. Changes nothing once the refund is settled."""
    locked = Refund.objects.select_for_update().get(pk=refund.pk)
    if locked.state != Refund.State.PENDING:
        return False
    locked.gateway_id = gateway_id
    if raw:
        locked.raw = raw
    locked.save(update_fields=["gateway_id", "raw"])
    refund.refresh_from_db()
    return True


@transaction.atomic
def refund_failed(*, refund: Refund, raw: dict | None = None) -> bool:
    locked = Refund.objects.select_for_update().get(pk=refund.pk)
    if locked.state != Refund.State.PENDING:
        return False
    locked.state = Refund.State.FAILED
    if raw:
        locked.raw = raw
    locked.save()
    refund.refresh_from_db()
    return True


# Events and gifts -----------------------------------------------------------------


def event_record(
    *, provider: str, event_id: str, kind: str = "", payload: dict | None = None
) -> tuple[GatewayEvent, bool]:
    """Store an incoming event once. Returns (event, created); ``created`` is False
    for a second delivery, which the caller then must not apply again."""
    try:
        with transaction.atomic():
            event = GatewayEvent.objects.create(
                provider=provider, event_id=event_id, kind=kind, payload=payload or {}
            )
            return event, True
    except IntegrityError:
        return GatewayEvent.objects.get(provider=provider, event_id=event_id), False


def event_processed(*, event: GatewayEvent, result: str) -> None:
    GatewayEvent.objects.filter(pk=event.pk).update(
        processed_at=timezone.now(), result=result[:255]
    )


def gift_record(
    *,
    amount: Decimal,
    received_on: date,
    order: Order | None = None,
    payment: Payment | None = None,
    donor_name: str = "",
    donor_identifier: str = "",
    currency: str | None = None,
) -> Gift:
    """Record money given beyond what was owed, for the donor's yearly tax report."""
    return Gift.objects.create(
        donor_name=donor_name or (order.customer_name if order else ""),
        donor_identifier=donor_identifier
        or (order.customer_identifier if order else ""),
        amount=money(amount),
        currency=currency or (order.currency if order else default_currency()),
        received_on=received_on,
        order=order,
        payment=payment,
    )
