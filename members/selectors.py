"""Reads of the register, limited to what a staff user may see.

Every list, form, export and search of persons, organisations and memberships goes
through these, so a chapter admin never sees another chapter's records.
"""

from __future__ import annotations

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
    scope = chapter_scope(user)
    persons = Person.objects.all()
    if scope is None:
        return persons
    in_scope = Membership.objects.filter(chapter__in=scope, person__isnull=False)
    return persons.filter(Q(chapter__in=scope) | Q(pk__in=in_scope.values("person")))


def organisations_visible_to(user) -> QuerySet:
    scope = chapter_scope(user)
    organisations = Organisation.objects.all()
    if scope is None:
        return organisations
    in_scope = Membership.objects.filter(chapter__in=scope, organisation__isnull=False)
    return organisations.filter(
        Q(chapter__in=scope) | Q(pk__in=in_scope.values("organisation"))
    )
