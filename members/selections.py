"""Selections without code: criteria staff combine with and/or/not, saved as JSON.

A criteria tree is either a criterion ``{"criterion": NAME, ...options}`` or a group
``{"op": "and"|"or"|"not", "terms": [...]}``. Relative dates ("in the last 6 months")
are worked out when the selection is run, so a saved selection stays current. The
result is always limited to what the person running it may see (selectors).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    Chapter,
    CommitteeMembership,
    Employment,
    Membership,
    Person,
)
from .selectors import persons_visible_to

Compiler = Callable[[dict, date], Q]
CRITERIA: dict[str, Compiler] = {}


def criterion(name: str):
    def register(function: Compiler) -> Compiler:
        CRITERIA[name] = function
        return function

    return register


def _months_ago(today: date, months: int) -> date:
    month_index = today.year * 12 + today.month - 1 - int(months)
    year, month = divmod(month_index, 12)
    day = min(today.day, 28)
    return date(year, month + 1, day)


def _date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError(
            _("%(field)s must be a date such as 2026-01-31.") % {"field": field}
        ) from exc


def _ids(options: dict, key: str) -> list[int]:
    values = options.get(key) or []
    if not isinstance(values, list):
        values = [values]
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("%(field)s must list ids.") % {"field": key}) from exc


def _chapter_subtrees(ids: list[int]) -> QuerySet:
    paths = Chapter.objects.filter(pk__in=ids).values_list("path", flat=True)
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(path__startswith=path)
    return Chapter.objects.filter(condition)


@criterion("membership")
def _membership(options: dict, today: date) -> Q:
    """One membership that meets every option: type, status, chapter, when it began
    or ended (absolute dates or "within the last N months")."""
    memberships = Membership.objects.filter(person__isnull=False)
    if types := _ids(options, "type"):
        memberships = memberships.filter(type__in=types)
    if statuses := options.get("status"):
        memberships = memberships.filter(status__in=statuses)
    if chapters := _ids(options, "chapter"):
        memberships = memberships.filter(chapter__in=_chapter_subtrees(chapters))
    if months := options.get("started_within_months"):
        memberships = memberships.filter(start__gte=_months_ago(today, months))
    if started_from := _date(options.get("started_from"), "started_from"):
        memberships = memberships.filter(start__gte=started_from)
    if started_to := _date(options.get("started_to"), "started_to"):
        memberships = memberships.filter(start__lte=started_to)
    if months := options.get("ended_within_months"):
        memberships = memberships.filter(
            end__gte=_months_ago(today, months), end__lt=today
        )
    if ended_from := _date(options.get("ended_from"), "ended_from"):
        memberships = memberships.filter(end__gte=ended_from)
    if ended_to := _date(options.get("ended_to"), "ended_to"):
        memberships = memberships.filter(end__lte=ended_to)
    if options.get("granting_access"):
        memberships = memberships.granting_access(today)
    return Q(pk__in=memberships.values("person"))


@criterion("chapter")
def _chapter(options: dict, today: date) -> Q:
    """Home chapter, or any membership, in these chapters or below them."""
    chapters = _chapter_subtrees(_ids(options, "chapter"))
    in_chapter = Membership.objects.filter(chapter__in=chapters, person__isnull=False)
    return Q(chapter__in=chapters) | Q(pk__in=in_chapter.values("person"))


@criterion("postcode")
def _postcode(options: dict, today: date) -> Q:
    low, high = str(options.get("from", "")).strip(), str(options.get("to", "")).strip()
    if not low and not high:
        raise ValidationError(_("Give a first or last postcode."))
    condition = Q()
    if low:
        condition &= Q(postal_postcode__gte=low)
    if high:
        condition &= Q(postal_postcode__lte=high)
    return condition & ~Q(postal_postcode="")


@criterion("birth_date")
def _birth_date(options: dict, today: date) -> Q:
    condition = Q()
    if born_from := _date(options.get("from"), "from"):
        condition &= Q(birth_date__gte=born_from)
    if born_to := _date(options.get("to"), "to"):
        condition &= Q(birth_date__lte=born_to)
    if (age := options.get("min_age")) is not None:
        condition &= Q(birth_date__lte=today.replace(year=today.year - int(age)))
    if (age := options.get("max_age")) is not None:
        oldest = today.replace(year=today.year - int(age) - 1) + timedelta(days=1)
        condition &= Q(birth_date__gte=oldest)
    return condition & Q(birth_date__isnull=False)


@criterion("tag")
def _tag(options: dict, today: date) -> Q:
    return Q(
        pk__in=Person.tags.through.objects.filter(
            tag_id__in=_ids(options, "tag")
        ).values("person_id")
    )


@criterion("relation_type")
def _relation_type(options: dict, today: date) -> Q:
    through = Person.relation_types.through.objects
    ids = _ids(options, "relation_type")
    return Q(pk__in=through.filter(relationtype_id__in=ids).values("person_id"))


@criterion("extra")
def _extra(options: dict, today: date) -> Q:
    key = str(options.get("key", "")).strip()
    if not key.isidentifier():
        raise ValidationError(_("Choose an extra field."))
    if "equals" in options:
        return Q(**{f"extra__{key}": options["equals"]})
    condition = Q(**{f"extra__{key}__isnull": False})
    if options.get("from") not in (None, ""):
        condition &= Q(**{f"extra__{key}__gte": options["from"]})
    if options.get("to") not in (None, ""):
        condition &= Q(**{f"extra__{key}__lte": options["to"]})
    return condition


@criterion("function")
def _function(options: dict, today: date) -> Q:
    """A current employment in a function, optionally at a member organisation
    ("all directors of member companies")."""
    employments = Employment.objects.current(today)
    if classes := _ids(options, "classification"):
        employments = employments.filter(function_classification__in=classes)
    if title := str(options.get("title", "")).strip():
        employments = employments.filter(function_title__icontains=title)
    if options.get("at_member_organisation"):
        members = Membership.objects.granting_access(today).filter(
            organisation__isnull=False
        )
        if types := _ids(options, "organisation_membership_type"):
            members = members.filter(type__in=types)
        employments = employments.filter(
            organisation__in=members.values("organisation")
        )
    return Q(pk__in=employments.values("person"))


@criterion("committee")
def _committee(options: dict, today: date) -> Q:
    seats = CommitteeMembership.objects.filter(committee__in=_ids(options, "committee"))
    if options.get("current", True):
        seats = seats.current(today)
    if positions := options.get("position"):
        seats = seats.filter(position__in=positions)
    return Q(pk__in=seats.values("person"))


def compile_criteria(node: dict, today: date | None = None) -> Q:
    """Turn a criteria tree into one Q on Person; ValidationError on a bad tree."""
    today = today or timezone.localdate()
    if not isinstance(node, dict):
        raise ValidationError(_("A selection is made of criteria and groups."))
    if "op" in node:
        op = node["op"]
        terms = node.get("terms") or []
        if op not in {"and", "or", "not"} or not terms:
            raise ValidationError(
                _("A group needs and, or or not, and at least one term.")
            )
        compiled = [compile_criteria(term, today) for term in terms]
        if op == "not":
            combined = Q()
            for q in compiled:
                combined &= q
            return ~combined
        combined = compiled[0]
        for q in compiled[1:]:
            combined = (combined & q) if op == "and" else (combined | q)
        return combined
    name = node.get("criterion")
    if name not in CRITERIA:
        raise ValidationError(_("Unknown criterion: %(name)s") % {"name": name})
    return CRITERIA[name](node, today)


def selection_persons(*, criteria: dict, user, today: date | None = None) -> QuerySet:
    """The persons the criteria pick out, among those ``user`` may see, not archived."""
    condition = compile_criteria(criteria, today)
    return (
        persons_visible_to(user)
        .filter(archived_at__isnull=True, merged_into__isnull=True)
        .filter(condition)
    )
