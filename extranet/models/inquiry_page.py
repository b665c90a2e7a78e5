"""The form a member sends an inquiry with: its fields are built by an editor with
Wagtail's form builder; what is sent becomes an ``members.Inquiry`` with a thread."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from members.models import Inquiry


class InquiryFormField(AbstractFormField):
    page = ParentalKey(
        "InquiryPage", on_delete=models.CASCADE, related_name="form_fields"
    )


class InquiryPage(AbstractEmailForm):
    """A support request or complaint form for signed-in members."""

    intro = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link"]
    )
    kind = models.CharField(
        _("kind of inquiry"),
        max_length=20,
        choices=Inquiry.Kind.choices,
        default=Inquiry.Kind.QUESTION,
    )
    thank_you_text = RichTextField(
        _("thank-you text"), blank=True, features=["bold", "italic", "link"]
    )

    content_panels = AbstractEmailForm.content_panels + [
        FieldPanel("intro"),
        FieldPanel("kind"),
        InlinePanel("form_fields", label=_("Form fields")),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            heading=_("Notify staff"),
        ),
    ]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = [
        "home.HomePage",
        "home.StandardPage",
        "extranet.ExtranetIndexPage",
        "extranet.ExtranetPage",
    ]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("inquiry form")
