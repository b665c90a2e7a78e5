"""Helpers for shop tests: orders made through the real services."""

from __future__ import annotations

from decimal import Decimal

from shop import billing
from shop.billing import LineSpec
from shop.models import BillingSettings


def make_order(
    *,
    amount: str = "450.00",
    quantity: str = "1",
    vat_rate: str = "0",
    customer_name: str = "Kari Nordmann",
    customer_email: str = "kari@example.org",
    billing_address: str = "Storgata 1\n0155 Oslo",
    item=None,
    **kwargs,
):
    """An open order with one line of ``quantity`` × ``amount``."""
    return billing.order_create(
        customer_name=customer_name,
        customer_email=customer_email,
        billing_address=billing_address,
        lines=[
            LineSpec(
                description="Membership 2027",
                unit_price=Decimal(amount),
                quantity=Decimal(quantity),
                vat_rate=Decimal(vat_rate),
                item=item,
            )
        ],
        **kwargs,
    )


def configure_seller(**overrides) -> BillingSettings:
    settings = BillingSettings.load()
    values = {
        "seller_name": "Makers' Guild",
        "organisation_number": "974760673",
        "bank_account": "86011117947",
        "address": "Postboks 1\n0101 Oslo",
        "email": "billing@guild.example",
    }
    values.update(overrides)
    for key, value in values.items():
        setattr(settings, key, value)
    settings.save()
    return settings
