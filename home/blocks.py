"""StreamField blocks editors use to build public pages."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.images.blocks import ImageBlock


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("Heading"), max_length=200)
    level = blocks.ChoiceBlock(
        label=_("Level"),
        choices=[("h2", _("Section heading")), ("h3", _("Sub-heading"))],
        default="h2",
    )

    class Meta:
        icon = "title"
        label = _("Heading")
        template = "home/blocks/heading.html"


class ImageWithCaptionBlock(blocks.StructBlock):
    image = ImageBlock(label=_("Image"))
    caption = blocks.CharBlock(label=_("Caption"), required=False, max_length=255)

    class Meta:
        icon = "image"
        label = _("Image with caption")
        template = "home/blocks/image_with_caption.html"


class PageOrAddressMixin:
    """A link block whose ``page`` or ``url`` must be given; says so on ``page``."""

    missing_link_message = _("Choose a page or enter an address.")

    def clean(self, value):
        value = super().clean(value)
        if not value.get("page") and not value.get("url"):
            raise blocks.StructBlockValidationError(
                block_errors={"page": ValidationError(self.missing_link_message)}
            )
        return value


class CallToActionBlock(PageOrAddressMixin, blocks.StructBlock):
    title = blocks.CharBlock(label=_("Title"), max_length=120)
    text = blocks.TextBlock(label=_("Text"), required=False)
    button_label = blocks.CharBlock(label=_("Button label"), max_length=60)
    page = blocks.PageChooserBlock(label=_("Link to a page"), required=False)
    url = blocks.URLBlock(
        label=_("…or to an address"),
        required=False,
        help_text=_("Used when no page is chosen."),
    )

    missing_link_message = _("Choose a page or enter an address for the button.")

    class Meta:
        icon = "pick"
        label = _("Call to action")
        template = "home/blocks/call_to_action.html"


class QuoteBlock(blocks.StructBlock):
    quote = blocks.TextBlock(label=_("Quote"))
    attribution = blocks.CharBlock(
        label=_("Who said it"), required=False, max_length=200
    )

    class Meta:
        icon = "openquote"
        label = _("Quote")
        template = "home/blocks/quote.html"


class DocumentLinkBlock(blocks.StructBlock):
    document = DocumentChooserBlock(label=_("Document"))
    label = blocks.CharBlock(
        label=_("Link text"),
        required=False,
        max_length=200,
        help_text=_("Leave empty to use the document's title."),
    )

    class Meta:
        icon = "doc-full"
        label = _("Document link")
        template = "home/blocks/document_link.html"


class BodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        label=_("Rich text"),
        icon="pilcrow",
        features=[
            "bold",
            "italic",
            "link",
            "document-link",
            "ol",
            "ul",
            "h2",
            "h3",
            "hr",
        ],
        template="home/blocks/paragraph.html",
    )
    image = ImageWithCaptionBlock()
    call_to_action = CallToActionBlock()
    quote = QuoteBlock()
    document = DocumentLinkBlock()


class LinkBlock(PageOrAddressMixin, blocks.StructBlock):
    label = blocks.CharBlock(label=_("Label"), max_length=80)
    page = blocks.PageChooserBlock(label=_("Page"), required=False)
    url = blocks.URLBlock(label=_("…or address"), required=False)

    class Meta:
        icon = "link"
        label = _("Link")


SOCIAL_NETWORKS = [
    ("facebook", "Facebook"),
    ("instagram", "Instagram"),
    ("linkedin", "LinkedIn"),
    ("youtube", "YouTube"),
    ("mastodon", "Mastodon"),
    ("bluesky", "Bluesky"),
    ("x", "X"),
    ("tiktok", "TikTok"),
]


class SocialLinkValue(blocks.StructValue):
    def network_label(self) -> str:
        return dict(SOCIAL_NETWORKS).get(self.get("network"), self.get("network"))


class SocialLinkBlock(blocks.StructBlock):
    network = blocks.ChoiceBlock(label=_("Network"), choices=SOCIAL_NETWORKS)
    url = blocks.URLBlock(label=_("Address"))

    class Meta:
        icon = "site"
        label = _("Social link")
        value_class = SocialLinkValue
