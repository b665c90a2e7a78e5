"""KID numbers: the customer reference a payer types on a Norwegian bank transfer.

A KID is digits ending in a check digit, MOD10 (Luhn) or MOD11 as the association's
agreement with its bank says. MOD10 comes from python-stdnum; MOD11 is the banks' own
variant (weights 2–7 from the right, remainder 1 gives the check "-"), which no
maintained library implements, so it is written here.
"""

from __future__ import annotations

from stdnum import luhn

MOD10 = "mod10"
MOD11 = "mod11"


def mod11_check_digit(digits: str) -> str:
    """The MOD11 check digit of ``digits`` as the Norwegian banks compute it.

    Weights 2, 3, 4, 5, 6, 7 repeat from the rightmost digit; the check digit is
    11 minus the remainder of the weighted sum by 11, with 11 written as 0 and 10
    written as "-" (a KID that needs "-" is usually avoided by its issuer).
    """
    if not digits.isdigit():
        raise ValueError("A KID is made of digits.")
    total = sum(
        int(digit) * (2 + position % 6)
        for position, digit in enumerate(reversed(digits))
    )
    check = 11 - total % 11
    if check == 11:
        return "0"
    if check == 10:
        return "-"
    return str(check)


def check_digit(digits: str, method: str) -> str:
    if method == MOD10:
        if not digits.isdigit():
            raise ValueError("A KID is made of digits.")
        return luhn.calc_check_digit(digits)
    if method == MOD11:
        return mod11_check_digit(digits)
    raise ValueError(f"Unknown KID method {method!r}.")


def kid_make(base: int | str, *, length: int, method: str) -> str:
    """A KID of exactly ``length`` characters: ``base`` zero-padded, plus its check.

    Raises ``ValueError`` if ``base`` does not fit in ``length - 1`` digits.
    """
    body = str(base)
    if not body.isdigit():
        raise ValueError("A KID is made of digits.")
    if len(body) > length - 1:
        raise ValueError(f"{body} does not fit in a KID of {length} digits.")
    body = body.zfill(length - 1)
    return body + check_digit(body, method)


def kid_is_valid(kid: str, *, method: str) -> bool:
    """Whether ``kid`` ends in the right check digit for ``method``."""
    if not kid or len(kid) < 2 or not kid[:-1].isdigit():
        return False
    try:
        return check_digit(kid[:-1], method) == kid[-1]
    except ValueError:
        return False
