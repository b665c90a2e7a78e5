"""Many orders and their invoices at once, for runs such as the yearly dues.

The same rules as ``billing.order_create`` followed by ``billing.invoice_issue``
(frozen seller, buyer and lines; gapless numbers; a KID on each invoice; the order's
history), but a handful of queries per batch instead of a dozen per order, so that
half a million renewals fit in minutes. Call it inside a transaction per batch: if
anything fails, the batch's orders, invoices and numbers all roll back together.

Delivery: invoices to be e-mailed are handed to a task in chunks once the
transaction commits; letters wait in "Letters to post" like any other. No
``invoice_issued`` signal is sent per invoice: the caller knows what it issued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guildhall.bulk import objects_insert, rows_insert

from .billing import (
    BillingError,
    LineSpec,
    _kid_for,
    _lines_check,
    _reference,
    default_series,
)
from .models import (
    BillingSettings,
    Invoice,
    InvoiceLine,
    InvoiceNumberCounter,
    InvoiceSeries,
    Order,
    OrderLine,
    OrderStatusChange,
)
from .money import ZERO, default_currency, money, vat_included

#: How many invoice ids one e-mail task gets.
EMAIL_TASK_CHUNK = 200


@dataclass(frozen=True)
class OrderSpec:
    """One order to create and invoice; the same fields as ``order_create``."""

    customer_name: str
    lines: list[LineSpec]
    customer: object | None = None
    customer_email: str = ""
    billing_address: str = ""
    customer_identifier: str = ""
    language: str = ""
    by_post: bool = False
    user_id: int | None = None
    open_amount: bool = False
    return_url: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)


def _without(row: dict, *names: str) -> dict:
    return {key: value for key, value in row.items() if key not in names}


def _numbers_reserve(series: InvoiceSeries, year: int, count: int) -> range:
    """``count`` consecutive numbers of the series' year; the counter row stays
    locked until the transaction ends, so other issuers wait and no gap appears."""
    InvoiceNumberCounter.objects.get_or_create(series=series, year=year)
    counter = InvoiceNumberCounter.objects.select_for_update().get(
        series=series, year=year
    )
    first = counter.last_number + 1
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    return range(first, first + count)


@transaction.atomic
def orders_invoice_many(
    *,
    specs: list[OrderSpec],
    series: InvoiceSeries | None = None,
    due_date: date | None = None,
    by=None,
    send: bool = True,
) -> list[Invoice]:
    """Create an open order for each spec and issue its invoice; returns the invoices
    in the order of ``specs`` (each with ``.order`` set). Every order must have a
    total above zero."""
    if not specs:
        return []
    now = timezone.now()
    today = timezone.localdate(now)
    currency = default_currency()
    orders: list[Order] = []
    order_lines: list[list[dict]] = []
    for spec in specs:
        _lines_check(spec.lines)
        customer_type, customer_id = _reference(spec.customer)
        lines = []
        for position, line in enumerate(spec.lines):
            item_type, item_id = _reference(line.item)
            total = money(line.quantity * line.unit_price)
            lines.append(
                {
                    "position": position,
                    "kind": line.kind,
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit_price": money(line.unit_price),
                    "vat_rate": line.vat_rate,
                    "total": total,
                    "vat_amount": vat_included(total, line.vat_rate),
                    "item_type_id": item_type.pk if item_type else None,
                    "item_id": item_id,
                }
            )
        total = money(sum((line["total"] for line in lines), ZERO))
        if total <= 0:
            raise BillingError(_("There is nothing to invoice on this order."))
        order = Order(
            customer_type=customer_type,
            customer_id=customer_id,
            customer_name=spec.customer_name,
            customer_email=spec.customer_email,
            billing_address=spec.billing_address,
            customer_identifier=spec.customer_identifier,
            currency=currency,
            total=total,
            vat_total=money(sum((line["vat_amount"] for line in lines), ZERO)),
            by_post=spec.by_post,
            user_id=spec.user_id,
            created_by=by,
            note=spec.note,
            open_amount=spec.open_amount,
            return_url=spec.return_url,
        )
        if spec.language:
            order.language = spec.language
        orders.append(order)
        order_lines.append(lines)

    objects_insert(Order, orders, when=now)
    rows_insert(
        OrderLine,
        [
            {**_without(line, "vat_amount"), "order_id": order.pk}
            for order, lines in zip(orders, order_lines, strict=True)
            for line in lines
        ],
    )
    by_id = by.pk if by is not None else None
    rows_insert(
        OrderStatusChange,
        [
            {"order_id": order.pk, "to_status": order.status, "by_id": by_id}
            for order in orders
        ],
        when=now,
    )

    series = series or default_series()
    billing = BillingSettings.load()
    seller = billing.frozen()
    terms = series.payment_terms_days or billing.payment_terms_days
    due = due_date or today + timedelta(days=terms)
    year = today.year
    numbers = _numbers_reserve(series, year, len(orders))
    invoices = [
        Invoice(
            order_id=order.pk,
            series_id=series.pk,
            year=year,
            number=number,
            kid=_kid_for(series, year, number),
            issued_at=now,
            issue_date=today,
            due_date=due,
            currency=order.currency,
            total=order.total,
            vat_total=order.vat_total,
            seller=seller,
            buyer_name=order.customer_name,
            buyer_email=order.customer_email,
            buyer_address=order.billing_address,
            buyer_identifier=order.customer_identifier,
            delivery=Invoice.Delivery.POST
            if order.by_post or not order.customer_email
            else Invoice.Delivery.EMAIL,
            open_amount=order.open_amount,
            issued_by=by,
        )
        for order, number in zip(orders, numbers, strict=True)
    ]
    objects_insert(Invoice, invoices, when=now)
    rows_insert(
        InvoiceLine,
        [
            {
                **_without(line, "item_type_id", "item_id", "kind"),
                "invoice_id": invoice.pk,
            }
            for invoice, lines in zip(invoices, order_lines, strict=True)
            for line in lines
        ],
    )
    for invoice, order in zip(invoices, orders, strict=True):
        invoice.order = order
    if send:
        invoices_email_queue(
            [i.pk for i in invoices if i.delivery == Invoice.Delivery.EMAIL]
        )
    return invoices


def invoices_email_queue(invoice_ids: list[int]) -> None:
    """E-mail these invoices (PDF and pay link) from tasks, once the transaction
    commits, a chunk of ids per task."""
    from .tasks import invoices_email

    for start in range(0, len(invoice_ids), EMAIL_TASK_CHUNK):
        chunk = invoice_ids[start : start + EMAIL_TASK_CHUNK]
        transaction.on_commit(partial(invoices_email.delay, chunk))
