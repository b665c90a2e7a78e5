"""Personal pay links: a signed, expiring address that opens an order's pay page
without signing in. The signature covers the order's code; the link expires after
the billing settings' ``pay_link_days``."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from .models import BillingSettings, Order

SALT = "shop.paylink"


def pay_token(order: Order) -> str:
    return signing.TimestampSigner(salt=SALT).sign(order.code)


def pay_path(order: Order) -> str:
    return reverse("shop:pay", kwargs={"token": pay_token(order)})


def pay_url(order: Order) -> str:
    from django.conf import settings

    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + pay_path(order)


def order_from_token(token: str) -> Order | None:
    """The order a pay token names, or None if forged or expired."""
    max_age = BillingSettings.load().pay_link_days * 24 * 3600
    try:
        code = signing.TimestampSigner(salt=SALT).unsign(token, max_age=max_age)
    except signing.BadSignature:
        return None
    return Order.objects.filter(code=code).first()
