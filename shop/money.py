"""Money: ``Decimal`` amounts with two places, rounded in one place only.

Amounts are stored as ``DecimalField(max_digits=12, decimal_places=2)`` beside a
currency code. They become integers of minor units (øre, cents) only at a payment
gateway's boundary (``to_minor`` / ``from_minor``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def default_currency() -> str:
    """The association's currency (NOK unless ``GUILDHALL_CURRENCY`` says otherwise)."""
    return settings.GUILDHALL_CURRENCY


def money(value: Decimal | int | str) -> Decimal:
    """``value`` rounded half up to two decimal places. Floats are refused."""
    if isinstance(value, float):
        raise TypeError("Money is never a float; pass a Decimal or a string.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor(value: Decimal) -> int:
    """Whole minor units (øre) of an amount, for a gateway's API."""
    return int(money(value) * 100)


def from_minor(value: int) -> Decimal:
    """An amount from a gateway's whole minor units (øre)."""
    if not isinstance(value, int):
        raise TypeError("Minor units are whole numbers.")
    return money(Decimal(value) / 100)


def vat_included(gross: Decimal, rate: Decimal) -> Decimal:
    """The VAT contained in a gross (VAT-inclusive) amount at ``rate`` per cent."""
    if not rate:
        return ZERO
    return money(gross * rate / (Decimal(100) + rate))
