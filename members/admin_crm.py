"""Admin for relations work: committees, contact log, selections, imports, chapters.

One "Relations" menu in the Wagtail admin. As in the register's own back office, every
view reads persons, organisations and memberships through ``members.selectors``: a
chapter admin is offered, shown and exports only records of their chapters.

Who may use these screens follows the register's rights (see
``RelationsPermissionPolicy``): seeing persons lets a user see committees, the contact
log and selections; changing persons lets them record and change them. The chapter
tree is for administrators who see the whole register.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, transaction
from django.db.models import Count, Q
from django.forms import formset_factory, inlineformset_factory
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, FieldRowPanel, ObjectList, Panel
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from .admin_panels import RECORD_TABS_HOOK, RelatedListPanel
from .imports import ImportFileError, import_apply, import_preview
from .models import (
    ActionItem,
    Chapter,
    Committee,
    CommitteeMembership,
    ContactLogEntry,
    Employment,
    ExtraField,
    FunctionClassification,
    Membership,
    MembershipType,
    Organisation,
    Person,
    RelationType,
    Selection,
    Tag,
)
from .selections import CRITERIA, compile_criteria, selection_persons
from .selectors import chapter_scope, organisations_visible_to, persons_visible_to

# --- Scope ---------------------------------------------------------------------------


def chapters_for(user):
    scope = chapter_scope(user)
    return Chapter.objects.all() if scope is None else scope


def committees_visible_to(user):
    """Committees of the user's chapters, and national ones (no chapter)."""
    scope = chapter_scope(user)
    if scope is None:
        return Committee.objects.all()
    return Committee.objects.filter(Q(chapter__isnull=True) | Q(chapter__in=scope))


def committees_editable_by(user):
    """Committees the user may change: those of their chapters (all when unlimited)."""
    scope = chapter_scope(user)
    if scope is None:
        return Committee.objects.all()
    return Committee.objects.filter(chapter__in=scope)


def seats_visible_to(user):
    """Seats whose person and committee the user may both see."""
    seats = CommitteeMembership.objects.all()
    if chapter_scope(user) is None:
        return seats
    return seats.filter(
        person__in=persons_visible_to(user),
        committee__in=committees_visible_to(user),
    )


def contact_log_visible_to(user):
    """Entries about nothing the user may not see: every person, organisation and
    committee the entry names must be visible to them."""
    entries = ContactLogEntry.objects.all()
    if chapter_scope(user) is None:
        return entries
    return entries.filter(
        Q(person__isnull=True) | Q(person__in=persons_visible_to(user)),
        Q(organisation__isnull=True)
        | Q(organisation__in=organisations_visible_to(user)),
        Q(committee__isnull=True) | Q(committee__in=committees_visible_to(user)),
    )


def _current_or_active(queryset, current_pk):
    return queryset.filter(Q(archived_at__isnull=True) | Q(pk=current_pk or 0))


def staff_users():
    return get_user_model().objects.filter(is_active=True, is_staff=True)


# --- Permissions ---------------------------------------------------------------------


class RelationsPermissionPolicy(ModelPermissionPolicy):
    """Relations work follows the register's rights rather than its own permissions:
    who may see persons may see committees, the contact log and selections; who may
    change persons may record and change them. ``delete_allowed`` decides whether
    anything can be deleted (selections can; log entries and committees are kept)."""

    view_perm = "members.view_person"
    change_perm = "members.change_person"

    def __init__(self, model, delete_allowed=False):
        super().__init__(model)
        self.delete_allowed = delete_allowed

    def _perm(self, action):
        if action == "view":
            return self.view_perm
        if action in ("add", "change"):
            return self.change_perm
        if action == "delete" and self.delete_allowed:
            return self.change_perm
        return None

    def user_has_permission(self, user, action):
        perm = self._perm(action)
        if perm is None or not (user.is_authenticated and user.is_active):
            return False
        return user.has_perm(perm)

    def users_with_any_permission(self, actions):
        perms = {self._perm(action) for action in actions} - {None}
        users = get_user_model().objects.filter(is_active=True)
        if not perms:
            return users.none()
        condition = Q(is_superuser=True)
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            condition |= Q(
                user_permissions__content_type__app_label=app_label,
                user_permissions__codename=codename,
            ) | Q(
                groups__permissions__content_type__app_label=app_label,
                groups__permissions__codename=codename,
            )
        return users.filter(condition).distinct()

    def users_with_permission(self, action):
        return self.users_with_any_permission([action])


# Registered before the viewsets below ask for a policy (Wagtail requires this order).
for _model in (Committee, ContactLogEntry):
    register_permission_policy(
        _model, RelationsPermissionPolicy(_model), exact_class=True
    )


def can_view_relations(user) -> bool:
    return user.is_active and user.has_perm("members.view_person")


def can_change_relations(user) -> bool:
    return user.is_active and user.has_perm("members.change_person")


def can_manage_chapters(user) -> bool:
    """Superusers and administrators who see the whole register."""
    return (
        user.is_active
        and user.has_perm("members.change_chapter")
        and chapter_scope(user) is None
    )


IMPORT_KINDS = {
    "person": ("members.add_person", "members.change_person"),
    "organisation": ("members.add_organisation", "members.change_organisation"),
    "membership": ("members.add_membership",),
}


def can_import(user, kind=None) -> bool:
    kinds = [kind] if kind else list(IMPORT_KINDS)
    return user.is_active and any(user.has_perms(IMPORT_KINDS[k]) for k in kinds)


class CheckedViewMixin:
    """Refuses the view (403) unless ``allowed(user)``."""

    allowed = staticmethod(can_view_relations)

    def dispatch(self, request, *args, **kwargs):
        if not type(self).allowed(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class CrmTemplateMixin(WagtailAdminTemplateMixin):
    """Admin page chrome with breadcrumbs: Home › index (``index_crumb``) › this page."""

    index_crumb: tuple[str, str] | None = None

    def get_breadcrumbs_items(self):
        items = list(self.breadcrumbs_items)
        if self.index_crumb:
            url_name, label = self.index_crumb
            items.append({"url": reverse(url_name), "label": label})
        items.append({"url": "", "label": self.get_header_title()})
        return items


class CheckedMenuItem(MenuItem):
    allowed = staticmethod(can_view_relations)

    def is_shown(self, request):
        return type(self).allowed(request.user)


class SimpleViewSet(ViewSet):
    """A viewset of hand-written views with a menu item shown to who may use it."""

    menu_label = ""
    allowed = staticmethod(can_view_relations)

    @property
    def menu_item_class(self):
        return type(
            f"{type(self).__name__}MenuItem",
            (CheckedMenuItem,),
            {"allowed": staticmethod(type(self).allowed)},
        )

    @property
    def menu_url(self):
        return reverse(self.get_url_name("index"))


# --- Committees and their seats ------------------------------------------------------


class EmptyRowMixin:
    """A new row of an inline formset left without its ``key_field`` is an empty row,
    whatever defaults its other fields show."""

    key_field = ""

    def has_changed(self):
        if self.instance.pk is None and not self.data.get(
            self.add_prefix(self.key_field)
        ):
            return False
        return super().has_changed()


class SeatForm(EmptyRowMixin, forms.ModelForm):
    key_field = "person"

    class Meta:
        model = CommitteeMembership
        fields = ["person", "position", "start", "end"]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if for_user is not None:
            self.fields["person"].queryset = _current_or_active(
                persons_visible_to(for_user), self.instance.person_id
            )


class ScopedInlineFormSet(forms.BaseInlineFormSet):
    """An inline formset that shows only the children the user may see and passes
    the user on to each form."""

    def __init__(self, *args, for_user=None, visible=None, **kwargs):
        self.for_user = for_user
        self.visible = visible
        super().__init__(*args, **kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.visible is not None:
            queryset = queryset.filter(pk__in=self.visible.values("pk"))
        return queryset

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["for_user"] = self.for_user
        return kwargs


SeatFormSet = inlineformset_factory(
    Committee,
    CommitteeMembership,
    form=SeatForm,
    formset=ScopedInlineFormSet,
    extra=2,
    can_delete=True,
)


class FormWithInlineMixin:
    """A model form that carries one inline formset, validated and saved with it."""

    formset_class = None
    formset_prefix = ""

    def make_formset(self, *args, **kwargs):
        raise NotImplementedError

    def is_valid(self):
        valid = super().is_valid()
        return self.formset.is_valid() and valid

    def has_changed(self):
        return super().has_changed() or self.formset.has_changed()

    def save(self, commit=True):
        instance = super().save(commit=commit)
        if commit:
            self.formset.instance = instance
            self.save_formset()
        return instance

    def save_formset(self):
        self.formset.save()


class CommitteeForm(FormWithInlineMixin, WagtailAdminModelForm):
    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        self.for_user = for_user
        if for_user is not None:
            if "chapter" in self.fields:
                self.fields["chapter"].queryset = chapters_for(for_user)
                if chapter_scope(for_user) is not None:
                    self.fields["chapter"].required = True
            if "group" in self.fields and not for_user.has_perm("auth.change_group"):
                # Which site group a committee gives is for who manages groups.
                self.fields["group"].disabled = True
        self.formset = SeatFormSet(
            self.data if self.is_bound else None,
            instance=self.instance,
            prefix="seats",
            for_user=for_user,
            visible=seats_visible_to(for_user) if for_user is not None else None,
        )


class InlineFormsetPanel(Panel):
    """Renders the inline formset its form carries (``form.formset``)."""

    def __init__(self, *args, template_name="", **kwargs):
        super().__init__(*args, **kwargs)
        self.template_name = template_name

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["template_name"] = self.template_name
        return kwargs

    class BoundPanel(Panel.BoundPanel):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.template_name = self.panel.template_name

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["formset"] = self.form.formset
            return context


class CommitteeFilterSet(WagtailFilterSet):
    chapter = ModelChoiceFilter(
        label=gettext_lazy("Chapter"),
        queryset=lambda request: chapters_for(request.user),
    )

    class Meta:
        model = Committee
        fields = ["kind", "chapter", "is_active"]


class CommitteeIndexView(generic.IndexView):
    def get_base_queryset(self):
        return (
            committees_visible_to(self.request.user)
            .select_related("chapter")
            .annotate(
                current_seats=Count(
                    "seats",
                    filter=Q(seats__start__lte=timezone.localdate())
                    & (
                        Q(seats__end__isnull=True)
                        | Q(seats__end__gte=timezone.localdate())
                    ),
                )
            )
        )

    def get_edit_url(self, instance):
        editable = getattr(self, "_editable_pks", None)
        if editable is None:
            editable = self._editable_pks = set(
                committees_editable_by(self.request.user).values_list("pk", flat=True)
            )
        if instance.pk in editable:
            return super().get_edit_url(instance)
        return None


class CommitteeEditView(generic.EditView):
    def get_queryset(self):
        return committees_editable_by(self.request.user)


class CommitteeInspectView(generic.InspectView):
    template_name = "members/crm/committee_inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(committees_visible_to(self.request.user), pk=self.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["seats"] = (
            seats_visible_to(self.request.user)
            .filter(committee=self.object)
            .select_related("person")
            .order_by("-start", "pk")
        )
        return context


def _committee_chapter(committee):
    return committee.chapter or _("National")


def _current_seats(committee):
    return committee.current_seats


class SeatAddForm(forms.ModelForm):
    """One seat, from a person's record page: on which committee, as what, when."""

    class Meta:
        model = CommitteeMembership
        fields = ["committee", "person", "position", "start", "end"]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, for_user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = committees_editable_by(for_user).filter(
            is_active=True
        )
        self.fields["person"].queryset = persons_visible_to(for_user).filter(
            archived_at__isnull=True
        )


class SeatAddView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    allowed = staticmethod(can_change_relations)
    index_crumb = ("relations_committees:index", gettext_lazy("Groups and committees"))
    template_name = "members/crm/form.html"
    page_title = gettext_lazy("Add a committee seat")
    header_icon = "group"

    def get_form(self):
        initial = {}
        for name in ("person", "committee"):
            value = self.request.GET.get(name, "")
            if value.isdigit():
                initial[name] = int(value)
        data = self.request.POST if self.request.method == "POST" else None
        return SeatAddForm(data, initial=initial, for_user=self.request.user)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            messages.error(request, _("The seat could not be saved."))
            return self.render_to_response(self.get_context_data(form=form))
        seat = form.save()
        messages.success(
            request,
            _("%(person)s has a seat on %(committee)s.")
            % {"person": seat.person, "committee": seat.committee},
        )
        return redirect("register_persons:edit", seat.person_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["submit_label"] = _("Add seat")
        return context


class CommitteeViewSet(ModelViewSet):
    model = Committee
    name = "relations_committees"
    url_prefix = "relations/committees"
    icon = "group"
    menu_label = gettext_lazy("Groups and committees")
    menu_order = 100
    copy_view_enabled = False
    inspect_view_enabled = True
    add_to_reference_index = False
    search_fields = ["name", "description"]
    search_backend_name = None
    list_display = [
        "name",
        "kind",
        Column("chapter", label=gettext_lazy("Chapter"), accessor=_committee_chapter),
        Column(
            "current_seats",
            label=gettext_lazy("Current seats"),
            accessor=_current_seats,
        ),
        "is_active",
    ]
    filterset_class = CommitteeFilterSet
    ordering = ["name"]
    index_view_class = CommitteeIndexView
    edit_view_class = CommitteeEditView
    inspect_view_class = CommitteeInspectView
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("name"), FieldPanel("kind")]),
            FieldRowPanel([FieldPanel("chapter"), FieldPanel("is_active")]),
            FieldPanel("description"),
            FieldPanel("group"),
            InlineFormsetPanel(
                template_name="members/crm/panels/seats_formset.html",
                heading=gettext_lazy("Seats"),
            ),
        ],
        base_form_class=CommitteeForm,
    )

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("seats/add/", SeatAddView.as_view(), name="add_seat"),
        ]


# --- Contact log ---------------------------------------------------------------------


class ActionItemForm(EmptyRowMixin, forms.ModelForm):
    key_field = "description"
    done = forms.BooleanField(label=gettext_lazy("done"), required=False)

    class Meta:
        model = ActionItem
        fields = ["description", "owner", "due"]
        widgets = {"due": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(
            Q(is_active=True, is_staff=True) | Q(pk=self.instance.owner_id or 0)
        )
        self.fields["done"].initial = self.instance.done_at is not None

    def save(self, commit=True):
        item = super().save(commit=False)
        if self.cleaned_data.get("done"):
            item.done_at = item.done_at or timezone.now()
        else:
            item.done_at = None
        if commit:
            item.save()
        return item


ActionItemFormSet = inlineformset_factory(
    ContactLogEntry,
    ActionItem,
    form=ActionItemForm,
    formset=ScopedInlineFormSet,
    extra=2,
    can_delete=True,
)


class ContactLogForm(FormWithInlineMixin, WagtailAdminModelForm):
    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        self.for_user = for_user
        if for_user is not None:
            instance = self.instance
            if "person" in self.fields:
                self.fields["person"].queryset = _current_or_active(
                    persons_visible_to(for_user), instance.person_id
                )
            if "organisation" in self.fields:
                self.fields["organisation"].queryset = _current_or_active(
                    organisations_visible_to(for_user), instance.organisation_id
                )
            if "committee" in self.fields:
                self.fields["committee"].queryset = committees_visible_to(for_user)
        self.formset = ActionItemFormSet(
            self.data if self.is_bound else None,
            instance=self.instance,
            prefix="actions",
            for_user=for_user,
        )

    def clean(self):
        cleaned = super().clean()
        if not any(
            cleaned.get(name) for name in ("person", "organisation", "committee")
        ):
            raise forms.ValidationError(
                _(
                    "Say who the contact was with: a person, an organisation or a "
                    "committee."
                )
            )
        return cleaned

    def save(self, commit=True):
        if self.instance.pk is None and self.for_user is not None:
            self.instance.recorded_by = self.for_user
        return super().save(commit=commit)


DONE_CHOICES = [
    ("open", gettext_lazy("With open action items")),
    ("done", gettext_lazy("All action items done")),
    ("none", gettext_lazy("Without action items")),
]


class ContactLogFilterSet(WagtailFilterSet):
    owner = ModelChoiceFilter(
        label=gettext_lazy("Action item owner"),
        queryset=lambda request: staff_users(),
        field_name="action_items__owner",
        distinct=True,
    )
    done = ChoiceFilter(
        label=gettext_lazy("Action items"),
        choices=DONE_CHOICES,
        method="filter_done",
    )

    class Meta:
        model = ContactLogEntry
        fields = ["kind", "owner", "done"]

    def filter_done(self, queryset, name, value):
        open_items = ActionItem.objects.filter(done_at__isnull=True)
        if value == "open":
            return queryset.filter(pk__in=open_items.values("entry"))
        if value == "done":
            return (
                queryset.filter(action_items__isnull=False)
                .exclude(pk__in=open_items.values("entry"))
                .distinct()
            )
        if value == "none":
            return queryset.filter(action_items__isnull=True)
        return queryset


class ContactLogIndexView(generic.IndexView):
    def get_base_queryset(self):
        return contact_log_visible_to(self.request.user).select_related(
            "person", "organisation", "committee", "recorded_by"
        )


class ContactLogEditView(generic.EditView):
    def get_queryset(self):
        return contact_log_visible_to(self.request.user)


class ContactLogCreateView(generic.CreateView):
    def get_initial(self):
        initial = super().get_initial()
        for name in ("person", "organisation", "committee"):
            value = self.request.GET.get(name, "")
            if value.isdigit():
                initial[name] = int(value)
        return initial


def _entry_about(entry):
    return ", ".join(
        str(part)
        for part in (entry.person, entry.organisation, entry.committee)
        if part is not None
    )


class ContactLogViewSet(ModelViewSet):
    model = ContactLogEntry
    name = "relations_contact_log"
    url_prefix = "relations/contact-log"
    icon = "mail"
    menu_label = gettext_lazy("Contact log")
    menu_order = 200
    copy_view_enabled = False
    inspect_view_enabled = False
    add_to_reference_index = False
    search_fields = ["subject", "notes", "outcome"]
    search_backend_name = None
    list_display = [
        "subject",
        "kind",
        "occurred_at",
        Column("about", label=gettext_lazy("With"), accessor=_entry_about),
        "recorded_by",
    ]
    filterset_class = ContactLogFilterSet
    ordering = ["-occurred_at", "-pk"]
    index_view_class = ContactLogIndexView
    add_view_class = ContactLogCreateView
    edit_view_class = ContactLogEditView
    edit_handler = ObjectList(
        [
            FieldRowPanel([FieldPanel("kind"), FieldPanel("occurred_at")]),
            FieldPanel("subject"),
            FieldRowPanel(
                [
                    FieldPanel("person"),
                    FieldPanel("organisation"),
                    FieldPanel("committee"),
                ],
                heading=gettext_lazy("With"),
            ),
            FieldPanel("notes"),
            FieldPanel("outcome"),
            InlineFormsetPanel(
                template_name="members/crm/panels/action_items_formset.html",
                heading=gettext_lazy("Action items"),
            ),
        ],
        base_form_class=ContactLogForm,
    )


class MyActionItemsView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    """The open action items the signed-in user owns; each can be marked done."""

    template_name = "members/crm/my_action_items.html"
    page_title = gettext_lazy("My open action items")
    header_icon = "tasks"

    def items(self):
        return (
            ActionItem.objects.filter(owner=self.request.user, done_at__isnull=True)
            .filter(entry__in=contact_log_visible_to(self.request.user))
            .select_related(
                "entry", "entry__person", "entry__organisation", "entry__committee"
            )
            .order_by("due", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        context["items"] = [
            {
                "item": item,
                "overdue": bool(item.due and item.due < today),
                "entry_url": reverse(
                    "relations_contact_log:edit", args=[item.entry_id]
                ),
            }
            for item in self.items()
        ]
        return context

    def post(self, request, *args, **kwargs):
        if not can_change_relations(request.user):
            raise PermissionDenied
        item = get_object_or_404(self.items(), pk=request.POST.get("item") or 0)
        item.done_at = timezone.now()
        item.save(update_fields=["done_at"])
        messages.success(request, _("“%(item)s” is done.") % {"item": item})
        return redirect(request.path)


class MyActionItemsViewSet(SimpleViewSet):
    name = "relations_my_actions"
    url_prefix = "relations/my-action-items"
    icon = "tasks"
    menu_label = gettext_lazy("My action items")
    menu_order = 300

    def get_urlpatterns(self):
        return [path("", MyActionItemsView.as_view(), name="index")]


# --- Record page tabs: contact log and groups ----------------------------------------


class ContactLogPanel(RelatedListPanel):
    """Contacts with this person or organisation, newest first."""

    template_name = "members/crm/panels/contact_log.html"

    def __init__(self, *args, owner_field="person", **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_field = owner_field

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["owner_field"] = self.owner_field
        return kwargs

    def get_rows(self, instance, request):
        entries = (
            contact_log_visible_to(request.user)
            .filter(**{self.owner_field: instance})
            .select_related("recorded_by")
            .annotate(
                open_items=Count(
                    "action_items", filter=Q(action_items__done_at__isnull=True)
                )
            )
            .order_by("-occurred_at", "-pk")[:100]
        )
        return [
            {
                "entry": entry,
                "edit_url": reverse("relations_contact_log:edit", args=[entry.pk]),
            }
            for entry in entries
        ]

    def get_extra_context(self, instance, request):
        context = {}
        if instance and instance.pk:
            context["add_url"] = (
                reverse("relations_contact_log:add")
                + f"?{self.owner_field}={instance.pk}"
            )
        return context


class SeatsPanel(RelatedListPanel):
    """A person's committee seats, or the seats of an organisation's employees."""

    template_name = "members/crm/panels/seats.html"

    def __init__(self, *args, owner_field="person", **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_field = owner_field

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["owner_field"] = self.owner_field
        return kwargs

    def get_rows(self, instance, request):
        seats = seats_visible_to(request.user).select_related("committee", "person")
        if self.owner_field == "person":
            seats = seats.filter(person=instance)
        else:
            staff = Employment.objects.current().filter(organisation=instance)
            seats = seats.filter(person__in=staff.values("person"))
        today = timezone.localdate()
        editable = set(
            committees_editable_by(request.user).values_list("pk", flat=True)
        )
        return [
            {
                "seat": seat,
                "current": seat.start <= today
                and (seat.end is None or seat.end >= today),
                "committee_url": reverse(
                    "relations_committees:edit"
                    if seat.committee_id in editable
                    else "relations_committees:inspect",
                    args=[seat.committee_id],
                ),
            }
            for seat in seats.order_by("-start", "pk")
        ]

    def get_extra_context(self, instance, request):
        context = {"owner_field": self.owner_field}
        if instance and instance.pk and self.owner_field == "person":
            context["add_url"] = (
                reverse("relations_committees:add_seat") + f"?person={instance.pk}"
            )
        return context


def _crm_tabs(model):
    if model is Person:
        field = "person"
    elif model is Organisation:
        field = "organisation"
    else:
        return []
    return [
        ObjectList(
            [ContactLogPanel(owner_field=field)],
            heading=gettext_lazy("Contact log"),
            classname="crm-contact-log-tab",
        ),
        ObjectList(
            [SeatsPanel(owner_field=field)],
            heading=gettext_lazy("Groups"),
            classname="crm-groups-tab",
        ),
    ]


hooks.register(RECORD_TABS_HOOK, _crm_tabs)


# --- Selections ----------------------------------------------------------------------

CRITERION_CHOICES = [
    ("membership", gettext_lazy("Membership (type, status, chapter, dates)")),
    ("chapter", gettext_lazy("Chapter (home chapter or a membership)")),
    ("postcode", gettext_lazy("Postcode range")),
    ("birth_date", gettext_lazy("Birth date or age")),
    ("tag", gettext_lazy("Tag")),
    ("relation_type", gettext_lazy("Relation type")),
    ("extra", gettext_lazy("Extra field")),
    ("function", gettext_lazy("Function at an organisation")),
    ("committee", gettext_lazy("Group or committee seat")),
]
assert {name for name, _label in CRITERION_CHOICES} <= set(CRITERIA)

_DATE = {"widget": forms.DateInput(attrs={"type": "date"})}


def _option_fields(user) -> dict[str, dict[str, forms.Field]]:
    """For each criterion: its options as plain form fields."""
    chapters = chapters_for(user)
    types = MembershipType.objects.all()

    def multi(queryset, label):
        return forms.ModelMultipleChoiceField(
            queryset=queryset,
            label=label,
            required=False,
            widget=forms.SelectMultiple(attrs={"size": 4}),
        )

    def months(label):
        return forms.IntegerField(label=label, required=False, min_value=1)

    def day(label):
        return forms.DateField(label=label, required=False, **_DATE)

    extra_keys = [
        (field.key, field.label)
        for field in ExtraField.objects.filter(
            entity=ExtraField.Entity.PERSON, is_active=True
        )
    ]
    return {
        "membership": {
            "type": multi(types, _("Membership type")),
            "status": forms.MultipleChoiceField(
                label=_("Status"),
                choices=Membership.Status.choices,
                required=False,
                widget=forms.SelectMultiple(attrs={"size": 4}),
            ),
            "chapter": multi(chapters, _("In chapter (or below)")),
            "started_within_months": months(_("Began in the last … months")),
            "started_from": day(_("Began on or after")),
            "started_to": day(_("Began on or before")),
            "ended_within_months": months(_("Ended in the last … months")),
            "ended_from": day(_("Ended on or after")),
            "ended_to": day(_("Ended on or before")),
            "granting_access": forms.BooleanField(
                label=_("Only memberships giving access now"), required=False
            ),
        },
        "chapter": {"chapter": multi(chapters, _("Chapters (and below)"))},
        "postcode": {
            "from": forms.CharField(label=_("From postcode"), required=False),
            "to": forms.CharField(label=_("To postcode"), required=False),
        },
        "birth_date": {
            "from": day(_("Born on or after")),
            "to": day(_("Born on or before")),
            "min_age": forms.IntegerField(
                label=_("At least … years old"), required=False, min_value=0
            ),
            "max_age": forms.IntegerField(
                label=_("At most … years old"), required=False, min_value=0
            ),
        },
        "tag": {"tag": multi(Tag.objects.all(), _("Tags"))},
        "relation_type": {
            "relation_type": multi(RelationType.objects.all(), _("Relation types"))
        },
        "extra": {
            "key": forms.ChoiceField(
                label=_("Extra field"),
                choices=[("", "---------"), *extra_keys],
                required=False,
            ),
            "equals": forms.CharField(label=_("Equals"), required=False),
            "from": forms.CharField(label=_("At least"), required=False),
            "to": forms.CharField(label=_("At most"), required=False),
        },
        "function": {
            "classification": multi(
                FunctionClassification.objects.all(), _("Function classification")
            ),
            "title": forms.CharField(
                label=_("Function title contains"), required=False
            ),
            "at_member_organisation": forms.BooleanField(
                label=_("Only at member organisations"), required=False
            ),
            "organisation_membership_type": multi(
                types, _("Organisation's membership type")
            ),
        },
        "committee": {
            "committee": multi(committees_visible_to(user), _("Groups and committees")),
            "current": forms.BooleanField(
                label=_("Only current terms"), required=False, initial=True
            ),
            "position": forms.MultipleChoiceField(
                label=_("Position"),
                choices=CommitteeMembership.Position.choices,
                required=False,
                widget=forms.SelectMultiple(attrs={"size": 4}),
            ),
        },
    }


def _extra_value(key: str, text: str):
    """An extra field's value as it is stored: numbers as numbers, yes/no as bool."""
    field = ExtraField.objects.filter(entity=ExtraField.Entity.PERSON, key=key).first()
    if field is None:
        return text
    if field.field_type == ExtraField.FieldType.NUMBER:
        try:
            number = float(text.replace(",", "."))
        except ValueError as exc:
            raise ValidationError(
                _("“%(value)s” is not a number.") % {"value": text}
            ) from exc
        return int(number) if number.is_integer() else number
    if field.field_type == ExtraField.FieldType.BOOLEAN:
        return text.strip().lower() in {"1", "true", "yes", "ja", "y"}
    return text


class CriterionRowForm(forms.Form):
    """One criterion: its kind, "not", and the options of that kind."""

    criterion = forms.ChoiceField(
        label=gettext_lazy("Criterion"),
        choices=[("", gettext_lazy("Choose a criterion…")), *CRITERION_CHOICES],
        required=False,
    )
    negate = forms.BooleanField(label=gettext_lazy("not"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_names: dict[str, list[str]] = {}
        for criterion, fields in _option_fields(user).items():
            self.option_names[criterion] = []
            for option, field in fields.items():
                name = f"{criterion}__{option}"
                self.fields[name] = field
                self.option_names[criterion].append(name)

    def chosen(self) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix("criterion"), "") or ""
        return self.initial.get("criterion", "") or ""

    def option_fields(self):
        return [self[name] for name in self.option_names.get(self.chosen(), [])]

    def to_node(self) -> dict | None:
        """This row as a criteria node, or None when it is empty."""
        data = self.cleaned_data
        criterion = data.get("criterion")
        if not criterion or data.get("DELETE"):
            return None
        node: dict = {"criterion": criterion}
        for name in self.option_names[criterion]:
            option = name.split("__", 1)[1]
            value = data.get(name)
            if criterion == "committee" and option == "current":
                node[option] = bool(value)
                continue
            if value in (None, "", [], False):
                continue
            if hasattr(value, "values_list"):  # a queryset of chosen records
                value = sorted(value.values_list("pk", flat=True))
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            elif isinstance(value, str):
                value = value.strip()
            elif isinstance(value, list):
                value = list(value)
            node[option] = value
        if criterion == "extra" and node.get("key"):
            for option in ("equals", "from", "to"):
                if option in node:
                    node[option] = _extra_value(node["key"], node[option])
        if data.get("negate"):
            return {"op": "not", "terms": [node]}
        return node


class BaseCriterionFormSet(forms.BaseFormSet):
    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        kwargs["user"] = self.user
        return kwargs

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            user=self.user,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form


CriterionFormSet = formset_factory(
    CriterionRowForm, formset=BaseCriterionFormSet, extra=1, can_delete=True
)


def criteria_to_rows(criteria) -> tuple[str, list[dict]] | None:
    """The builder's view of a criteria tree: ("and"|"or", rows), or None when the
    tree is nested deeper than the builder shows (it is then edited as JSON)."""
    if not criteria:
        return "and", []
    if not isinstance(criteria, dict):
        return None
    if "criterion" in criteria or criteria.get("op") == "not":
        terms, op = [criteria], "and"
    elif criteria.get("op") in ("and", "or"):
        terms, op = criteria.get("terms") or [], criteria["op"]
    else:
        return None
    rows = []
    for term in terms:
        negate = False
        if isinstance(term, dict) and term.get("op") == "not":
            inner = term.get("terms") or []
            if len(inner) != 1:
                return None
            term, negate = inner[0], True
        if not isinstance(term, dict) or term.get("criterion") not in dict(
            CRITERION_CHOICES
        ):
            return None
        criterion = term["criterion"]
        row = {"criterion": criterion, "negate": negate}
        for option, value in term.items():
            if option != "criterion":
                row[f"{criterion}__{option}"] = value
        rows.append(row)
    return op, rows


class SelectionForm(forms.Form):
    """Name and description; the criteria come from the rows of the builder."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    combine = forms.ChoiceField(
        label=gettext_lazy("Members must meet"),
        choices=[
            ("and", gettext_lazy("all of the criteria (and)")),
            ("or", gettext_lazy("any of the criteria (or)")),
        ],
        widget=forms.RadioSelect,
        initial="and",
        required=False,
    )
    criteria_json = forms.CharField(
        label=gettext_lazy("Criteria (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy(
            "These criteria are nested deeper than the builder shows; edit them here."
        ),
    )


class SelectionViewSet(SimpleViewSet):
    name = "relations_selections"
    url_prefix = "relations/selections"
    icon = "list-ul"
    menu_label = gettext_lazy("Selections")
    menu_order = 400

    def get_urlpatterns(self):
        return [
            path("", SelectionIndexView.as_view(), name="index"),
            path("add/", SelectionEditView.as_view(), name="add"),
            path("<int:pk>/", SelectionDetailView.as_view(), name="detail"),
            path("<int:pk>/edit/", SelectionEditView.as_view(), name="edit"),
            path("<int:pk>/delete/", SelectionDeleteView.as_view(), name="delete"),
            path(
                "<int:pk>/export/<str:export_format>/",
                SelectionExportView.as_view(),
                name="export",
            ),
        ]


class SelectionIndexView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    template_name = "members/crm/selection_index.html"
    page_title = gettext_lazy("Selections")
    header_icon = "list-ul"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["selections"] = Selection.objects.select_related("created_by")
        context["can_change"] = can_change_relations(self.request.user)
        return context


class SelectionEditView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    """Create or change a selection with the criteria builder."""

    allowed = staticmethod(can_change_relations)
    index_crumb = ("relations_selections:index", gettext_lazy("Selections"))
    template_name = "members/crm/selection_edit.html"
    header_icon = "list-ul"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        pk = kwargs.get("pk")
        self.object = (
            get_object_or_404(Selection, pk=pk) if pk is not None else Selection()
        )

    def get_page_title(self):
        if self.object.pk:
            return _("Edit selection")
        return _("New selection")

    def get_page_subtitle(self):
        return str(self.object) if self.object.pk else ""

    def build(self, data=None):
        user = self.request.user
        if data is None:
            layout = criteria_to_rows(self.object.criteria)
            json_mode = layout is None
            op, rows = layout or ("and", [])
            form = SelectionForm(
                initial={
                    "name": self.object.name,
                    "description": self.object.description,
                    "combine": op,
                    "criteria_json": (
                        json.dumps(self.object.criteria, indent=2, ensure_ascii=False)
                        if json_mode
                        else ""
                    ),
                },
            )
            formset = CriterionFormSet(initial=rows, prefix="rows", user=user)
        else:
            json_mode = data.get("mode") == "json"
            form = SelectionForm(data)
            formset = CriterionFormSet(data, prefix="rows", user=user)
        return form, formset, json_mode

    def get(self, request, *args, **kwargs):
        form, formset, json_mode = self.build()
        return self.render(form, formset, json_mode)

    def render(self, form, formset, json_mode, criteria_errors=()):
        return self.render_to_response(
            self.get_context_data(
                form=form,
                formset=formset,
                json_mode=json_mode,
                criteria_errors=criteria_errors,
            )
        )

    def post(self, request, *args, **kwargs):
        data = request.POST.copy()
        if "_add" in data:
            total = f"rows-{forms.formsets.TOTAL_FORM_COUNT}"
            data[total] = str(int(data.get(total, "0") or 0) + 1)
        form, formset, json_mode = self.build(data)
        if "_add" in data or "_refresh" in data:
            # Only redrawing the rows: show what was typed, without complaints yet.
            form = SelectionForm(
                initial={
                    name: data.get(name, "")
                    for name in ("name", "description", "combine", "criteria_json")
                }
            )
            return self.render(form, formset, json_mode)
        valid = form.is_valid()
        criteria_errors: list[str] = []
        criteria = None
        if json_mode:
            try:
                criteria = json.loads(form.data.get("criteria_json") or "{}")
            except ValueError:
                criteria_errors.append(_("The criteria are not valid JSON."))
        elif formset.is_valid():
            try:
                terms = [node for row in formset.forms if (node := row.to_node())]
            except ValidationError as exc:
                criteria_errors.extend(exc.messages)
                terms = []
            if not terms and not criteria_errors:
                criteria_errors.append(_("Add at least one criterion."))
            criteria = {"op": form.cleaned_data.get("combine") or "and", "terms": terms}
        else:
            valid = False
        if criteria is not None and not criteria_errors:
            criteria_errors.extend(self.check_criteria(criteria))
        if not valid or criteria_errors:
            messages.error(
                request,
                _("The selection could not be saved: %(errors)s")
                % {
                    "errors": " ".join(criteria_errors)
                    or _("correct the fields marked below.")
                },
            )
            return self.render(form, formset, json_mode, criteria_errors)
        selection = self.object
        selection.name = form.cleaned_data["name"]
        selection.description = form.cleaned_data["description"]
        selection.criteria = criteria
        if selection.pk is None:
            selection.created_by = request.user
        selection.save()
        messages.success(
            request, _("Selection “%(name)s” saved.") % {"name": selection.name}
        )
        return redirect("relations_selections:detail", selection.pk)

    def check_criteria(self, criteria) -> list[str]:
        """Compile the criteria, and run them once, so a bad one is refused now."""
        try:
            compile_criteria(criteria)
            with transaction.atomic():
                selection_persons(criteria=criteria, user=self.request.user).exists()
        except ValidationError as exc:
            return list(exc.messages)
        except (DatabaseError, TypeError, ValueError):
            return [_("These criteria cannot be run; check the values given.")]
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["action_url"] = self.request.path
        if self.object.pk:
            context["cancel_url"] = reverse(
                "relations_selections:detail", args=[self.object.pk]
            )
        else:
            context["cancel_url"] = reverse("relations_selections:index")
        return context


EXPORT_COLUMNS = [
    ("member_number", gettext_lazy("Member number")),
    ("first_name", gettext_lazy("First name")),
    ("last_name", gettext_lazy("Last name")),
    ("email", gettext_lazy("E-mail")),
    ("phone", gettext_lazy("Phone")),
    ("phone_mobile", gettext_lazy("Mobile")),
    ("postal_street", gettext_lazy("Postal address")),
    ("postal_postcode", gettext_lazy("Postcode")),
    ("postal_city", gettext_lazy("City")),
    ("chapter", gettext_lazy("Home chapter")),
]


def safe_cell(value):
    """A cell value a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        value = "'" + value
    return value


class SelectionMixin:
    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(Selection, pk=kwargs["pk"])

    def persons(self):
        return selection_persons(
            criteria=self.object.criteria, user=self.request.user
        ).select_related("chapter")


class SelectionDetailView(
    SelectionMixin, CheckedViewMixin, CrmTemplateMixin, TemplateView
):
    index_crumb = ("relations_selections:index", gettext_lazy("Selections"))
    template_name = "members/crm/selection_detail.html"
    header_icon = "list-ul"
    page_title = gettext_lazy("Selection")
    per_page = 50

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["can_change"] = can_change_relations(self.request.user)
        try:
            persons = self.persons()
            paginator = Paginator(persons, self.per_page)
            page = paginator.get_page(self.request.GET.get("p"))
            context.update(count=paginator.count, page=page, paginator=paginator)
        except ValidationError as exc:
            context["criteria_error"] = " ".join(exc.messages)
        return context


class SelectionExportView(SelectionMixin, CheckedViewMixin, TemplateView):
    def get(self, request, *args, export_format, **kwargs):
        if export_format not in ("csv", "xlsx"):
            raise PermissionDenied
        try:
            persons = self.persons()
            headings = [str(label) for _name, label in EXPORT_COLUMNS]
            rows = (
                [safe_cell(getattr(person, name)) for name, _label in EXPORT_COLUMNS]
                for person in persons.iterator(chunk_size=2000)
            )
            filename = f"selection-{self.object.pk}-{timezone.localdate():%Y%m%d}"
            if export_format == "csv":
                return self.csv_response(headings, rows, filename)
            return self.xlsx_response(headings, rows, filename)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("relations_selections:detail", self.object.pk)

    def csv_response(self, headings, rows, filename):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(headings)
        writer.writerows(rows)
        return response

    def xlsx_response(self, headings, rows, filename):
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=_("Selection")[:31])
        sheet.append(headings)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type=(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            ),
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response


class SelectionDeleteView(
    SelectionMixin, CheckedViewMixin, CrmTemplateMixin, TemplateView
):
    allowed = staticmethod(can_change_relations)
    index_crumb = ("relations_selections:index", gettext_lazy("Selections"))
    template_name = "members/crm/confirm.html"
    page_title = gettext_lazy("Delete selection")
    header_icon = "bin"

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            message=_(
                "Delete the selection “%(name)s”? Only its criteria are deleted; "
                "no person is changed."
            )
            % {"name": self.object},
            confirm_label=_("Yes, delete"),
            cancel_url=reverse("relations_selections:detail", args=[self.object.pk]),
        )
        return context

    def post(self, request, *args, **kwargs):
        name = str(self.object)
        self.object.delete()
        messages.success(request, _("Selection “%(name)s” deleted.") % {"name": name})
        return redirect("relations_selections:index")


# --- Import --------------------------------------------------------------------------

IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_SESSION_KEY = "members_crm_imports"
IMPORT_KEEP_SECONDS = 24 * 3600
PREVIEW_ROWS_SHOWN = 500

IMPORT_KIND_CHOICES = [
    ("person", gettext_lazy("Persons")),
    ("organisation", gettext_lazy("Organisations")),
    ("membership", gettext_lazy("Memberships")),
]


def import_dir() -> Path:
    directory = Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _clean_old_uploads() -> None:
    cutoff = time.time() - IMPORT_KEEP_SECONDS
    for stored in import_dir().glob("*.upload"):
        try:
            if stored.stat().st_mtime < cutoff:
                stored.unlink()
        except OSError:
            pass


def store_upload(request, *, kind: str, filename: str, content: bytes) -> str:
    """Keep an upload server-side until it is imported; returns its token.

    The file goes to MEDIA_ROOT/imports/ under a random name; the session maps the
    token to it, so only the user who uploaded it, in that session, can import it."""
    _clean_old_uploads()
    token = secrets.token_urlsafe(24)
    stored = import_dir() / f"{token}.upload"
    with open(stored, "wb") as handle:
        handle.write(content)
    os.chmod(stored, 0o600)
    uploads = request.session.get(IMPORT_SESSION_KEY, {})
    uploads[token] = {
        "kind": kind,
        "filename": os.path.basename(filename)[:200],
        "user": request.user.pk,
        "at": int(time.time()),
    }
    request.session[IMPORT_SESSION_KEY] = uploads
    return token


def load_upload(request, token: str):
    """(meta, content) of an upload of this user in this session, or None."""
    meta = request.session.get(IMPORT_SESSION_KEY, {}).get(token)
    if not meta or meta.get("user") != request.user.pk:
        return None
    stored = import_dir() / f"{token}.upload"
    if not token.replace("-", "").replace("_", "").isalnum() or not stored.exists():
        return None
    return meta, stored.read_bytes()


def forget_upload(request, token: str) -> None:
    uploads = request.session.get(IMPORT_SESSION_KEY, {})
    uploads.pop(token, None)
    request.session[IMPORT_SESSION_KEY] = uploads
    with contextlib.suppress(OSError):
        (import_dir() / f"{token}.upload").unlink()


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What to import"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "A .csv or .xlsx file with a header row naming the columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (kind, label)
            for kind, label in IMPORT_KIND_CHOICES
            if can_import(user, kind)
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large; import at most %(mb)s MB at a time.")
                % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        return upload


class ImportViewSet(SimpleViewSet):
    name = "relations_import"
    url_prefix = "relations/import"
    icon = "upload"
    menu_label = gettext_lazy("Import")
    menu_order = 500
    allowed = staticmethod(can_import)

    def get_urlpatterns(self):
        return [
            path("", ImportUploadView.as_view(), name="index"),
            path("<str:token>/", ImportPreviewView.as_view(), name="preview"),
        ]


class ImportUploadView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    allowed = staticmethod(can_import)
    template_name = "members/crm/import_upload.html"
    page_title = gettext_lazy("Import")
    header_icon = "upload"

    def get(self, request, *args, **kwargs):
        form = ImportUploadForm(user=request.user)
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        form = ImportUploadForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            messages.error(request, _("The file could not be read; see below."))
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        content = upload.read()
        kind = form.cleaned_data["kind"]
        try:
            import_preview(
                kind=kind, content=content, filename=upload.name, user=request.user
            )
        except ImportFileError as exc:
            form.add_error("file", exc.messages)
            messages.error(request, " ".join(exc.messages))
            return self.render_to_response(self.get_context_data(form=form))
        token = store_upload(request, kind=kind, filename=upload.name, content=content)
        return redirect("relations_import:preview", token)

    def get_context_data(self, **kwargs):
        from .imports import COLUMNS

        context = super().get_context_data(**kwargs)
        context["columns"] = [
            (label, sorted(COLUMNS[kind])) for kind, label in IMPORT_KIND_CHOICES
        ]
        return context


class ImportPreviewView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    """What the import would do, row by row; POST imports it if nothing is wrong."""

    allowed = staticmethod(can_import)
    index_crumb = ("relations_import:index", gettext_lazy("Import"))
    template_name = "members/crm/import_preview.html"
    page_title = gettext_lazy("Import preview")
    header_icon = "upload"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.token = kwargs["token"]

    def preview(self):
        stored = load_upload(self.request, self.token)
        if stored is None:
            return None, None
        meta, content = stored
        if not can_import(self.request.user, meta["kind"]):
            raise PermissionDenied
        return meta, import_preview(
            kind=meta["kind"],
            content=content,
            filename=meta["filename"],
            user=self.request.user,
        )

    def gone(self):
        messages.error(
            self.request,
            _("This upload is no longer available; upload the file again."),
        )
        return redirect("relations_import:index")

    def get(self, request, *args, **kwargs):
        try:
            meta, preview = self.preview()
        except ImportFileError as exc:
            messages.error(request, " ".join(exc.messages))
            forget_upload(request, self.token)
            return redirect("relations_import:index")
        if preview is None:
            return self.gone()
        rows = sorted(preview.rows, key=lambda row: (not row.errors, row.line))
        columns = sorted({c for row in preview.rows for c in row.values})
        context = self.get_context_data(
            meta=meta,
            preview=preview,
            counts=preview.counts,
            kind_label=dict(IMPORT_KIND_CHOICES)[meta["kind"]],
            rows=[
                {"row": row, "cells": [row.values.get(c, "") for c in columns]}
                for row in rows[:PREVIEW_ROWS_SHOWN]
            ],
            hidden_rows=max(0, len(rows) - PREVIEW_ROWS_SHOWN),
            columns=columns,
        )
        return self.render_to_response(context)

    def post(self, request, *args, **kwargs):
        if "cancel" in request.POST:
            forget_upload(request, self.token)
            messages.success(request, _("Import cancelled; nothing was written."))
            return redirect("relations_import:index")
        try:
            meta, preview = self.preview()
        except ImportFileError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("relations_import:index")
        if preview is None:
            return self.gone()
        if preview.has_errors:
            messages.error(
                request,
                _("Correct the rows with errors first; nothing was imported."),
            )
            return redirect("relations_import:preview", self.token)
        try:
            counts = import_apply(preview=preview, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("relations_import:preview", self.token)
        forget_upload(request, self.token)
        messages.success(
            request,
            _("Imported: %(create)s created, %(update)s updated.")
            % {"create": counts.get("create", 0), "update": counts.get("update", 0)},
        )
        return redirect("relations_import:index")


# --- Chapters ------------------------------------------------------------------------


class ChapterForm(forms.ModelForm):
    class Meta:
        model = Chapter
        fields = ["name", "level", "code", "is_active"]


class ChapterViewSet(SimpleViewSet):
    name = "relations_chapters"
    url_prefix = "relations/chapters"
    icon = "site"
    menu_label = gettext_lazy("Chapters")
    menu_order = 600
    allowed = staticmethod(can_manage_chapters)

    def get_urlpatterns(self):
        return [
            path("", ChapterIndexView.as_view(), name="index"),
            path("add/", ChapterFormView.as_view(), name="add_root"),
            path("<int:parent>/add/", ChapterFormView.as_view(), name="add_child"),
            path("<int:pk>/edit/", ChapterFormView.as_view(), name="edit"),
        ]


class ChapterIndexView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    allowed = staticmethod(can_manage_chapters)
    template_name = "members/crm/chapter_index.html"
    page_title = gettext_lazy("Chapters")
    header_icon = "site"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        chapters = Chapter.get_tree()
        context["chapters"] = [
            {"chapter": chapter, "indent": (chapter.depth - 1) * 2}
            for chapter in chapters
        ]
        return context


class ChapterFormView(CheckedViewMixin, CrmTemplateMixin, TemplateView):
    allowed = staticmethod(can_manage_chapters)
    index_crumb = ("relations_chapters:index", gettext_lazy("Chapters"))
    template_name = "members/crm/form.html"
    header_icon = "site"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = (
            get_object_or_404(Chapter, pk=kwargs["pk"]) if "pk" in kwargs else None
        )
        self.parent = (
            get_object_or_404(Chapter, pk=kwargs["parent"])
            if "parent" in kwargs
            else None
        )

    def get_page_title(self):
        if self.object:
            return _("Edit chapter")
        if self.parent:
            return _("Add a chapter below %(parent)s") % {"parent": self.parent}
        return _("Add a top-level chapter")

    def get_form(self):
        data = self.request.POST if self.request.method == "POST" else None
        initial = {}
        if self.parent is not None:
            below = {
                Chapter.Level.NATIONAL: Chapter.Level.REGIONAL,
                Chapter.Level.REGIONAL: Chapter.Level.LOCAL,
            }
            initial["level"] = below.get(self.parent.level, Chapter.Level.LOCAL)
        return ChapterForm(data, instance=self.object, initial=initial)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_valid():
            messages.error(request, _("The chapter could not be saved."))
            return self.render_to_response(self.get_context_data(form=form))
        if self.object is not None:
            chapter = form.save()
        elif self.parent is not None:
            self.parent.refresh_from_db()
            chapter = self.parent.add_child(instance=form.save(commit=False))
        else:
            chapter = Chapter.add_root(instance=form.save(commit=False))
        messages.success(request, _("Chapter “%(name)s” saved.") % {"name": chapter})
        return redirect("relations_chapters:index")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["submit_label"] = _("Save")
        context["cancel_url"] = reverse("relations_chapters:index")
        return context


# --- Menu ----------------------------------------------------------------------------


class RelationsViewSetGroup(ViewSetGroup):
    menu_label = gettext_lazy("Relations")
    menu_icon = "mail"
    menu_order = 160
    items = (
        CommitteeViewSet,
        ContactLogViewSet,
        MyActionItemsViewSet,
        SelectionViewSet,
        ImportViewSet,
        ChapterViewSet,
    )


@hooks.register("register_admin_viewset")
def register_relations_viewsets():
    return RelationsViewSetGroup()


__all__ = [
    "RelationsViewSetGroup",
    "committees_visible_to",
    "contact_log_visible_to",
    "seats_visible_to",
    "safe_cell",
]
