from decimal import Decimal

import pytest

from shop.kid import MOD10, MOD11, kid_is_valid, kid_make, mod11_check_digit
from shop.money import from_minor, money, to_minor, vat_included


def test_mod10_kid_has_luhn_check_digit():
    # 1234567890 → Luhn check digit 3 (known value)
    assert kid_make("1234567890", length=11, method=MOD10) == "12345678903"
    assert kid_is_valid("12345678903", method=MOD10)
    assert not kid_is_valid("12345678904", method=MOD10)


def test_mod11_kid_matches_bank_examples():
    # Norwegian bank account 8601 11 17947: the account's MOD11 check digit is 7.
    assert mod11_check_digit("8601111794") == "7"
    kid = kid_make("123456", length=8, method=MOD11)
    assert len(kid) == 8 and kid.startswith("0123456")
    assert kid_is_valid(kid, method=MOD11)


def test_kid_is_padded_to_the_agreed_length_and_refuses_overflow():
    assert kid_make("42", length=15, method=MOD10).startswith("00000000000042")
    with pytest.raises(ValueError):
        kid_make("1234567890", length=10, method=MOD10)


def test_money_rounds_half_up_and_refuses_floats():
    assert money("2.675") == Decimal("2.68")
    assert money(Decimal("0.005")) == Decimal("0.01")
    with pytest.raises(TypeError):
        money(1.5)
    assert to_minor(Decimal("450.00")) == 45000
    assert from_minor(12345) == Decimal("123.45")
    assert vat_included(Decimal("125.00"), Decimal("25")) == Decimal("25.00")
