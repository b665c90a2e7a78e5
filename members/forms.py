"""Forms of the register's back office.

Every choice of a chapter, person or organisation offered to a staff user is limited to
what that user may see (``members.selectors``), so a chapter admin cannot put a record
into, or link it to, another chapter's records.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from .duplicates import organisation_duplicates, person_duplicates
from .extra_fields import PREFIX as EXTRA_PREFIX
from .extra_fields import extra_form_fields, extra_initial, extra_merge
from .models import (
    Chapter,
    Employment,
    ExtraField,
    Membership,
    Organisation,
    Person,
)
from .selectors import chapter_scope, organisations_visible_to, persons_visible_to


def _scoped_querysets(user) -> dict:
    scope = chapter_scope(user)
    return {
        "chapter": Chapter.objects.all() if scope is None else scope,
        "person": persons_visible_to(user),
        "organisation": organisations_visible_to(user),
    }


class ScopedAdminModelForm(WagtailAdminModelForm):
    """Limits chapter, person and organisation choices to the user's chapters.

    ``scoped_fields`` maps a form field to the kind of record it chooses. A user limited
    to some chapters must choose a home chapter, or the record would vanish from
    their own lists once saved.
    """

    scoped_fields: dict[str, str] = {}
    chapter_field = "chapter"

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        if for_user is None:
            return
        querysets = _scoped_querysets(for_user)
        for field_name, kind in self.scoped_fields.items():
            field = self.fields.get(field_name)
            if field is None:
                continue
            queryset = querysets[kind]
            if kind != "chapter":
                current = getattr(self.instance, f"{field_name}_id", None)
                queryset = queryset.filter(
                    Q(archived_at__isnull=True) | Q(pk=current or 0)
                )
            field.queryset = queryset
        chapter = self.fields.get(self.chapter_field)
        if chapter is not None and chapter_scope(for_user) is not None:
            chapter.required = True


class ExtraFieldsFormMixin:
    """Adds the staff-defined extra fields of ``extra_entity`` to a model form of a
    person or organisation (named ``extra__<key>``, validated like any other field)
    and keeps their values in the record's ``extra`` when it is saved. The full
    record forms and the quick-entry forms share it."""

    extra_entity = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(extra_form_fields(self.extra_entity))
        if self.instance.pk:
            stored = extra_initial(self.extra_entity, self.instance.extra or {})
            for name, value in stored.items():
                self.initial.setdefault(name, value)

    @property
    def extra_field_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith(EXTRA_PREFIX)]

    def save(self, commit=True):
        self.instance.extra = extra_merge(self.instance.extra or {}, self.cleaned_data)
        return super().save(commit=commit)


class RegisterEntryForm(ExtraFieldsFormMixin, ScopedAdminModelForm):
    """A person's or organisation's form: the staff-defined extra fields (shown on
    their own tab, see ``admin_audit.ExtraFieldsPanel``) and, when creating, a
    warning about likely duplicates that must be confirmed with "Create anyway".

    ``duplicates`` holds the likely duplicates the user may see; ``hidden_duplicates``
    counts those in chapters outside the user's scope (not shown, only counted).
    """

    create_anyway = forms.BooleanField(
        label=_("Create anyway"),
        required=False,
        help_text=_("Tick this if the record is not one of the likely duplicates."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.for_user = kwargs.get("for_user")
        self.duplicates = []
        self.hidden_duplicates = 0
        if self.instance.pk:
            del self.fields["create_anyway"]

    def find_duplicates(self, cleaned) -> list:  # pragma: no cover - overridden
        raise NotImplementedError

    def visible_queryset(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk or cleaned.get("create_anyway") or self.errors:
            return cleaned
        found = self.find_duplicates(cleaned)
        if not found:
            return cleaned
        if self.for_user is not None:
            visible = set(
                self.visible_queryset()
                .filter(pk__in=[record.pk for record in found])
                .values_list("pk", flat=True)
            )
        else:
            visible = {record.pk for record in found}
        self.duplicates = [record for record in found if record.pk in visible]
        self.hidden_duplicates = len(found) - len(self.duplicates)
        self.add_error(
            "create_anyway",
            _(
                "This looks like a record already in the register. Open it instead, "
                "or tick “Create anyway” if it is someone or something else."
            ),
        )
        return cleaned


class PersonForm(RegisterEntryForm):
    scoped_fields = {"chapter": "chapter"}
    extra_entity = ExtraField.Entity.PERSON

    def visible_queryset(self):
        return persons_visible_to(self.for_user)

    def find_duplicates(self, cleaned):
        if not (cleaned.get("first_name") and cleaned.get("last_name")):
            return []
        return person_duplicates(
            first_name=cleaned["first_name"],
            last_name=cleaned["last_name"],
            email=cleaned.get("email") or "",
            phone=cleaned.get("phone") or cleaned.get("phone_mobile") or "",
            birth_date=cleaned.get("birth_date"),
        )


class OrganisationForm(RegisterEntryForm):
    scoped_fields = {"chapter": "chapter", "parent": "organisation"}
    extra_entity = ExtraField.Entity.ORGANISATION

    def visible_queryset(self):
        return organisations_visible_to(self.for_user)

    def find_duplicates(self, cleaned):
        if not cleaned.get("name"):
            return []
        return organisation_duplicates(
            name=cleaned["name"],
            organisation_number=cleaned.get("organisation_number") or "",
            country=cleaned.get("country") or "NO",
            email=cleaned.get("email") or "",
            phone=cleaned.get("phone") or "",
        )


class EmploymentForm(ScopedAdminModelForm):
    scoped_fields = {"person": "person", "organisation": "organisation"}


class MembershipForm(ScopedAdminModelForm):
    scoped_fields = {
        "chapter": "chapter",
        "person": "person",
        "organisation": "organisation",
        "recruited_by": "person",
    }

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("person")) == bool(cleaned.get("organisation")):
            raise forms.ValidationError(
                _("Choose either a person or an organisation as the holder.")
            )
        return cleaned


class MembershipEndForm(forms.Form):
    """Why and when a membership ends; the service records it in the history."""

    reason = forms.ChoiceField(
        label=_("Reason for ending"),
        choices=[
            choice
            for choice in Membership.EndReason.choices
            if choice[0] != Membership.EndReason.MERGED
        ],
    )
    end = forms.DateField(
        label=_("End date"),
        required=False,
        help_text=_("Leave empty to end the membership today."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class MembershipActivateForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


# --- Quick entry: organisation + person + employment in one go ------------------------


class QuickEntryOrganisationForm(ExtraFieldsFormMixin, forms.ModelForm):
    """The organisation's main fields and its extra fields, as the full form has."""

    extra_entity = ExtraField.Entity.ORGANISATION

    class Meta:
        model = Organisation
        fields = ["name", "organisation_number", "country", "email", "phone"]


class QuickEntryPersonForm(ExtraFieldsFormMixin, forms.ModelForm):
    """The person's main fields and their extra fields, as the full form has."""

    extra_entity = ExtraField.Entity.PERSON

    class Meta:
        model = Person
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "birth_date",
            "preferred_language",
        ]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}


class QuickEntryEmploymentForm(forms.ModelForm):
    class Meta:
        model = Employment
        fields = ["function_title", "function_classification", "start"]
        widgets = {"start": forms.DateInput(attrs={"type": "date"})}


class QuickEntryControlForm(forms.Form):
    """The chapter for both new records, and the answers to the duplicate warnings."""

    chapter = forms.ModelChoiceField(
        label=_("Home chapter"), queryset=Chapter.objects.none(), required=False
    )
    existing_organisation = forms.TypedChoiceField(
        label=_("Organisation"),
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
        help_text=_(
            "Use an organisation already in the register, or create a new one."
        ),
    )
    create_person_anyway = forms.BooleanField(
        label=_("Create the person anyway"),
        required=False,
        help_text=_("Tick this if the person is not one of the likely duplicates."),
    )
    create_organisation_anyway = forms.BooleanField(
        label=_("Create the organisation anyway"), required=False
    )

    def __init__(self, *args, for_user=None, organisation_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        scope = chapter_scope(for_user) if for_user is not None else None
        chapter = self.fields["chapter"]
        chapter.queryset = Chapter.objects.all() if scope is None else scope
        chapter.required = scope is not None
        self.set_organisation_choices(organisation_choices)

    def set_organisation_choices(self, organisations) -> None:
        self.fields["existing_organisation"].choices = [
            ("", _("Create a new organisation")),
            *[(org.pk, str(org)) for org in organisations],
        ]
