"""Reads over orders for lists: the paid and outstanding amounts of many orders in
the same query as the orders, by the rules of ``shop.billing``."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    F,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from .models import Order, Payment, Refund

MONEY_FIELD = DecimalField(max_digits=12, decimal_places=2)
ZERO = Decimal("0.00")


def paid_expression(order_ref: str):
    """Confirmed payments minus refunds done on the order at ``order_ref``: the rule of
    ``billing.order_paid_amount`` as a subquery, for many orders at once."""
    paid = (
        Payment.objects.filter(order=OuterRef(order_ref), state=Payment.State.CONFIRMED)
        .order_by()
        .values("order")
        .annotate(amount=Sum("amount"))
        .values("amount")
    )
    refunded = (
        Refund.objects.filter(
            payment__order=OuterRef(order_ref), state=Refund.State.DONE
        )
        .order_by()
        .values("payment__order")
        .annotate(amount=Sum("amount"))
        .values("amount")
    )
    return Coalesce(
        Subquery(paid, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD
    ) - Coalesce(
        Subquery(refunded, output_field=MONEY_FIELD),
        Value(ZERO),
        output_field=MONEY_FIELD,
    )


def outstanding_expression(prefix: str = ""):
    """What is still owed on the order (at ``prefix``; never negative, nothing unless
    it awaits payment): the rule of ``billing.order_outstanding`` as an annotation,
    so a list of orders shows it without a query per order."""
    ref = f"{prefix}id" if prefix else "pk"
    return Case(
        When(
            **{f"{prefix}status": Order.Status.OPEN},
            then=Greatest(
                F(f"{prefix}total") - paid_expression(ref),
                Value(ZERO),
                output_field=MONEY_FIELD,
            ),
        ),
        default=Value(ZERO),
        output_field=MONEY_FIELD,
    )
