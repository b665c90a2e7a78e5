"""Public page types and the site-wide settings an editor controls."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    PageChooserPanel,
)
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import BodyBlock, LinkBlock, SocialLinkBlock
from .colours import contrast_ratio

hex_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}$",
    _("Enter a colour as # followed by six hex digits, e.g. #1d4e89."),
)
IMAGE_MODEL = "wagtailimages.Image"
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text


@register_setting(icon="site")
class SiteSettings(BaseSiteSetting):
    """Who the association is and how its site looks: name, logo, colours, contact, footer."""

    name = models.CharField(_("association name"), max_length=120, default="Guildhall")
    tagline = models.CharField(_("tagline"), max_length=200, blank=True)
    logo = models.ForeignKey(
        IMAGE_MODEL,
        verbose_name=_("logo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    primary_colour = models.CharField(
        _("primary colour"),
        max_length=7,
        default="#1d4e89",
        validators=[hex_colour],
        help_text=_("Header, buttons and links. Must be dark enough for white text."),
    )
    accent_colour = models.CharField(
        _("accent colour"),
        max_length=7,
        default="#f2b233",
        validators=[hex_colour],
        help_text=_(
            "Highlights behind dark text. Must be light enough for black text."
        ),
    )
    postal_address = models.TextField(_("postal address"), blank=True)
    visiting_address = models.TextField(_("visiting address"), blank=True)
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    organisation_number = models.CharField(
        _("organisation number"), max_length=40, blank=True
    )
    footer_text = models.TextField(_("footer text"), blank=True)
    footer_links = StreamField(
        [("link", LinkBlock())], verbose_name=_("footer links"), blank=True
    )
    social_links = StreamField(
        [("social", SocialLinkBlock())], verbose_name=_("social links"), blank=True
    )

    panels = [
        MultiFieldPanel(
            [FieldPanel("name"), FieldPanel("tagline"), FieldPanel("logo")],
            heading=_("Identity"),
        ),
        FieldRowPanel(
            [FieldPanel("primary_colour"), FieldPanel("accent_colour")],
            heading=_("Colours"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("postal_address"),
                FieldPanel("visiting_address"),
                FieldRowPanel([FieldPanel("email"), FieldPanel("phone")]),
                FieldPanel("organisation_number"),
            ],
            heading=_("Contact"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("footer_text"),
                FieldPanel("footer_links"),
                FieldPanel("social_links"),
            ],
            heading=_("Footer"),
        ),
    ]

    class Meta:
        verbose_name = _("site settings")

    def clean(self):
        super().clean()
        errors = {}
        # (field, text colour shown on it, message when they are too alike)
        checks = [
            (
                "primary_colour",
                "#ffffff",
                _(
                    "White text on this colour has a contrast of %(ratio)s:1; readable "
                    "text needs at least %(needed)s:1. Choose a darker colour."
                ),
            ),
            (
                "accent_colour",
                "#111111",
                _(
                    "Dark text on this colour has a contrast of %(ratio)s:1; readable "
                    "text needs at least %(needed)s:1. Choose a lighter colour."
                ),
            ),
        ]
        for field, text_colour, message in checks:
            colour = getattr(self, field)
            if hex_ok(colour) and contrast_ratio(colour, text_colour) < MIN_CONTRAST:
                errors[field] = message % _ratio_params(colour, text_colour)
        if errors:
            raise ValidationError(errors)


def _ratio_params(first: str, second: str) -> dict[str, str]:
    """The ratio rounded down (4.48:1 is not shown as the 4.5:1 it falls short of),
    with the required one, both formatted for the active language."""
    shown = math.floor(contrast_ratio(first, second) * 10) / 10
    return {
        "ratio": number_format(shown, decimal_pos=1),
        "needed": number_format(MIN_CONTRAST, decimal_pos=1),
    }


def hex_ok(value: str) -> bool:
    try:
        hex_colour(value)
    except ValidationError:
        return False
    return True


class HomePage(Page):
    """The front page of the association's site: a welcome, a call to join, latest news."""

    hero_title = models.CharField(_("hero title"), max_length=120, blank=True)
    hero_text = models.TextField(_("hero text"), blank=True)
    hero_image = models.ForeignKey(
        IMAGE_MODEL,
        verbose_name=_("hero image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    hero_cta_label = models.CharField(_("hero button label"), max_length=60, blank=True)
    hero_cta_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("hero button links to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(BodyBlock(), verbose_name=_("body"), blank=True)
    news_heading = models.CharField(
        _("news heading"),
        max_length=80,
        blank=True,
        help_text=_("Leave empty for “Latest news” in the visitor's language."),
    )

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("hero_title"),
                FieldPanel("hero_text"),
                FieldPanel("hero_image"),
                FieldRowPanel(
                    [FieldPanel("hero_cta_label"), PageChooserPanel("hero_cta_page")]
                ),
            ],
            heading=_("Hero"),
        ),
        FieldPanel("body"),
        FieldPanel("news_heading"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("hero_text"),
        index.SearchField("body"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "home.StandardPage",
        "home.NewsIndexPage",
        "home.FormPage",
        "members.JoinPage",
        "extranet.ExtranetIndexPage",
        "extranet.GroupPage",
        "extranet.InquiryPage",
    ]

    class Meta:
        verbose_name = _("home page")

    def latest_news(self, count: int = 3):
        return (
            NewsPage.objects.live()
            .public()
            .descendant_of(self)
            .select_related("image")
            .order_by("-date", "-pk")[:count]
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["latest_news"] = self.latest_news()
        return context


class StandardPage(Page):
    """An ordinary content page: about us, membership benefits, statutes, history."""

    intro = models.TextField(_("introduction"), blank=True)
    body = StreamField(BodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [
        index.SearchField("intro"),
        index.SearchField("body"),
    ]

    parent_page_types = ["home.HomePage", "home.StandardPage"]
    subpage_types = [
        "home.StandardPage",
        "home.FormPage",
        "home.NewsIndexPage",
        "members.JoinPage",
        "extranet.ExtranetIndexPage",
        "extranet.GroupPage",
        "extranet.InquiryPage",
    ]

    class Meta:
        verbose_name = _("standard page")


class NewsIndexPage(Page):
    """Lists news items, newest first, a page at a time."""

    intro = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link"]
    )
    per_page = 10

    content_panels = Page.content_panels + [FieldPanel("intro")]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["home.HomePage", "home.StandardPage"]
    subpage_types = ["home.NewsPage"]

    class Meta:
        verbose_name = _("news index")

    def news_items(self):
        return (
            NewsPage.objects.child_of(self)
            .live()
            .public()
            .select_related("image")
            .order_by("-date", "-pk")
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        paginator = Paginator(self.news_items(), self.per_page)
        context["news_items"] = paginator.get_page(request.GET.get("page"))
        return context


class NewsPage(Page):
    """One news item: dated, with a lead, an optional image and a body."""

    date = models.DateField(_("date"), default=timezone.localdate)
    intro = models.TextField(
        _("lead"), blank=True, help_text=_("One or two sentences shown in lists.")
    )
    image = models.ForeignKey(
        IMAGE_MODEL,
        verbose_name=_("image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(BodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("date"),
        FieldPanel("intro"),
        FieldPanel("image"),
        FieldPanel("body"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("intro"),
        index.SearchField("body"),
        index.FilterField("date"),
    ]

    parent_page_types = ["home.NewsIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("news page")
        ordering = ["-date"]


class FormField(AbstractFormField):
    page = ParentalKey("FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    """A contact or inquiry form built by an editor; submissions are kept and e-mailed."""

    intro = RichTextField(
        _("introduction"), blank=True, features=["bold", "italic", "link"]
    )
    thank_you_text = RichTextField(
        _("thank-you text"), blank=True, features=["bold", "italic", "link"]
    )

    content_panels = AbstractEmailForm.content_panels + [
        FormSubmissionsPanel(),
        FieldPanel("intro"),
        InlinePanel("form_fields", label=_("Form fields")),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            heading=_("E-mail to staff"),
        ),
    ]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["home.HomePage", "home.StandardPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("form page")

    def send_mail(self, form):
        """Send the submission to staff from a background job once it is saved."""
        from guildhall.tasks import send_email

        addresses = [a.strip() for a in self.to_address.split(",") if a.strip()]
        email_fields = [
            f.clean_name for f in self.get_form_fields() if f.field_type == "email"
        ]
        reply_to = [
            form.cleaned_data[n] for n in email_fields if form.cleaned_data.get(n)
        ][:1]
        kwargs = {
            "subject": self.subject
            or str(_("New submission: %(title)s") % {"title": self.title}),
            "body": self.render_email(form),
            "to": addresses,
            "reply_to": reply_to,
            "from_email": self.from_address or None,
        }
        transaction.on_commit(lambda: send_email.delay(**kwargs))
