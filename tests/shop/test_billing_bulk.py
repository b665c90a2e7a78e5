"""Many orders and invoices at once: the same invoices as one at a time."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction

from shop import billing
from shop.billing import LineSpec
from shop.billing_bulk import OrderSpec, orders_invoice_many
from shop.models import Invoice, InvoiceNumberCounter, Order, OrderLine
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _seller():
    configure_seller()


def spec(name="Kari Nordmann", email="kari@example.org", **kwargs) -> OrderSpec:
    return OrderSpec(
        customer_name=name,
        customer_email=email,
        billing_address=f"{name}\nStorgata 1\n0155 Oslo",
        lines=[
            LineSpec(description="Membership 2027", unit_price=Decimal("600.00")),
            LineSpec(description="Youth discount", unit_price=Decimal("-150.00")),
        ],
        **kwargs,
    )


def test_bulk_invoices_match_those_issued_one_at_a_time_and_number_on(
    django_capture_on_commit_callbacks,
):
    single = billing.invoice_issue(order=make_order(amount="450.00"))
    with django_capture_on_commit_callbacks(execute=True):
        invoices = orders_invoice_many(
            specs=[spec(), spec("Ola Hansen", "", by_post=False), spec(by_post=True)]
        )
    assert [invoice.number for invoice in invoices] == [2, 3, 4]
    first = Invoice.objects.get(pk=invoices[0].pk)
    assert first.total == Decimal("450.00")
    assert first.kid and first.kid != single.kid
    assert len(first.kid) == len(single.kid)
    assert first.seller == single.seller
    assert first.due_date == single.due_date
    assert [(line.description, line.total) for line in first.lines.all()] == [
        ("Membership 2027", Decimal("600.00")),
        ("Youth discount", Decimal("-150.00")),
    ]
    order = Order.objects.get(pk=first.order_id)
    assert order.status == Order.Status.OPEN
    assert order.status_changes.count() == 1
    assert order.lines.count() == 2
    deliveries = [Invoice.objects.get(pk=i.pk).delivery for i in invoices]
    assert deliveries == [
        Invoice.Delivery.EMAIL,
        Invoice.Delivery.POST,  # no e-mail address
        Invoice.Delivery.POST,  # asked for letters
    ]
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments


def test_a_failing_batch_leaves_no_order_invoice_or_number_behind():
    billing.invoice_issue(order=make_order())
    with pytest.raises(billing.BillingError), transaction.atomic():
        orders_invoice_many(
            specs=[
                spec(),
                OrderSpec(
                    customer_name="Nothing to pay",
                    lines=[LineSpec(description="Free", unit_price=Decimal("0"))],
                ),
            ]
        )
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 1
    assert InvoiceNumberCounter.objects.get().last_number == 1
    assert billing.invoice_issue(order=make_order()).number == 2


def test_a_bulk_invoice_is_paid_like_any_other():
    (invoice,) = orders_invoice_many(specs=[spec()], send=False)
    payment = billing.payment_create(order=invoice.order, provider="sandbox")
    billing.payment_confirm(payment=payment)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
