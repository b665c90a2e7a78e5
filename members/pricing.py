"""What a membership costs: the type's fee or a chapter's own, less the best discount.

``PriceBook`` loads every chapter fee and discount rule once, so that pricing half a
million renewals costs no query per membership; ``quote`` prices one for the join
page. The lines it makes are ``shop`` order lines pointing at the membership.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.utils import formats, translation
from django.utils.translation import gettext as _

from shop.billing import LineSpec
from shop.models import OrderLine

from .models import Chapter, DiscountRule, MembershipPrice, MembershipType, age_on

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

Condition = DiscountRule.Condition
AppliesTo = DiscountRule.AppliesTo


@dataclass(frozen=True)
class Quote:
    """A price as the payer sees it: the fee, the discount taken off, the total."""

    fee: Decimal
    discount_name: str
    discount: Decimal
    total: Decimal
    currency: str


@dataclass(frozen=True)
class PricingFacts:
    """What the discount rules look at."""

    on: date
    birth_date: date | None = None
    renewal: bool = False
    recruited: bool = False


def _rule_applies(rule: DiscountRule, facts: PricingFacts) -> bool:
    if rule.applies_to == AppliesTo.JOIN and facts.renewal:
        return False
    if rule.applies_to == AppliesTo.RENEWAL and not facts.renewal:
        return False
    age = age_on(facts.birth_date, facts.on)
    if rule.condition == Condition.AGE_UNDER:
        return age is not None and age < (rule.value or 0)
    if rule.condition == Condition.AGE_FROM:
        return age is not None and age >= (rule.value or 0)
    if rule.condition == Condition.FIRST_PERIOD:
        return not facts.renewal
    if rule.condition == Condition.JOINS_FROM_MONTH:
        return not facts.renewal and facts.on.month >= (rule.value or 13)
    if rule.condition == Condition.RECRUITED:
        return not facts.renewal and facts.recruited
    return False


def _reduction(rule: DiscountRule, fee: Decimal) -> Decimal:
    if rule.percent is not None:
        off = (fee * rule.percent / Decimal(100)).quantize(CENT, ROUND_HALF_UP)
    else:
        off = rule.amount or ZERO
    return min(fee, off)


class PriceBook:
    """Every membership type, chapter fee and active discount rule, loaded once
    (four queries)."""

    def __init__(self):
        self.prices: dict[tuple[int, str], Decimal] = {
            (type_id, path): fee
            for type_id, path, fee in MembershipPrice.objects.values_list(
                "type_id", "chapter__path", "fee"
            )
        }
        self.chapter_paths: dict[int, str] = dict(
            Chapter.objects.values_list("pk", "path")
        )
        self.types: dict[int, MembershipType] = {
            mtype.pk: mtype for mtype in MembershipType.objects.all()
        }
        self.rules: dict[int, list[DiscountRule]] = defaultdict(list)
        for rule in DiscountRule.objects.filter(is_active=True).order_by("pk"):
            self.rules[rule.type_id].append(rule)

    def fee(self, mtype: MembershipType, chapter_id: int) -> Decimal:
        """The nearest chapter's own fee, walking up the tree, else the type's."""
        path = self.chapter_paths.get(chapter_id, "")
        step = Chapter.steplen
        while path:
            fee = self.prices.get((mtype.pk, path))
            if fee is not None:
                return fee
            path = path[:-step]
        return mtype.fee

    def discount(
        self, mtype: MembershipType, fee: Decimal, facts: PricingFacts
    ) -> tuple[DiscountRule | None, Decimal]:
        """The rule giving the largest reduction, and the reduction."""
        best, best_off = None, ZERO
        for rule in self.rules.get(mtype.pk, ()):
            if _rule_applies(rule, facts):
                off = _reduction(rule, fee)
                if off > best_off:
                    best, best_off = rule, off
        return best, best_off

    def quote(
        self, mtype: MembershipType, chapter_id: int, facts: PricingFacts
    ) -> Quote:
        fee = self.fee(mtype, chapter_id)
        rule, off = self.discount(mtype, fee, facts)
        return Quote(
            fee=fee,
            discount_name=rule.name if rule else "",
            discount=off,
            total=fee - off,
            currency=mtype.currency,
        )

    def lines(
        self,
        *,
        membership,
        mtype: MembershipType,
        chapter_id: int,
        period_start: date,
        period_end: date | None,
        facts: PricingFacts,
        language: str,
        gift: Decimal = ZERO,
    ) -> list[LineSpec]:
        """The order lines for one period of ``membership``: the fee, the discount
        (a line of its own), and a gift on top if the payer chose to give one."""
        quote = self.quote(mtype, chapter_id, facts)
        lines = [
            LineSpec(
                description=_description(
                    mtype.name, period_start, period_end, language
                ),
                unit_price=quote.fee,
                item=membership,
            )
        ]
        if quote.discount:
            lines.append(
                LineSpec(
                    description=quote.discount_name,
                    unit_price=-quote.discount,
                    item=membership,
                )
            )
        if gift > 0:
            lines.append(
                LineSpec(
                    description=_gift_description(language),
                    unit_price=gift,
                    kind=OrderLine.Kind.GIFT,
                )
            )
        return lines


@lru_cache(maxsize=4096)
def _description(type_name: str, start: date, end: date | None, language: str) -> str:
    with translation.override(language):
        return fee_line_description(type_name, start, end)


@lru_cache(maxsize=16)
def _gift_description(language: str) -> str:
    with translation.override(language):
        return _("Gift")


def fee_line_description(type_name: str, start: date, end: date | None) -> str:
    """“Membership: Individual, 01.01.2027–31.12.2027” in the active language."""
    if end is None:
        return _("Membership: %(type)s, from %(start)s") % {
            "type": type_name,
            "start": formats.date_format(start, "SHORT_DATE_FORMAT"),
        }
    return _("Membership: %(type)s, %(start)s–%(end)s") % {
        "type": type_name,
        "start": formats.date_format(start, "SHORT_DATE_FORMAT"),
        "end": formats.date_format(end, "SHORT_DATE_FORMAT"),
    }


def needs_birth_date(mtype: MembershipType) -> bool:
    """Whether the type has an age discount, so that the join form must ask."""
    return any(
        rule.is_active and rule.condition in (Condition.AGE_UNDER, Condition.AGE_FROM)
        for rule in mtype.discount_rules.all()
    )
