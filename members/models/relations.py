"""Committees, the contact log and saved selections: the relations work."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .register import Chapter, Organisation, Person


class Committee(models.Model):
    """A board, committee or working group, nationally or in a chapter."""

    class Kind(models.TextChoices):
        BOARD = "board", _("Board")
        COMMITTEE = "committee", _("Committee")
        WORKING_GROUP = "working_group", _("Working group")

    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    chapter = models.ForeignKey(
        Chapter,
        verbose_name=_("chapter"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="committees",
    )
    description = models.TextField(_("description"), blank=True)
    group = models.ForeignKey(
        Group,
        verbose_name=_("site group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Members on this committee with a current term are in this group."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("group or committee")
        verbose_name_plural = _("groups and committees")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        # The group is given and taken by the seats (``services.user_sync_groups``):
        # a staff role's group here would be taken from every staff member without
        # a seat.
        if self.group_id and self.group.permissions.exists():
            raise ValidationError(
                {
                    "group": _(
                        "This group gives rights in the admin. Choose a group of "
                        "its own for the committee: the committee's members are "
                        "added to it and removed from it by their seats."
                    )
                }
            )


class CommitteeMembershipQuerySet(models.QuerySet):
    def current(self, on: date | None = None):
        on = on or timezone.localdate()
        return self.filter(start__lte=on).filter(Q(end__isnull=True) | Q(end__gte=on))


class CommitteeMembership(models.Model):
    """A person's seat on a committee: their position and term."""

    class Position(models.TextChoices):
        CHAIR = "chair", _("Chair")
        DEPUTY_CHAIR = "deputy_chair", _("Deputy chair")
        SECRETARY = "secretary", _("Secretary")
        TREASURER = "treasurer", _("Treasurer")
        MEMBER = "member", _("Member")
        DEPUTY_MEMBER = "deputy_member", _("Deputy member")
        ADVISER = "adviser", _("Adviser")

    committee = models.ForeignKey(
        Committee,
        verbose_name=_("committee"),
        on_delete=models.CASCADE,
        related_name="seats",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="committee_seats",
    )
    position = models.CharField(
        _("position"), max_length=20, choices=Position.choices, default=Position.MEMBER
    )
    start = models.DateField(_("term start"), default=timezone.localdate)
    end = models.DateField(_("term end"), null=True, blank=True)

    objects = CommitteeMembershipQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("committee seat")
        verbose_name_plural = _("committee seats")
        ordering = ["committee", "position", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="members_committee_seat_end_after_start",
                violation_error_message=_("The term cannot end before it starts."),
            )
        ]

    def __str__(self):
        return f"{self.person} – {self.get_position_display()}, {self.committee}"


class ContactLogEntry(models.Model):
    """A call, e-mail, visit or meeting with a person, organisation or committee."""

    class Kind(models.TextChoices):
        CALL = "call", _("Phone call")
        EMAIL = "email", _("E-mail")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        LETTER = "letter", _("Letter")
        OTHER = "other", _("Other")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    subject = models.CharField(_("subject"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contact_log",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contact_log",
    )
    committee = models.ForeignKey(
        Committee,
        verbose_name=_("group or committee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contact_log",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    shared = models.BooleanField(
        _("shared"),
        default=False,
        help_text=_(
            "Show the outcome and the shared action items on the person's or "
            "organisation's My Account, and a committee's meetings to its members."
        ),
    )

    class Meta:
        verbose_name = _("contact log entry")
        verbose_name_plural = _("contact log")
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False)
                | Q(organisation__isnull=False)
                | Q(committee__isnull=False),
                name="members_contact_log_has_subject",
                violation_error_message=_(
                    "Say who the contact was with: a person, an organisation or a committee."
                ),
            )
        ]

    def __str__(self):
        return self.subject


class ActionItem(models.Model):
    """Something to do after a contact: who does it, by when, and whether it is done."""

    entry = models.ForeignKey(
        ContactLogEntry,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="action_items",
    )
    description = models.CharField(_("what"), max_length=255)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    due = models.DateField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    shared = models.BooleanField(
        _("shared"),
        default=False,
        help_text=_(
            "Shown on My Account with the contact, when the contact is shared."
        ),
    )

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["done_at", "due", "pk"]

    def __str__(self):
        return self.description


class Selection(models.Model):
    """A saved set of criteria picking out persons: "new members in the last 6 months".

    The criteria are kept, not the result, so a selection is current whenever it is
    run, and always limited to what the person running it may see. Later it serves as
    the audience of a mailing or newsletter.
    """

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    criteria = models.JSONField(
        _("criteria"),
        default=dict,
        help_text=_(
            "Criteria combined with and, or and not (see the selection builder)."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("selection")
        verbose_name_plural = _("selections")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        from ..selections import compile_criteria

        try:
            compile_criteria(self.criteria)
        except ValidationError as exc:
            raise ValidationError({"criteria": exc.messages}) from exc
