"""The order, invoice and payment services: totals, numbering, idempotency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shop import billing, signals
from shop.kid import kid_is_valid
from shop.models import Invoice, Order, OrderStatusChange, Payment, Refund
from tests.factories import UserFactory

from .factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


def test_order_totals_are_exact_decimals_with_vat():
    order = make_order(amount="99.90", quantity="3", vat_rate="25")
    assert order.total == Decimal("299.70")
    assert order.vat_total == Decimal("59.94")
    assert order.status == Order.Status.OPEN
    assert order.currency == "NOK"


def test_order_needs_a_line():
    with pytest.raises(billing.BillingError):
        billing.order_create(customer_name="Ola", lines=[])


def test_invoice_freezes_seller_buyer_and_lines():
    configure_seller()
    order = make_order(amount="450.00")
    invoice = billing.invoice_issue(order=order)
    assert invoice.total == Decimal("450.00")
    assert invoice.seller["name"] == "Makers' Guild"
    assert invoice.buyer_name == "Kari Nordmann"
    assert invoice.display_number.startswith(f"F{timezone.localdate().year}-")
    assert [line.description for line in invoice.lines.all()] == ["Membership 2027"]
    assert kid_is_valid(invoice.kid, method=invoice.series.kid_method)
    assert len(invoice.kid) == invoice.series.kid_length
    assert invoice.due_date == timezone.localdate() + timedelta(days=14)

    configure_seller(seller_name="Renamed Guild")
    invoice.refresh_from_db()
    assert invoice.seller["name"] == "Makers' Guild"
    # Issuing again gives the same invoice, not a second one.
    assert billing.invoice_issue(order=order).pk == invoice.pk


def test_invoice_numbers_follow_each_other_without_gaps():
    numbers = [billing.invoice_issue(order=make_order()).number for _ in range(4)]
    assert numbers == [numbers[0] + i for i in range(4)]
    kids = {invoice.kid for invoice in Invoice.objects.all()}
    assert len(kids) == 4


def test_credit_note_reverses_the_invoice_to_the_ore_and_cancels_the_order():
    order = make_order(amount="333.33", quantity="3", vat_rate="25")
    invoice = billing.invoice_issue(order=order)
    cancelled = []
    signals.order_cancelled.connect(
        lambda order, **kw: cancelled.append(order.pk), weak=False, dispatch_uid="t1"
    )
    try:
        note = billing.credit_note_issue(invoice=invoice, reason="Joined by mistake")
    finally:
        signals.order_cancelled.disconnect(dispatch_uid="t1")
    assert note.total == -invoice.total == Decimal("-999.99")
    assert note.vat_total == -invoice.vat_total
    assert sum(line.total for line in note.lines.all()) == Decimal("-999.99")
    assert note.number == invoice.number + 1
    invoice.refresh_from_db()
    order.refresh_from_db()
    assert invoice.status == Invoice.Status.CREDITED
    assert order.status == Order.Status.CANCELLED
    assert cancelled == [order.pk]
    with pytest.raises(billing.BillingError):
        billing.credit_note_issue(invoice=invoice, reason="again")


def test_confirming_twice_pays_once_and_announces_once():
    order = make_order(amount="200.00")
    payment = billing.payment_create(order=order, provider="sandbox")
    paid = []
    signals.order_paid.connect(
        lambda order, **kw: paid.append(order.pk), weak=False, dispatch_uid="t2"
    )
    try:
        assert billing.payment_confirm(payment=payment) is True
        assert billing.payment_confirm(payment=payment) is False
    finally:
        signals.order_paid.disconnect(dispatch_uid="t2")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert paid == [order.pk]
    assert list(
        OrderStatusChange.objects.filter(order=order).values_list(
            "to_status", flat=True
        )
    ) == ["open", "paid"]
    # A confirmed payment is never failed afterwards.
    assert billing.payment_fail(payment=payment) is False
    payment.refresh_from_db()
    assert payment.state == Payment.State.CONFIRMED


def test_part_payments_add_up_to_paid():
    order = make_order(amount="300.00")
    first = billing.payment_create(
        order=order, provider="manual", amount=Decimal("100")
    )
    billing.payment_confirm(payment=first)
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN
    assert billing.order_outstanding(order) == Decimal("200.00")
    second = billing.payment_create(order=order, provider="manual")
    assert second.amount == Decimal("200.00")
    billing.payment_confirm(payment=second)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_refund_of_everything_makes_the_order_refunded():
    order = make_order(amount="150.00")
    payment = billing.payment_create(order=order, provider="sandbox")
    billing.payment_confirm(payment=payment)
    with pytest.raises(billing.BillingError):
        billing.refund_create(payment=payment, amount=Decimal("150.01"), reason="x")
    refund = billing.refund_create(
        payment=payment, amount=Decimal("150.00"), reason="x"
    )
    assert billing.refund_done(refund=refund) is True
    assert billing.refund_done(refund=refund) is False
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_manual_payment_needs_a_note_and_records_who():
    clerk = UserFactory()
    order = make_order(amount="50.00")
    with pytest.raises(billing.BillingError):
        billing.payment_record_manual(
            order=order, amount=Decimal("50"), note=" ", by=clerk
        )
    payment = billing.payment_record_manual(
        order=order, amount=Decimal("50"), note="Cash at the AGM", by=clerk
    )
    assert payment.created_by == clerk
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_an_event_is_recorded_once():
    event, created = billing.event_record(provider="stripe", event_id="evt_1")
    again, created_again = billing.event_record(provider="stripe", event_id="evt_1")
    assert created and not created_again and again.pk == event.pk


def test_reminder_fee_line_raises_the_total():
    order = make_order(amount="100.00")
    billing.order_line_add(
        order=order,
        line=billing.LineSpec(description="Reminder fee", unit_price=Decimal("35.00")),
    )
    order.refresh_from_db()
    assert order.total == Decimal("135.00")


def _orders_for_settling() -> dict[str, Order]:
    """Invoiced orders in every state a bank file meets: paid exactly, paid more,
    part paid, paid in full but partly refunded, and already paid."""
    orders = {name: make_order(amount="300.00") for name in ("exact", "more", "part")}
    orders["refunded"] = make_order(amount="300.00")
    orders["paid"] = make_order(amount="300.00")
    for order in orders.values():
        billing.invoice_issue(order=order)
    # Money confirmed without settling, as a bank file books it before settling.
    received = {
        "exact": ["300.00"],
        "more": ["200.00", "150.00"],
        "part": ["299.99"],
        "refunded": ["300.00"],
    }
    for name, amounts in received.items():
        for amount in amounts:
            Payment.objects.create(
                order=orders[name],
                provider="invoice",
                state=Payment.State.CONFIRMED,
                amount=Decimal(amount),
                currency="NOK",
                confirmed_at=timezone.now(),
            )
    Refund.objects.create(
        payment=orders["refunded"].payments.get(),
        amount=Decimal("0.01"),
        reason="Paid back a øre",
        state=Refund.State.DONE,
    )
    billing.payment_confirm(
        payment=billing.payment_create(order=orders["paid"], provider="sandbox")
    )
    return orders


def _outcome(orders: dict[str, Order]) -> dict[str, tuple]:
    """Per order: status, whether paid_at is set, its status history, the
    statuses of its invoices."""
    outcome = {}
    for name, order in orders.items():
        order.refresh_from_db()
        outcome[name] = (
            order.status,
            order.paid_at is not None,
            list(
                order.status_changes.order_by("pk").values_list(
                    "from_status", "to_status", "by"
                )
            ),
            list(order.invoices.values_list("status", flat=True)),
        )
    return outcome


def test_orders_settle_many_pays_as_order_settle_does_one_by_one():
    clerk = UserFactory()
    paid_signals = []
    signals.order_paid.connect(
        lambda order, by, **kw: paid_signals.append((order.pk, by)),
        weak=False,
        dispatch_uid="t-settle-many",
    )
    try:
        bulk = _orders_for_settling()
        one_by_one = _orders_for_settling()
        paid_signals.clear()

        settled = billing.orders_settle_many(
            order_ids=[order.pk for order in bulk.values()], by=clerk
        )
        bulk_signals, paid_signals[:] = list(paid_signals), []
        for order in one_by_one.values():
            billing.order_settle(order=order, by=clerk)
        single_signals = list(paid_signals)
    finally:
        signals.order_paid.disconnect(dispatch_uid="t-settle-many")

    assert settled == [bulk["exact"].pk, bulk["more"].pk]
    assert bulk_signals == [(bulk["exact"].pk, clerk), (bulk["more"].pk, clerk)]
    assert single_signals == [
        (one_by_one["exact"].pk, clerk),
        (one_by_one["more"].pk, clerk),
    ]
    outcome = _outcome(bulk)
    assert outcome == _outcome(one_by_one)
    open_, paid = Order.Status.OPEN, Order.Status.PAID
    assert outcome["exact"] == (
        paid,
        True,
        [("", open_, None), (open_, paid, clerk.pk)],
        [Invoice.Status.PAID],
    )
    assert outcome["more"][0] == paid
    for name in ("part", "refunded"):
        assert outcome[name] == (
            open_,
            False,
            [("", open_, None)],
            [Invoice.Status.OPEN],
        )
    assert outcome["paid"][3] == [Invoice.Status.PAID]
    assert [row[1] for row in outcome["paid"][2]] == [open_, paid]
    # Run again: nothing more to pay, nothing recorded or announced twice.
    assert billing.orders_settle_many(order_ids=list(settled), by=clerk) == []
    assert _outcome(bulk) == outcome
    assert billing.orders_settle_many(order_ids=[]) == []
