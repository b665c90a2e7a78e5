"""Finding likely duplicates on entry, and merging two records into one.

A person is a likely duplicate when the name matches and so does an e-mail address, a
phone number or the birth date. An organisation is one when the organisation number
matches, or the name matches together with an e-mail or phone number. A merge keeps
the surviving record, takes the values staff chose from the other, moves memberships,
employments, recruitments, tags and the account link across, and archives the other
record pointing at the survivor, so its own history stays readable and nothing is lost.

A person's merge also moves their committee seats, the contact log and inquiries about
them, and the orders made out to them (the invoices stay as issued, with the buyer as
invoiced); apps that build on ``members`` move what they hold through
``merge_step_register`` (newsletters: subscriptions and consents). Both merges move
the duplicate's change requests (a pending one the survivor already has one for is
withdrawn, saying so) and its membership applications.
"""

from __future__ import annotations

import re
from datetime import date

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.models import Order

from .models import (
    Application,
    ChangeRequest,
    CommitteeMembership,
    ContactLogEntry,
    Employment,
    Inquiry,
    Membership,
    Organisation,
    Person,
)
from .validators import clean_organisation_number

#: ``function(survivor=..., duplicate=..., by=...)`` run inside every person merge,
#: after the register's own moves; see ``merge_step_register``.
_MERGE_STEPS: list = []


def merge_step_register(function) -> None:
    """Run ``function(survivor=..., duplicate=..., by=...)`` in every person merge, in
    its transaction, so an app that builds on ``members`` (which imports none of
    them) moves what it holds about the duplicate to the survivor."""
    if function not in _MERGE_STEPS:
        _MERGE_STEPS.append(function)


#: Fields staff may take from the duplicate when merging.
PERSON_MERGE_FIELDS = [
    "first_name",
    "last_name",
    "birth_date",
    "email",
    "email_secondary",
    "phone",
    "phone_mobile",
    "preferred_language",
    "postal_street",
    "postal_postcode",
    "postal_city",
    "postal_country",
    "visiting_street",
    "visiting_postcode",
    "visiting_city",
    "chapter",
]
ORGANISATION_MERGE_FIELDS = [
    "name",
    "organisation_number",
    "country",
    "email",
    "phone",
    "website",
    "postal_street",
    "postal_postcode",
    "postal_city",
    "postal_country",
    "visiting_street",
    "visiting_postcode",
    "visiting_city",
    "billing_street",
    "billing_postcode",
    "billing_city",
    "billing_email",
    "parent",
    "chapter",
]


def phone_key(number: str) -> str:
    """The last eight digits: "+47 22 00 00 00" and "22000000" are the same phone."""
    digits = re.sub(r"\D", "", number or "")
    return digits[-8:]


def person_duplicates(
    *,
    first_name: str,
    last_name: str,
    email: str = "",
    phone: str = "",
    birth_date: date | None = None,
    exclude_pk: int | None = None,
    queryset: QuerySet | None = None,
) -> list[Person]:
    """Likely duplicates of a person about to be saved (one query)."""
    people = (queryset if queryset is not None else Person.objects.all()).filter(
        first_name__iexact=first_name.strip(),
        last_name__iexact=last_name.strip(),
        merged_into__isnull=True,
    )
    if exclude_pk:
        people = people.exclude(pk=exclude_pk)
    email = (email or "").strip().lower()
    phone = phone_key(phone)
    found = []
    for candidate in people[:50]:
        emails = {candidate.email.lower(), candidate.email_secondary.lower()} - {""}
        phones = {phone_key(candidate.phone), phone_key(candidate.phone_mobile)} - {""}
        if (
            (email and email in emails)
            or (phone and phone in phones)
            or (birth_date and candidate.birth_date == birth_date)
        ):
            found.append(candidate)
    return found


def organisation_duplicates(
    *,
    name: str,
    organisation_number: str = "",
    country: str = "NO",
    email: str = "",
    phone: str = "",
    exclude_pk: int | None = None,
    queryset: QuerySet | None = None,
) -> list[Organisation]:
    """Likely duplicates of an organisation about to be saved."""
    organisations = (
        queryset if queryset is not None else Organisation.objects.all()
    ).filter(merged_into__isnull=True)
    if exclude_pk:
        organisations = organisations.exclude(pk=exclude_pk)
    try:
        number = clean_organisation_number(organisation_number, country)
    except ValidationError:
        number = (organisation_number or "").strip()
    condition = Q(name__iexact=name.strip())
    if number:
        condition |= Q(organisation_number=number)
    email = (email or "").strip().lower()
    phone = phone_key(phone)
    found = []
    for candidate in organisations.filter(condition)[:50]:
        same_number = number and candidate.organisation_number == number
        emails = {candidate.email.lower(), candidate.billing_email.lower()} - {""}
        same_contact = (email and email in emails) or (
            phone and phone == phone_key(candidate.phone)
        )
        if same_number or same_contact:
            found.append(candidate)
    return found


def _take_values(survivor, duplicate, fields: list[str], allowed: list[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(
            _("These fields cannot be merged: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))}
        )
    for name in fields:
        attname = survivor._meta.get_field(name).attname
        setattr(survivor, attname, getattr(duplicate, attname))


def _check_pair(survivor, duplicate) -> None:
    if survivor.pk == duplicate.pk:
        raise ValidationError(_("A record cannot be merged with itself."))
    if duplicate.merged_into_id or survivor.merged_into_id:
        raise ValidationError(_("One of these records was merged already."))


@transaction.atomic
def person_merge(
    *, survivor: Person, duplicate: Person, take_from_duplicate: list[str] = (), by=None
) -> Person:
    """Merge ``duplicate`` into ``survivor``; see the module docstring."""
    survivor = Person.objects.select_for_update().get(pk=survivor.pk)
    duplicate = Person.objects.select_for_update().get(pk=duplicate.pk)
    _check_pair(survivor, duplicate)
    _take_values(survivor, duplicate, list(take_from_duplicate), PERSON_MERGE_FIELDS)
    reason = _("Merged with %(name)s (#%(pk)s)") % {
        "name": duplicate,
        "pk": duplicate.pk,
    }

    for membership in Membership.objects.filter(person=duplicate):
        membership.person = survivor
        membership._history_user, membership._change_reason = by, reason
        membership.save(update_fields=["person"])
    Membership.objects.filter(recruited_by=duplicate).update(recruited_by=survivor)
    for employment in Employment.objects.filter(person=duplicate):
        employment.person = survivor
        employment._history_user, employment._change_reason = by, reason
        employment.save(update_fields=["person"])
    for seat in CommitteeMembership.objects.filter(person=duplicate):
        seat.person = survivor
        seat._history_user, seat._change_reason = by, reason
        seat.save(update_fields=["person"])
    ContactLogEntry.objects.filter(person=duplicate).update(person=survivor)
    Inquiry.objects.filter(person=duplicate).update(person=survivor)
    _move_change_requests("person", survivor=survivor, duplicate=duplicate, by=by)
    Application.objects.filter(person=duplicate).update(person=survivor)
    Application.objects.filter(recruited_by=duplicate).update(recruited_by=survivor)
    Order.objects.filter(
        customer_type=ContentType.objects.get_for_model(Person),
        customer_id=duplicate.pk,
    ).update(customer_id=survivor.pk)
    for step in _MERGE_STEPS:
        step(survivor=survivor, duplicate=duplicate, by=by)
    survivor.tags.add(*duplicate.tags.all())
    survivor.relation_types.add(*duplicate.relation_types.all())
    moved_user = None
    if survivor.user_id is None and duplicate.user_id is not None:
        moved_user = duplicate.user
        duplicate.user = None
    if duplicate.member_number and not survivor.member_number:
        number, duplicate.member_number = duplicate.member_number, None
    else:
        number = None

    duplicate.merged_into = survivor
    duplicate.archived_at = timezone.now()
    duplicate._history_user, duplicate._change_reason = (
        by,
        _("Merged into %(name)s (#%(pk)s)") % {"name": survivor, "pk": survivor.pk},
    )
    duplicate.save()

    if moved_user is not None:
        survivor.user = moved_user
    if number is not None:
        survivor.member_number = number
    survivor.full_clean(exclude=["member_number"])
    survivor._history_user, survivor._change_reason = by, reason
    survivor.save()

    if survivor.user_id:
        from .services import user_sync_groups

        user_sync_groups(user=survivor.user)
    return survivor


def _move_change_requests(holder: str, *, survivor, duplicate, by) -> None:
    """The duplicate's change requests go to the survivor, decided ones as they are.
    A pending one for a field the survivor has a pending request of its own for is
    withdrawn instead (one request per record and field waits), saying why."""
    Status = ChangeRequest.Status
    waiting = set(
        ChangeRequest.objects.pending()
        .filter(**{holder: survivor})
        .values_list("field", flat=True)
    )
    for change_request in ChangeRequest.objects.filter(**{holder: duplicate}):
        if change_request.status == Status.PENDING and change_request.field in waiting:
            change_request.status = Status.WITHDRAWN
            change_request.decided_by = by
            change_request.decided_at = timezone.now()
            change_request.reason = _(
                "Merged into %(name)s, which already had a request for this field."
            ) % {"name": survivor}
        setattr(change_request, holder, survivor)
        change_request.save()


@transaction.atomic
def organisation_merge(
    *,
    survivor: Organisation,
    duplicate: Organisation,
    take_from_duplicate: list[str] = (),
    by=None,
) -> Organisation:
    """Merge ``duplicate`` into ``survivor``: memberships, employments, branches move."""
    survivor = Organisation.objects.select_for_update().get(pk=survivor.pk)
    duplicate = Organisation.objects.select_for_update().get(pk=duplicate.pk)
    _check_pair(survivor, duplicate)
    _take_values(
        survivor, duplicate, list(take_from_duplicate), ORGANISATION_MERGE_FIELDS
    )
    reason = _("Merged with %(name)s (#%(pk)s)") % {
        "name": duplicate,
        "pk": duplicate.pk,
    }

    for membership in Membership.objects.filter(organisation=duplicate):
        membership.organisation = survivor
        membership._history_user, membership._change_reason = by, reason
        membership.save(update_fields=["organisation"])
    for employment in Employment.objects.filter(organisation=duplicate):
        employment.organisation = survivor
        employment._history_user, employment._change_reason = by, reason
        employment.save(update_fields=["organisation"])
    Organisation.objects.filter(parent=duplicate).exclude(pk=survivor.pk).update(
        parent=survivor
    )
    _move_change_requests("organisation", survivor=survivor, duplicate=duplicate, by=by)
    Application.objects.filter(organisation=duplicate).update(organisation=survivor)
    if survivor.parent_id == duplicate.pk:
        survivor.parent = None
    survivor.tags.add(*duplicate.tags.all())
    survivor.relation_types.add(*duplicate.relation_types.all())

    duplicate.merged_into = survivor
    duplicate.archived_at = timezone.now()
    duplicate._history_user, duplicate._change_reason = (
        by,
        _("Merged into %(name)s (#%(pk)s)") % {"name": survivor, "pk": survivor.pk},
    )
    duplicate.save()

    survivor.full_clean()
    survivor._history_user, survivor._change_reason = by, reason
    survivor.save()
    return survivor
