"""The outstanding amount of many orders in one query follows billing's rule."""

from decimal import Decimal

import pytest

from shop import billing
from shop.models import Order
from shop.selectors import outstanding_expression
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


def test_the_annotation_matches_order_outstanding_for_every_state(
    django_assert_num_queries,
):
    configure_seller()
    untouched = make_order(amount="450.00")
    part_paid = make_order(amount="450.00")
    payment = billing.payment_create(order=part_paid, provider="sandbox")
    billing.payment_confirm(payment=payment, amount=Decimal("100.00"))
    paid = make_order(amount="300.00")
    billing.payment_confirm(
        payment=billing.payment_create(order=paid, provider="sandbox")
    )
    cancelled = make_order(amount="200.00")
    billing.order_transition(order=cancelled, to_status=Order.Status.CANCELLED)

    with django_assert_num_queries(1):
        annotated = {
            order.pk: order.outstanding
            for order in Order.objects.annotate(outstanding=outstanding_expression())
        }
    for order in (untouched, part_paid, paid, cancelled):
        order.refresh_from_db()
        assert annotated[order.pk] == billing.order_outstanding(order)
    assert annotated[part_paid.pk] == Decimal("350.00")
    assert annotated[paid.pk] == Decimal("0.00")
