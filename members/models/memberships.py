"""Membership types, memberships and each change of a membership's status."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .register import Chapter, Organisation, Person


class MembershipType(models.Model):
    """What kinds of membership the association offers, at what fee, granting what."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ORGANISATION = "organisation", _("Organisation")
        EMPLOYEE = "employee", _("Employee of a member organisation")
        BRANCH = "branch", _("Branch")

    class Period(models.TextChoices):
        CALENDAR_YEAR = "calendar_year", _("Calendar year")
        ROLLING_YEAR = "rolling_year", _("12 months from the start")
        LIFETIME = "lifetime", _("Lifetime")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    period = models.CharField(_("period"), max_length=20, choices=Period.choices)
    fee = models.DecimalField(
        _("fee"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="NOK")
    grace_days = models.PositiveIntegerField(
        _("grace period (days)"),
        default=30,
        help_text=_(
            "How long access lasts after the membership ends, while renewal is paid."
        ),
    )
    groups = models.ManyToManyField(
        Group,
        verbose_name=_("groups granted"),
        blank=True,
        help_text=_("Site groups an active membership of this type gives its holder."),
    )
    requires_approval = models.BooleanField(
        _("applications need approval"), default=False
    )
    is_public = models.BooleanField(_("open for applications"), default=True)
    description = models.TextField(
        _("description"),
        blank=True,
        help_text=_("What the membership gives; shown on the join page."),
    )
    allows_open_amount = models.BooleanField(
        _("members may pay more than the fee"),
        default=False,
        help_text=_(
            "The invoice accepts any amount from the fee up; what is paid beyond "
            "it is recorded and thanked for as a gift."
        ),
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("membership type")
        verbose_name_plural = _("membership types")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def period_end(self, start: date) -> date | None:
        """The last day of a period that begins on ``start``; None for lifetime."""
        if self.period == self.Period.CALENDAR_YEAR:
            return date(start.year, 12, 31)
        if self.period == self.Period.ROLLING_YEAR:
            try:
                return start.replace(year=start.year + 1) - timedelta(days=1)
            except ValueError:  # 29 February
                return start.replace(year=start.year + 1, day=28)
        return None


class MembershipQuerySet(models.QuerySet):
    def granting_access(self, on: date | None = None):
        """Active memberships that have begun, counting each type's grace period after
        the end (not for those their holder chose to end). One small query for the distinct grace periods, then one filter."""
        on = on or timezone.localdate()
        within = Q(end__isnull=True) | Q(end__gte=on)
        graces = MembershipType.objects.values_list("grace_days", flat=True).distinct()
        for grace in graces:
            # A membership its holder chose to end gets no grace period.
            within |= Q(
                type__grace_days=grace,
                end__gte=on - timedelta(days=grace),
                cancel_requested_at__isnull=True,
            )
        return self.filter(status=Membership.Status.ACTIVE, start__lte=on).filter(
            within
        )


class Membership(models.Model):
    """One membership of one holder (a person or an organisation) in one chapter."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    class EndReason(models.TextChoices):
        LAPSED = "lapsed", _("Not renewed")
        RESIGNED = "resigned", _("Resigned")
        DECEASED = "deceased", _("Deceased")
        EXPELLED = "expelled", _("Expelled")
        MERGED = "merged", _("Merged into another record")
        EMPLOYMENT_ENDED = "employment_ended", _("Employment ended")
        OTHER = "other", _("Other")

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    type = models.ForeignKey(
        MembershipType,
        verbose_name=_("type"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("chapter"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    start = models.DateField(_("start"), default=timezone.localdate)
    end = models.DateField(_("end"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.APPLIED,
        editable=False,
    )
    end_reason = models.CharField(
        _("reason for ending"),
        max_length=20,
        choices=EndReason.choices,
        blank=True,
        editable=False,
    )
    recruited_by = models.ForeignKey(
        Person,
        verbose_name=_("recruited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recruited_memberships",
    )
    cancel_requested_at = models.DateTimeField(
        _("ends at the end of its period"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the member asked to end it; it is not renewed again."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["-start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False) & Q(organisation__isnull=True))
                | (Q(person__isnull=True) & Q(organisation__isnull=False)),
                name="members_membership_one_holder",
                violation_error_message=_(
                    "A membership belongs to either a person or an organisation."
                ),
            ),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="members_membership_end_after_start",
                violation_error_message=_("The end cannot be before the start."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "end"]),
            # A chapter admin's persons (members.selectors.persons_visible_to): the
            # holders of the memberships in their chapters, read from this index
            # alone rather than from the memberships themselves.
            models.Index(
                fields=["chapter", "person"],
                name="members_mship_chapter_person",
            ),
        ]

    def __str__(self):
        return f"{self.holder} – {self.type}"

    @property
    def holder(self):
        return self.person or self.organisation


class MembershipStatusChange(models.Model):
    """One change of a membership's status: from what, to what, by whom, when, why."""

    membership = models.ForeignKey(
        Membership,
        verbose_name=_("membership"),
        on_delete=models.CASCADE,
        related_name="status_changes",
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=Membership.Status.choices, blank=True
    )
    to_status = models.CharField(
        _("to"), max_length=20, choices=Membership.Status.choices
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("membership status change")
        verbose_name_plural = _("membership status changes")
        ordering = ["changed_at", "pk"]

    def __str__(self):
        return f"{self.membership}: {self.from_status or '–'} → {self.to_status}"
