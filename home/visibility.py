"""Which pages a visitor may open, as a filter on a page queryset.

Wagtail's ``PageQuerySet.public()`` drops every page under a view restriction, so a
signed-in member would never find the members' area in the menu or in search. Menus and
search instead go through :func:`pages_visible_to`, which drops only the pages under a
restriction *this request* does not pass, with the same rules Wagtail applies when it
serves the page (``check_view_restrictions``):

* ``login``: the visitor is signed in;
* ``groups``: the visitor is a superuser or in one of the restriction's groups;
* ``password``: the visitor gave the password in this session
  (``restriction.accept_request(request)``).

Apps that build on ``home`` may also declare page types that must never be public, even
when an editor removed their restriction (the members' area). They register a Wagtail
hook :data:`MEMBERS_ONLY_HOOK` returning those page models; such a page with no
restriction on itself or an ancestor is shown only to visitors who pass
:func:`members_only_fallback_passes` (the same rule their ``before_serve_page`` check
applies). ``home`` learns of them through the hook and never imports those apps.

The verdict is worked out once per request (two or three queries, whatever the number
of pages or restrictions) and kept on the request, so the menu, the breadcrumbs and
search in one response share it. Nothing is cached across requests: the menu is built
per request and so is always right for the visitor who asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from wagtail import hooks
from wagtail.models import PageViewRestriction

#: Wagtail hook name: functions return page models that are never public.
MEMBERS_ONLY_HOOK = "register_members_only_page_types"

_REQUEST_ATTRIBUTE = "_guildhall_page_visibility"


@dataclass(frozen=True)
class _Verdict:
    #: Paths of restricted pages the request does not pass (their subtrees are hidden).
    hidden_paths: tuple[str, ...]
    #: Paths of every restricted page, passed or not.
    restricted_paths: tuple[str, ...]
    #: Content types of members-only page types the visitor may not open unless a
    #: restriction covers them (empty when the visitor passes the fallback).
    unrestricted_hidden_types: tuple[int, ...]


def members_only_page_models() -> list:
    """Page models some app declared never public, through :data:`MEMBERS_ONLY_HOOK`."""
    models = []
    for fn in hooks.get_hooks(MEMBERS_ONLY_HOOK):
        models.extend(fn())
    return models


def members_only_fallback_passes(request) -> bool:
    """Whether the visitor may open a members-only page that carries no restriction.

    Such a page is treated as if it had the restriction the members' area gets when it
    is made: the groups that membership types grant. Superusers pass, as they pass any
    groups restriction; anonymous visitors never do. Kept on the request (one query).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(request, "_guildhall_members_only_fallback", None)
    if cached is None:
        from members.models import MembershipType

        granted = MembershipType.groups.through.objects.values("group_id")
        cached = user.groups.filter(pk__in=granted).exists()
        request._guildhall_members_only_fallback = cached
    return cached


def _passed_group_restrictions(request, restriction_ids: list[int]) -> set[int]:
    user = request.user
    if not restriction_ids or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(restriction_ids)
    through = PageViewRestriction.groups.through
    return set(
        through.objects.filter(
            pageviewrestriction_id__in=restriction_ids,
            group_id__in=user.groups.values("pk"),
        ).values_list("pageviewrestriction_id", flat=True)
    )


def _verdict(request) -> _Verdict:
    cached = getattr(request, _REQUEST_ATTRIBUTE, None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    restrictions = list(
        PageViewRestriction.objects.values_list("pk", "restriction_type", "page__path")
    )
    group_ids = [
        pk for pk, kind, _path in restrictions if kind == PageViewRestriction.GROUPS
    ]
    passed_groups = _passed_group_restrictions(request, group_ids) if user else set()
    hidden = []
    for pk, kind, path in restrictions:
        if kind == PageViewRestriction.LOGIN:
            passes = authenticated
        elif kind == PageViewRestriction.GROUPS:
            passes = pk in passed_groups
        elif kind == PageViewRestriction.PASSWORD:
            # Wagtail's own check: was the password given in this session?
            passes = PageViewRestriction(pk=pk, restriction_type=kind).accept_request(
                request
            )
        else:  # "none" or an unknown kind: treat as not passed, never as open
            passes = kind == PageViewRestriction.NONE
        if not passes:
            hidden.append(path)
    members_only = members_only_page_models()
    unrestricted_hidden: tuple[int, ...] = ()
    if members_only and not members_only_fallback_passes(request):
        unrestricted_hidden = tuple(
            ct.pk
            for ct in ContentType.objects.get_for_models(
                *members_only, for_concrete_models=False
            ).values()
        )
    verdict = _Verdict(
        hidden_paths=tuple(hidden),
        restricted_paths=tuple(path for _pk, _kind, path in restrictions),
        unrestricted_hidden_types=unrestricted_hidden,
    )
    setattr(request, _REQUEST_ATTRIBUTE, verdict)
    return verdict


def _subtrees(paths) -> Q:
    return reduce(or_, (Q(path__startswith=path) for path in paths))


def pages_visible_to(request, queryset):
    """``queryset`` without the pages ``request``'s visitor may not open.

    Drafts are not this function's business: call ``.live()`` as well. The filter is
    made of ``path`` and ``content_type`` conditions only, so it also works on a
    queryset that is searched afterwards.
    """
    verdict = _verdict(request)
    hide = Q()
    if verdict.hidden_paths:
        hide |= _subtrees(verdict.hidden_paths)
    if verdict.unrestricted_hidden_types:
        unprotected = Q(content_type__in=verdict.unrestricted_hidden_types)
        if verdict.restricted_paths:
            unprotected &= ~_subtrees(verdict.restricted_paths)
        hide |= unprotected
    return queryset.exclude(hide) if hide else queryset
