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

from .models import Chapter, Membership
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


class PersonForm(ScopedAdminModelForm):
    scoped_fields = {"chapter": "chapter"}


class OrganisationForm(ScopedAdminModelForm):
    scoped_fields = {"chapter": "chapter", "parent": "organisation"}


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
