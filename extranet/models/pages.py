"""The members' page tree: an index, standard pages, document libraries and a page per
group or committee. Access is Wagtail's page privacy: the index is restricted to the
groups that memberships grant, and every page below it inherits that.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.documents import get_document_model_string
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from home.blocks import BodyBlock

#: What an editor may place inside the members' area.
EXTRANET_CHILDREN = [
    "extranet.ExtranetPage",
    "extranet.DocumentLibraryPage",
    "extranet.GroupPage",
    "extranet.InquiryPage",
]


class ExtranetIndexPage(Page):
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


class ExtranetPage(Page):
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


class DocumentLibraryPage(Page):
    """Files to download: the documents listed here, and every document of a collection."""

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


class GroupPage(Page):
    """A board, committee or working group: a public summary for everyone who may open
    the page, and its meetings, documents and members for the group's own members."""

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
