"""The members' page tree: an index, standard pages, document libraries and a page per
group or committee. Access is Wagtail's page privacy: the index is restricted to the
groups that memberships grant, and every page below it inherits that.

The rules (who may open what, the safety net for a members' page left without a
restriction, what the group page shows to whom) live in ``extranet.page_access``;
the pages only ask it for their context and their downloads.

Files are downloaded through a route on the library or group page
(``<page>/documents/<id>/``), so the page's privacy guards them, and only documents
the page lists can be fetched there. Direct ``/documents/<id>/<name>`` addresses are
not covered by page privacy: put members' files in a collection with collection
privacy for the member groups (a group's files in a collection of their own, so no
library listing a collection shows them).
"""

from __future__ import annotations

from django.db import models
from django.http import Http404
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.documents import get_document_model_string
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from extranet import page_access
from home.blocks import BodyBlock
from home.visibility import pages_visible_to

#: What an editor may place inside the members' area.
EXTRANET_CHILDREN = [
    "extranet.ExtranetPage",
    "extranet.DocumentLibraryPage",
    "extranet.GroupPage",
    "extranet.InquiryPage",
]


class MembersOnlyPageMixin:
    """For page types that are never public (see ``extranet.page_access``): they stay
    out of the sitemap even when an editor took their restriction away."""

    def get_sitemap_urls(self, request=None):
        return []


class ExtranetIndexPage(MembersOnlyPageMixin, Page):
    """The start of the members' area."""

    intro = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link"]
    )
    body = StreamField(BodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [
        index.SearchField("intro"),
        index.SearchField("body"),
    ]

    parent_page_types = ["home.HomePage", "home.StandardPage"]
    subpage_types = EXTRANET_CHILDREN

    class Meta:
        verbose_name = _("members' area")

    def get_context(self, request, *args, **kwargs):
        """The child pages the visitor may open (a group page shows its summary)."""
        context = super().get_context(request, *args, **kwargs)
        context["children"] = pages_visible_to(
            request, self.get_children().live()
        ).specific()
        return context


class ExtranetPage(MembersOnlyPageMixin, Page):
    """An ordinary page for members only: guidelines, minutes, benefits."""

    intro = models.TextField(_("introduction"), blank=True)
    body = StreamField(BodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [
        index.SearchField("intro"),
        index.SearchField("body"),
    ]

    parent_page_types = ["extranet.ExtranetIndexPage", "extranet.ExtranetPage"]
    subpage_types = EXTRANET_CHILDREN

    class Meta:
        verbose_name = _("members' page")


class DocumentLibraryPage(MembersOnlyPageMixin, RoutablePageMixin, Page):
    """Files to download: the documents listed here, and every document of a collection.

    Each file is downloaded through ``documents/<id>/`` on this page, so the page's
    privacy guards it; an id the page does not list is a 404. Direct
    ``/documents/`` addresses are guarded only by collection privacy: keep the files
    in a collection that is private to the member groups.
    """

    intro = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link"]
    )
    collection = models.ForeignKey(
        "wagtailcore.Collection",
        verbose_name=_("collection"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Also list every document in this collection, newest first."),
    )

    content_panels = Page.content_panels + [
        FieldPanel("intro"),
        InlinePanel("documents", label=_("Documents")),
        FieldPanel("collection"),
    ]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = [
        "extranet.ExtranetIndexPage",
        "extranet.ExtranetPage",
        "extranet.GroupPage",
    ]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("document library")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["library"] = page_access.library_documents(self, request)
        return context

    @path("documents/<int:document_id>/", name="document")
    def download(self, request, document_id: int):
        """A listed document, after Wagtail checked the page's privacy."""
        document = page_access.library_document(self, document_id)
        return page_access.document_response(request, document)


class DocumentLibraryItem(Orderable):
    page = ParentalKey(
        DocumentLibraryPage, on_delete=models.CASCADE, related_name="documents"
    )
    document = models.ForeignKey(
        get_document_model_string(),
        verbose_name=_("document"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=255, blank=True)

    panels = [FieldPanel("document"), FieldPanel("description")]

    class Meta(Orderable.Meta):
        verbose_name = _("document")
        verbose_name_plural = _("documents")


class GroupPage(RoutablePageMixin, Page):
    """A board, committee or working group: a public summary for everyone who may open
    the page, and its meetings, documents and members for the group's own members.

    The group's members are the current seat holders of ``committee``, the users in
    its site group, and staff with admin access. Everyone else sees the title and the
    summary. The page answers differently per visitor, so it is never cached, and its
    documents are downloaded through ``documents/<id>/`` on the page, which checks
    membership of the group again (a 404 for anyone else).
    """

    committee = models.ForeignKey(
        "members.Committee",
        verbose_name=_("group or committee"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    summary = models.TextField(
        _("public summary"),
        blank=True,
        help_text=_("What everyone who can open the page sees."),
    )
    body = StreamField(
        BodyBlock(),
        verbose_name=_("for the group's members"),
        blank=True,
        help_text=_("Seen only by the group's own members."),
    )
    show_members = models.BooleanField(
        _("list the members"),
        default=True,
        help_text=_("Show the group's current members and positions to its members."),
    )
    show_meetings = models.BooleanField(
        _("list the meetings"),
        default=True,
        help_text=_(
            "Show the group's meetings from the contact log that staff marked as "
            "shared, with their outcomes, to its members."
        ),
    )

    content_panels = Page.content_panels + [
        FieldPanel("committee"),
        FieldPanel("summary"),
        FieldPanel("body"),
        InlinePanel("documents", label=_("Documents for the group's members")),
        MultiFieldPanel(
            [FieldPanel("show_members"), FieldPanel("show_meetings")],
            heading=_("Shown to the group's members"),
        ),
    ]
    search_fields = Page.search_fields + [index.SearchField("summary")]

    parent_page_types = [
        "extranet.ExtranetIndexPage",
        "extranet.ExtranetPage",
        "home.HomePage",
        "home.StandardPage",
    ]
    subpage_types = ["extranet.ExtranetPage", "extranet.DocumentLibraryPage"]

    class Meta:
        verbose_name = _("group or committee page")

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        committee = self.committee
        member = page_access.is_group_member(request.user, committee)
        context.update(
            committee=committee,
            is_group_member=member,
            group_documents=(
                page_access.group_documents(self, request) if member else []
            ),
            seats=(
                page_access.group_seats(committee)
                if member and self.show_members
                else []
            ),
            meetings=(
                page_access.group_meetings(committee)
                if member and self.show_meetings
                else []
            ),
            signin_url=page_access.signin_url(request),
        )
        return context

    @path("documents/<int:document_id>/", name="document")
    def download(self, request, document_id: int):
        """A document of the group, for the group's members only."""
        if not page_access.is_group_member(request.user, self.committee):
            raise Http404
        document = page_access.group_document(self, document_id)
        return page_access.document_response(request, document)


class GroupPageDocument(Orderable):
    page = ParentalKey(GroupPage, on_delete=models.CASCADE, related_name="documents")
    document = models.ForeignKey(
        get_document_model_string(),
        verbose_name=_("document"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=255, blank=True)

    panels = [FieldPanel("document"), FieldPanel("description")]

    class Meta(Orderable.Meta):
        verbose_name = _("document")
        verbose_name_plural = _("documents")
