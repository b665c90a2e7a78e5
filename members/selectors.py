"""Reads of the register, limited to what a staff user may see.

Every list, form, export and search of persons, organisations and memberships goes
through these, so a chapter admin never sees another chapter's records.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from .models import Chapter, ChapterAdministrator, Membership, Organisation, Person


def chapter_scope(user) -> QuerySet | None:
    """The chapters the user is limited to, or None when they see the whole register."""
    if user.is_superuser:
        return None
    cached = getattr(user, "_guildhall_chapter_scope", False)
    if cached is not False:
        return cached
    roots = list(
        ChapterAdministrator.objects.filter(user=user).values_list(
            "chapter__path", flat=True
        )
    )
    if not roots:
        scope = None
    else:
        condition = Q()
        for path in roots:
            condition |= Q(path__startswith=path)
        scope = Chapter.objects.filter(condition)
    user._guildhall_chapter_scope = scope
    return scope


def memberships_visible_to(user) -> QuerySet:
    scope = chapter_scope(user)
    memberships = Membership.objects.all()
    if scope is None:
        return memberships
    return memberships.filter(chapter__in=scope)


def persons_visible_to(user) -> QuerySet:
    """Persons at home in the user's chapters or holding a membership in one of them.

    The query keeps the form ``chapter in scope OR id IN (holders of memberships in
    scope)``: PostgreSQL hashes the holders once, read from the index on membership
    (chapter, person) alone, and tests each person against the hash, whether it walks
    the whole register (a list) or only the matches of a search. The alternatives
    were measured at 500,000 persons (bench/README.md) and were slower: with a
    correlated ``EXISTS`` it estimates a per-row subquery, whose cost switches on JIT
    compilation (a second more per count); a ``UNION`` of ids joined back to the
    persons reads each person's row at random.
    """
    scope = chapter_scope(user)
    persons = Person.objects.all()
    if scope is None:
        return persons
    return persons.filter(_in_scope(scope, holder="person"))


def organisations_visible_to(user) -> QuerySet:
    """Organisations at home in the user's chapters or holding a membership there
    (the same form of query as ``persons_visible_to``)."""
    scope = chapter_scope(user)
    organisations = Organisation.objects.all()
    if scope is None:
        return organisations
    return organisations.filter(_in_scope(scope, holder="organisation"))


def _in_scope(scope: QuerySet, *, holder: str) -> Q:
    """Home chapter in ``scope``, or the holder of a membership in ``scope``."""
    holders = Membership.objects.filter(
        chapter__in=scope, **{f"{holder}__isnull": False}
    ).values(holder)
    return Q(chapter__in=scope) | Q(pk__in=holders)


def holder_billing(holder, *, email_fallback: str = "") -> dict:
    """Who an invoice for a person's or organisation's membership goes to: name,
    e-mail, address (an organisation's billing address first), letters or e-mail,
    and language, as ``shop``'s order functions take them."""
    if isinstance(holder, Organisation):
        email = holder.billing_email or holder.email or email_fallback
        street = holder.billing_street or holder.postal_street
        postcode = holder.billing_postcode or holder.postal_postcode
        city = holder.billing_city or holder.postal_city
        language = settings.LANGUAGE_CODE
    else:
        email = holder.email or email_fallback
        street, postcode, city = (
            holder.postal_street,
            holder.postal_postcode,
            holder.postal_city,
        )
        language = holder.preferred_language
    address = "\n".join(
        part for part in (str(holder), street, f"{postcode} {city}".strip()) if part
    )
    return {
        "customer": holder,
        "customer_name": str(holder),
        "customer_email": email,
        "billing_address": address,
        "by_post": holder.invoices_by_post or not email,
        "language": language,
    }
