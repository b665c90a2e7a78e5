"""Self-service edits: the per-field policy and the changes held for approval.

A member edits their own details in My Account. Some fields apply at once (and are
audited by simple-history like any edit); others — a name, a birth date, an
organisation number — are held as a ``ChangeRequest`` until a membership officer
approves it. Which is which is ``SelfServiceSettings``, kept by administrators.
The state changes are the services in ``members.change_requests``.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from .register import Organisation, Person

#: The person fields a member may ever edit themselves, in the order the form shows.
PERSON_SELF_SERVICE_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "email",
    "phone",
    "phone_mobile",
    "postal_street",
    "postal_postcode",
    "postal_city",
    "postal_country",
    "visiting_street",
    "visiting_postcode",
    "visiting_city",
    "preferred_language",
    "invoices_by_post",
)
PERSON_APPROVAL_DEFAULT = ("first_name", "last_name", "birth_date")

#: The organisation fields its contact may ever edit.
ORGANISATION_SELF_SERVICE_FIELDS = (
    "name",
    "organisation_number",
    "email",
    "phone",
    "website",
    "postal_street",
    "postal_postcode",
    "postal_city",
    "postal_country",
    "visiting_street",
    "visiting_postcode",
    "visiting_city",
    "billing_street",
    "billing_postcode",
    "billing_city",
    "billing_email",
    "invoices_by_post",
)
ORGANISATION_APPROVAL_DEFAULT = ("name", "organisation_number")


def default_person_editable() -> list[str]:
    return list(PERSON_SELF_SERVICE_FIELDS)


def default_person_approval() -> list[str]:
    return list(PERSON_APPROVAL_DEFAULT)


def default_organisation_editable() -> list[str]:
    return list(ORGANISATION_SELF_SERVICE_FIELDS)


def default_organisation_approval() -> list[str]:
    return list(ORGANISATION_APPROVAL_DEFAULT)


def _choices(model, names) -> list[tuple[str, str]]:
    return [(name, model._meta.get_field(name).verbose_name) for name in names]


def _checkboxes(model, names, label, help_text):
    return forms.MultipleChoiceField(
        label=label,
        help_text=help_text,
        choices=lambda: _choices(model, names),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class SelfServiceSettingsForm(WagtailAdminModelForm):
    """Ticks per field instead of raw JSON."""

    person_editable = _checkboxes(
        Person,
        PERSON_SELF_SERVICE_FIELDS,
        _("Person fields members may edit"),
        _("Fields not ticked are shown but can only be changed by staff."),
    )
    person_needs_approval = _checkboxes(
        Person,
        PERSON_SELF_SERVICE_FIELDS,
        _("Person fields that need approval"),
        _(
            "A change to these waits in “Change requests” until staff approve it; "
            "the others apply at once."
        ),
    )
    organisation_editable = _checkboxes(
        Organisation,
        ORGANISATION_SELF_SERVICE_FIELDS,
        _("Organisation fields its contact may edit"),
        _("Fields not ticked can only be changed by staff."),
    )
    organisation_needs_approval = _checkboxes(
        Organisation,
        ORGANISATION_SELF_SERVICE_FIELDS,
        _("Organisation fields that need approval"),
        _("A change to these waits until staff approve it."),
    )


@register_setting(icon="user")
class SelfServiceSettings(BaseGenericSetting):
    """Which details members edit themselves, and which of those staff approve first.

    Changes to a name or a birth date are held by default: they identify the member
    and are printed on membership cards and invoices.
    """

    person_editable = models.JSONField(
        _("person fields members may edit"), default=default_person_editable
    )
    person_needs_approval = models.JSONField(
        _("person fields that need approval"), default=default_person_approval
    )
    organisation_editable = models.JSONField(
        _("organisation fields its contact may edit"),
        default=default_organisation_editable,
    )
    organisation_needs_approval = models.JSONField(
        _("organisation fields that need approval"),
        default=default_organisation_approval,
    )

    base_form_class = SelfServiceSettingsForm
    panels = [
        MultiFieldPanel(
            [FieldPanel("person_editable"), FieldPanel("person_needs_approval")],
            heading=_("Persons"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("organisation_editable"),
                FieldPanel("organisation_needs_approval"),
            ],
            heading=_("Organisations"),
        ),
    ]

    class Meta:
        verbose_name = _("self-service settings")

    def editable_fields(self, model) -> tuple[str, ...]:
        """The fields a member may edit on ``model``, in the form's order."""
        allowed, chosen = self._lists(model)
        return tuple(name for name in allowed if name in set(chosen[0] or ()))

    def approval_fields(self, model) -> frozenset[str]:
        """Those of ``editable_fields(model)`` held for approval."""
        allowed, chosen = self._lists(model)
        return frozenset(chosen[1] or ()) & frozenset(self.editable_fields(model))

    def _lists(self, model):
        if model is Organisation:
            return ORGANISATION_SELF_SERVICE_FIELDS, (
                self.organisation_editable,
                self.organisation_needs_approval,
            )
        return PERSON_SELF_SERVICE_FIELDS, (
            self.person_editable,
            self.person_needs_approval,
        )


class ChangeRequestQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=ChangeRequest.Status.PENDING)


class ChangeRequest(models.Model):
    """A member's change to one field of their own details, waiting for staff.

    Old and new value are kept as JSON (dates as ISO text), so the request reads
    the same whatever happens to the record meanwhile. At most one request per record
    and field is pending: a newer one replaces it. Status changes only through the
    services in ``members.change_requests``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="change_requests",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="change_requests",
        help_text=_("Set instead of the person for a change to a company profile."),
    )
    field = models.CharField(_("field"), max_length=60)
    old_value = models.JSONField(
        _("old value"), null=True, blank=True, encoder=DjangoJSONEncoder
    )
    new_value = models.JSONField(
        _("new value"), null=True, blank=True, encoder=DjangoJSONEncoder
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(
        _("reason"),
        blank=True,
        help_text=_("Why it was rejected; sent to the member."),
    )

    objects = ChangeRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(person__isnull=False, organisation__isnull=True)
                    | Q(person__isnull=True, organisation__isnull=False)
                ),
                name="change_request_person_or_organisation",
            ),
            models.UniqueConstraint(
                fields=["person", "field"],
                condition=Q(status="pending", person__isnull=False),
                name="change_request_one_pending_per_person_field",
            ),
            models.UniqueConstraint(
                fields=["organisation", "field"],
                condition=Q(status="pending", organisation__isnull=False),
                name="change_request_one_pending_per_organisation_field",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self):
        return f"{self.record} · {self.field_label}"

    @property
    def record(self):
        return self.person if self.person_id else self.organisation

    @property
    def record_model(self):
        return Person if self.person_id else Organisation

    @property
    def field_label(self) -> str:
        try:
            return str(self.record_model._meta.get_field(self.field).verbose_name)
        except Exception:  # a field since removed from the model
            return self.field

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def _display(self, value) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        try:
            field = self.record_model._meta.get_field(self.field)
        except Exception:
            return str(value)
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.DateField):
            try:
                return date_format(field.to_python(value), "DATE_FORMAT")
            except ValidationError:
                return str(value)
        return str(value)

    @property
    def old_display(self) -> str:
        return self._display(self.old_value)

    @property
    def new_display(self) -> str:
        return self._display(self.new_value)
