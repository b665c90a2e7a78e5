"""Who may open what in the members' page tree, and what the pages list.

The pages (``extranet.models.pages``) stay thin: they call these functions for their
context and their download routes, and ``extranet.wagtail_hooks`` calls them when a
members' area is made and before a page is served.

The rules:

* The members' area is restricted with Wagtail's page privacy to the groups that
  membership types grant (:func:`restrict_to_membership_groups`, when an editor makes
  one); every page below inherits it, and access then follows the membership.
* An index, members' page or document library that finds no restriction on itself or
  any ancestor is never public (:func:`members_only_refusal`): it is treated as if it
  carried that default restriction, so a visitor who is not signed in is sent to sign
  in, and a signed-in visitor outside those groups too (as Wagtail does for a groups
  restriction). Menus and search apply the same rule (``home.visibility``).
* A group or committee page shows its body, documents, members and meetings only to
  the group's own members and to staff with admin access (:func:`is_group_member`);
  everyone else who can open the page reads its public summary.
* Files are downloaded through a route on the page, so the page's privacy (Wagtail's
  ``before_serve_page`` check) guards them, and only a document the page lists can be
  fetched; any other id is a 404. The document's collection privacy is checked as
  well, so a page never hands out a file more widely than its collection allows.
  Direct ``/documents/<id>/<name>`` addresses are guarded by collection privacy alone:
  put members' files in a collection with privacy for the member groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import Group
from django.db.models import Case, IntegerField, Prefetch, Q, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from wagtail.documents import get_document_model
from wagtail.models import PageViewRestriction

from home.visibility import members_only_fallback_passes
from members.models import (
    ActionItem,
    CommitteeMembership,
    ContactLogEntry,
    MembershipType,
)

Position = CommitteeMembership.Position
#: The order positions are listed in on a group page: the chair first.
POSITION_ORDER = [
    Position.CHAIR,
    Position.DEPUTY_CHAIR,
    Position.SECRETARY,
    Position.TREASURER,
    Position.MEMBER,
    Position.DEPUTY_MEMBER,
    Position.ADVISER,
]


# Privacy of the page tree ------------------------------------------------------------


def membership_groups():
    """The groups that some membership type grants: who the members' area is for."""
    granted = MembershipType.groups.through.objects.values("group_id")
    return Group.objects.filter(pk__in=granted).order_by("name")


def restrict_to_membership_groups(page) -> PageViewRestriction | None:
    """Give ``page`` a groups restriction for the membership groups, unless it has a
    restriction of its own already (an editor's choice is left alone).

    With no membership type granting a group yet the restriction has no groups, so only
    superusers pass it: closed until an editor picks groups, never open by accident.
    """
    if PageViewRestriction.objects.filter(page=page).exists():
        return None
    restriction = PageViewRestriction.objects.create(
        page=page, restriction_type=PageViewRestriction.GROUPS
    )
    restriction.groups.set(membership_groups())
    return restriction


def members_only_refusal(page, request) -> HttpResponse | None:
    """The safety net for members-only page types that carry no restriction.

    ``None`` when the page may be served: it (or an ancestor) has a restriction, which
    Wagtail's own check enforces, or the visitor passes the default rule
    (``home.visibility.members_only_fallback_passes``). Otherwise the visitor is sent
    to sign in, as Wagtail does for a login or groups restriction.
    """
    if page.get_view_restrictions().exists():
        return None
    if members_only_fallback_passes(request):
        return None
    # Wagtail's own redirect (to WAGTAIL_FRONTEND_LOGIN_URL); imported here because
    # this module is loaded with the models, before Wagtail's hooks may be.
    from wagtail.wagtail_hooks import require_wagtail_login

    response = require_wagtail_login(next=request.get_full_path())
    add_never_cache_headers(response)
    return response


def signin_url(request) -> str:
    """Where the members' sign-in page is, coming back to this page afterwards."""
    login_url = resolve_url(settings.WAGTAIL_FRONTEND_LOGIN_URL)
    return f"{login_url}?{urlencode({'next': request.get_full_path()})}"


def is_group_member(user, committee) -> bool:
    """A current seat holder of ``committee`` (or a user in its site group, which
    the seats give: the quick check first), or staff who can open the admin (they
    keep the group's page and its meetings up to date)."""
    if not user.is_authenticated:
        return False
    if user.can_access_admin:
        return True
    if committee.group_id and user.groups.filter(pk=committee.group_id).exists():
        return True
    return (
        CommitteeMembership.objects.current()
        .filter(committee=committee, person__user=user)
        .exists()
    )


# What the pages list -----------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """A document as a page lists it: its own words and where to download it."""

    document: object
    description: str
    url: str

    @property
    def title(self) -> str:
        return self.document.title

    @property
    def file_type(self) -> str:
        return self.document.file_extension.upper()

    @property
    def size(self) -> int | None:
        return self.document.file_size


def _download_url(page, request, document) -> str:
    base = page.get_url(request) or page.url or ""
    return (
        base.rstrip("/") + "/" + page.reverse_subpage("document", args=(document.pk,))
    )


def library_documents(page, request) -> list[Listed]:
    """The documents a library lists: the ones an editor placed on it, in their order,
    then every other document of its collection, newest first. Two queries."""
    listed = []
    seen = set()
    for item in page.documents.select_related("document").order_by("sort_order"):
        seen.add(item.document_id)
        listed.append(
            Listed(
                document=item.document,
                description=item.description,
                url=_download_url(page, request, item.document),
            )
        )
    if page.collection_id:
        in_collection = (
            get_document_model()
            .objects.filter(collection_id=page.collection_id)
            .exclude(pk__in=seen)
            .order_by("-created_at", "-pk")
        )
        listed.extend(
            Listed(
                document=document,
                description="",
                url=_download_url(page, request, document),
            )
            for document in in_collection
        )
    return listed


def library_document(page, document_id: int):
    """The document ``document_id`` if the library lists it (on the page or through its
    collection); a 404 otherwise, so a guessed id reveals nothing."""
    listed = Q(pk__in=page.documents.values("document_id"))
    if page.collection_id:
        listed |= Q(collection_id=page.collection_id)
    document = get_document_model().objects.filter(listed, pk=document_id).first()
    if document is None:
        raise Http404
    return document


def group_documents(page, request) -> list[Listed]:
    return [
        Listed(
            document=item.document,
            description=item.description,
            url=_download_url(page, request, item.document),
        )
        for item in page.documents.select_related("document").order_by("sort_order")
    ]


def group_document(page, document_id: int):
    """A document the group page lists, or a 404."""
    document = (
        get_document_model()
        .objects.filter(pk=document_id, pk__in=page.documents.values("document_id"))
        .first()
    )
    if document is None:
        raise Http404
    return document


def group_seats(committee) -> list[CommitteeMembership]:
    """The group's current members with their positions, the chair first. One query."""
    rank = Case(
        *[When(position=p, then=Value(i)) for i, p in enumerate(POSITION_ORDER)],
        default=Value(len(POSITION_ORDER)),
        output_field=IntegerField(),
    )
    return list(
        CommitteeMembership.objects.current()
        .filter(committee=committee)
        .select_related("person")
        .annotate(position_rank=rank)
        .order_by("position_rank", "person__last_name", "person__first_name", "pk")
    )


def group_meetings(committee) -> list[ContactLogEntry]:
    """The group's meetings that staff shared, newest first, each with its shared
    action items in ``shared_action_items``. Two queries."""
    return list(
        ContactLogEntry.objects.filter(
            committee=committee, kind=ContactLogEntry.Kind.MEETING, shared=True
        )
        .order_by("-occurred_at", "-pk")
        .prefetch_related(
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.filter(shared=True).order_by(
                    "done_at", "due", "pk"
                ),
                to_attr="shared_action_items",
            )
        )
    )


def document_response(request, document) -> HttpResponse:
    """Serve ``document`` the way Wagtail serves documents (its collection privacy,
    the ``document_served`` signal, the configured serve method, safe headers)."""
    from wagtail.documents.views.serve import serve

    response = serve(request, document.pk, document.filename)
    add_never_cache_headers(response)
    return response
