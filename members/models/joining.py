"""Joining and renewing: fees per chapter, discount rules, applications, the join
page editors place, and the yearly dues run with one renewal per membership and
period.

Orders and invoices are ``shop``'s; a renewal or an application only points at its
order, and ``members.receivers`` acts when ``shop`` says the order was paid.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.fields import RichTextField
from wagtail.models import Orderable, Page

from .memberships import Membership, MembershipType
from .register import Chapter, Organisation, Person

MONEY = {"max_digits": 12, "decimal_places": 2}


class MembershipPrice(models.Model):
    """A chapter's own fee for a membership type; it applies to the chapters below it
    too, unless one of those has its own. Without one the type's fee applies."""

    type = models.ForeignKey(
        MembershipType,
        verbose_name=_("membership type"),
        on_delete=models.CASCADE,
        related_name="prices",
    )
    chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("chapter"),
        on_delete=models.CASCADE,
        related_name="membership_prices",
    )
    fee = models.DecimalField(
        _("fee"), validators=[MinValueValidator(Decimal("0.00"))], **MONEY
    )

    class Meta:
        verbose_name = _("chapter fee")
        verbose_name_plural = _("chapter fees")
        ordering = ["type", "chapter__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["type", "chapter"],
                name="members_price_one_per_chapter",
                violation_error_message=_(
                    "This chapter already has its own fee for this type."
                ),
            )
        ]

    def __str__(self):
        return f"{self.type} – {self.chapter}: {self.fee}"


class DiscountRule(models.Model):
    """A reduction of a membership type's fee, for those who meet its condition.

    When several rules of a type apply, the one giving the largest reduction is
    used; the fee never goes below zero. It shows as its own line on the order.
    """

    class Condition(models.TextChoices):
        AGE_UNDER = "age_under", _("Younger than N years")
        AGE_FROM = "age_from", _("N years or older")
        FIRST_PERIOD = "first_period", _("First period of a new member")
        JOINS_FROM_MONTH = "joins_from_month", _("Joins in month N or later")
        RECRUITED = "recruited", _("Recruited by a member")

    class AppliesTo(models.TextChoices):
        BOTH = "both", _("Joining and renewal")
        JOIN = "join", _("Joining only")
        RENEWAL = "renewal", _("Renewal only")

    type = models.ForeignKey(
        MembershipType,
        verbose_name=_("membership type"),
        on_delete=models.CASCADE,
        related_name="discount_rules",
    )
    name = models.CharField(
        _("name"),
        max_length=120,
        help_text=_("Shown on the order and invoice, e.g. “Student discount”."),
    )
    condition = models.CharField(
        _("condition"), max_length=20, choices=Condition.choices
    )
    value = models.PositiveSmallIntegerField(
        _("number (N)"),
        null=True,
        blank=True,
        help_text=_("The age or month number the condition names."),
    )
    applies_to = models.CharField(
        _("applies to"),
        max_length=10,
        choices=AppliesTo.choices,
        default=AppliesTo.BOTH,
    )
    percent = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(Decimal("0.01")),
            MaxValueValidator(Decimal("100")),
        ],
    )
    amount = models.DecimalField(
        _("amount off"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        **MONEY,
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("discount rule")
        verbose_name_plural = _("discount rules")
        ordering = ["type", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(percent__isnull=False) & Q(amount__isnull=True))
                | (Q(percent__isnull=True) & Q(amount__isnull=False)),
                name="members_discount_percent_or_amount",
                violation_error_message=_(
                    "Give either a percentage or an amount off, not both."
                ),
            )
        ]

    def __str__(self):
        return self.name

    def clean(self):
        needs_value = {
            self.Condition.AGE_UNDER,
            self.Condition.AGE_FROM,
            self.Condition.JOINS_FROM_MONTH,
        }
        if self.condition in needs_value and self.value is None:
            raise ValidationError({"value": _("This condition needs a number.")})
        if self.condition == self.Condition.JOINS_FROM_MONTH and not (
            self.value and 1 <= self.value <= 12
        ):
            raise ValidationError({"value": _("Give a month from 1 to 12.")})


class Application(models.Model):
    """Someone asked to join: what they asked for, and how far it has come.

    The person (and organisation) and an applied membership exist from the moment
    the form is sent, so a second try finds them again instead of making new ones.
    An application that was never paid stays here for staff to see.
    """

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        COMPLETED = "completed", _("Member")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.AWAITING_PAYMENT,
        db_index=True,
    )
    type = models.ForeignKey(
        MembershipType,
        verbose_name=_("membership type"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("chapter"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="applications",
        help_text=_("The applicant, or an organisation's contact person."),
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    membership = models.OneToOneField(
        Membership,
        verbose_name=_("membership"),
        on_delete=models.PROTECT,
        related_name="application",
    )
    order = models.ForeignKey(
        "shop.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recruited_by = models.ForeignKey(
        Person,
        verbose_name=_("recruited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recruited_applications",
    )
    referral_code = models.CharField(_("referral code"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    answers = models.JSONField(
        _("answers"),
        default=dict,
        blank=True,
        help_text=_("What the form asked and what was answered, consents included."),
    )
    gift_amount = models.DecimalField(_("extra gift"), default=Decimal("0.00"), **MONEY)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        holder = self.organisation or self.person
        return f"{holder} – {self.type}"

    @property
    def applicant_name(self) -> str:
        return str(self.organisation or self.person)


class DuesRun(models.Model):
    """One renewal run: every active membership whose period ends on or before
    ``ends_by`` and has no renewal for its next period gets an order and an invoice.
    Running it again finds nothing new (one renewal per membership and period)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    ends_by = models.DateField(
        _("periods ending by"),
        help_text=_(
            "Renew every membership whose current period ends on or before this date."
        ),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(_("memberships due"), default=0)
    done = models.PositiveIntegerField(_("handled"), default=0)
    invoiced = models.PositiveIntegerField(_("invoiced"), default=0)
    by_email = models.PositiveIntegerField(_("by e-mail"), default=0)
    by_post = models.PositiveIntegerField(_("by post"), default=0)
    free = models.PositiveIntegerField(_("renewed without a fee"), default=0)
    amount = models.DecimalField(_("amount invoiced"), default=Decimal("0"), **MONEY)
    message = models.TextField(_("message"), blank=True)
    scheduled = models.BooleanField(_("started by the schedule"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("dues run")
        verbose_name_plural = _("dues runs")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return _("Dues run for periods ending by %(date)s") % {"date": self.ends_by}

    @property
    def percent_done(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.FINISHED else 0
        return min(100, round(100 * self.done / self.total))


class Renewal(models.Model):
    """A membership's next period and the order that pays for it; one per period."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    membership = models.ForeignKey(
        Membership,
        verbose_name=_("membership"),
        on_delete=models.CASCADE,
        related_name="renewals",
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    order = models.ForeignKey(
        "shop.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    run = models.ForeignKey(
        DuesRun,
        verbose_name=_("dues run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="renewals",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        ordering = ["-period_start", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "period_start"],
                name="members_renewal_once_per_period",
            )
        ]
        indexes = [models.Index(fields=["order"], name="members_renewal_order")]

    def __str__(self):
        return f"{self.membership}: {self.period_start} – {self.period_end}"


class JoinPage(Page):
    """The page where visitors join: editors place it anywhere and choose what the
    form asks beyond the name and e-mail, and which consents it needs."""

    intro = RichTextField(_("introduction"), blank=True)
    types = ParentalManyToManyField(
        MembershipType,
        verbose_name=_("membership types offered"),
        blank=True,
        help_text=_("Leave empty to offer every type open for applications."),
    )
    default_chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("chapter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Joining through this page joins this chapter; leave empty to let the "
            "visitor choose."
        ),
    )
    ask_phone = models.BooleanField(_("ask for a phone number"), default=True)
    ask_address = models.BooleanField(_("ask for the postal address"), default=True)
    ask_birth_date = models.BooleanField(
        _("ask for the birth date"),
        default=False,
        help_text=_("Always asked when a type has an age discount."),
    )
    ask_gift = models.BooleanField(
        _("offer to give more than the fee"),
        default=True,
        help_text=_("Only for types that allow paying more than the fee."),
    )
    thank_you = RichTextField(
        _("thank-you text"),
        blank=True,
        help_text=_("Shown when the application has been sent."),
    )
    members_page = models.ForeignKey(
        Page,
        verbose_name=_("page for new members"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Where a new member lands, signed in, after paying."),
    )

    content_panels = Page.content_panels + [
        FieldPanel("intro"),
        MultiFieldPanel(
            [
                FieldPanel("types", widget=forms.CheckboxSelectMultiple),
                FieldPanel("default_chapter"),
            ],
            heading=_("What can be joined"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("ask_phone"),
                FieldPanel("ask_address"),
                FieldPanel("ask_birth_date"),
                FieldPanel("ask_gift"),
            ],
            heading=_("What the form asks"),
        ),
        InlinePanel("consents", label=_("Consents")),
        FieldPanel("thank_you"),
        FieldPanel("members_page"),
    ]

    template = "members/join/join_page.html"
    parent_page_types = ["home.HomePage", "home.StandardPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("join page")
        verbose_name_plural = _("join pages")

    def offered_types(self):
        types = MembershipType.objects.filter(is_public=True, is_active=True)
        if self.pk and self.types.exists():
            types = types.filter(pk__in=self.types.values("pk"))
        return types.prefetch_related("discount_rules", "prices").order_by(
            "fee", "name"
        )

    def serve(self, request, *args, **kwargs):
        from ..join_views import join_page_serve

        return join_page_serve(self, request)


class JoinConsent(Orderable):
    """A consent the join form asks for, with its exact text kept on the application."""

    page = ParentalKey(JoinPage, on_delete=models.CASCADE, related_name="consents")
    text = models.CharField(_("text"), max_length=500)
    required = models.BooleanField(_("must be given to join"), default=True)

    panels = [FieldPanel("text"), FieldPanel("required")]

    class Meta(Orderable.Meta):
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self):
        return self.text


def age_on(birth_date: date | None, on: date) -> int | None:
    if birth_date is None:
        return None
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


@register_setting(icon="calendar")
class RenewalSettings(BaseGenericSetting):
    """How the yearly renewal runs by itself, if at all."""

    automatic = models.BooleanField(
        _("run the dues run by itself"),
        default=False,
        help_text=_(
            "Every night, renew the memberships whose period ends within the days "
            "below. Staff can always start a run themselves."
        ),
    )
    days_ahead = models.PositiveSmallIntegerField(
        _("days ahead"),
        default=30,
        validators=[MaxValueValidator(366)],
        help_text=_("How long before a period ends its renewal invoice goes out."),
    )

    panels = [FieldPanel("automatic"), FieldPanel("days_ahead")]

    class Meta:
        verbose_name = _("renewal settings")
