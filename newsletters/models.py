"""Newsletter lists, subscriptions, and each person's consent per channel.

Nothing here is ever deleted by a member: unsubscribing or withdrawing consent is a
change of state, and simple-history keeps every state with its time and author, so
"when did she agree to e-mail?" is always answerable. The state changes are the
services in ``newsletters.services``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members.models import Person


class Channel(models.TextChoices):
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class NewsletterList(models.Model):
    """A list people subscribe to: "Monthly news", "Chapter Oslo", "Job market"."""

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    channel = models.CharField(
        _("sent by"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    self_service = models.BooleanField(
        _("members may subscribe themselves"),
        default=True,
        help_text=_("Offered in My Account, where members subscribe and unsubscribe."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("newsletter list")
        verbose_name_plural = _("newsletter lists")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Subscription(models.Model):
    """A person on a list. Unsubscribing keeps the row (``is_subscribed`` False)."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    newsletter = models.ForeignKey(
        NewsletterList,
        verbose_name=_("list"),
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    is_subscribed = models.BooleanField(_("subscribed"), default=True)
    changed_at = models.DateTimeField(_("changed"))
    source = models.CharField(
        _("changed through"),
        max_length=50,
        blank=True,
        help_text=_(
            'Where the last change came from: "my-account", "admin", "import".'
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["newsletter", "person"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "newsletter"], name="newsletters_one_subscription"
            )
        ]
        indexes = [models.Index(fields=["newsletter", "is_subscribed"])]

    def __str__(self):
        return f"{self.person} – {self.newsletter}"


class ChannelConsent(models.Model):
    """Whether a person may be reached through a channel. No row: not asked yet."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="channel_consents",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    allowed = models.BooleanField(_("allowed"))
    changed_at = models.DateTimeField(_("changed"))
    source = models.CharField(_("changed through"), max_length=50, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("consent per channel")
        verbose_name_plural = _("consents per channel")
        ordering = ["person", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "channel"], name="newsletters_one_consent_per_channel"
            )
        ]

    def __str__(self):
        return f"{self.person} – {self.get_channel_display()}"
