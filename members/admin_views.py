"""Views of the register's back office in the Wagtail admin.

Wagtail's generic views look records up with ``Model.objects``; here every list, record
page, export, search and action looks them up through a ``scoped_queryset`` function
from ``members.selectors`` instead, so a chapter admin never reaches another chapter's
records: such a record is simply not found (404).
"""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.formats import localize, number_format
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.views.generic.usage import UsageView
from wagtail.admin.widgets.button import Button

from . import services
from .admin_actions import register_entry_archive, register_entry_unarchive
from .admin_common import ScopedInspectMixin, chapters_for, escape_formula
from .forms import MembershipActivateForm, MembershipEndForm
from .models import Chapter, Membership, MembershipType, Organisation, Person

# --- Search --------------------------------------------------------------------------


def person_search_q(term: str) -> Q:
    """Part of a first or last name or e-mail; a member number matches exactly."""
    condition = (
        Q(first_name__icontains=term)
        | Q(last_name__icontains=term)
        | Q(email__icontains=term)
        | Q(email_secondary__icontains=term)
    )
    if term.isdigit():
        condition |= (
            Q(member_number=int(term))
            | Q(phone__icontains=term)
            | Q(phone_mobile__icontains=term)
        )
    return condition


def organisation_search_q(term: str) -> Q:
    return (
        Q(name__icontains=term)
        | Q(email__icontains=term)
        | Q(billing_email__icontains=term)
        | Q(organisation_number__icontains=term)
    )


def membership_search_q(term: str) -> Q:
    condition = (
        Q(person__first_name__icontains=term)
        | Q(person__last_name__icontains=term)
        | Q(person__email__icontains=term)
        | Q(organisation__name__icontains=term)
    )
    if term.isdigit():
        condition |= Q(person__member_number=int(term)) | Q(
            organisation__organisation_number__icontains=term
        )
    return condition


def employment_search_q(term: str) -> Q:
    return (
        Q(person__first_name__icontains=term)
        | Q(person__last_name__icontains=term)
        | Q(organisation__name__icontains=term)
        | Q(function_title__icontains=term)
    )


# --- Filters -------------------------------------------------------------------------

ARCHIVED_CHOICES = [
    ("current", gettext_lazy("Current")),
    ("archived", gettext_lazy("Archived")),
    ("all", gettext_lazy("All")),
]


def _chapters_for(request):
    return chapters_for(request.user) if request else Chapter.objects.all()


class RegisterEntryFilterSet(WagtailFilterSet):
    """Filters shared by persons and organisations. Archived records are left out
    unless the "archived" filter asks for them."""

    archived = ChoiceFilter(
        label=gettext_lazy("Archived"),
        choices=ARCHIVED_CHOICES,
        method="filter_archived",
        empty_label=None,
        null_label=None,
    )
    chapter = ModelChoiceFilter(
        label=gettext_lazy("Home chapter"), queryset=_chapters_for
    )

    def filter_archived(self, queryset, name, value):
        if value == "archived":
            return queryset.filter(archived_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(archived_at__isnull=True)


class PersonFilterSet(RegisterEntryFilterSet):
    class Meta:
        model = Person
        fields = [
            "archived",
            "chapter",
            "preferred_language",
            "relation_types",
            "tags",
            "postal_country",
        ]


class OrganisationFilterSet(RegisterEntryFilterSet):
    class Meta:
        model = Organisation
        fields = ["archived", "chapter", "country", "relation_types", "tags"]


class MembershipFilterSet(WagtailFilterSet):
    chapter = ModelChoiceFilter(label=gettext_lazy("Chapter"), queryset=_chapters_for)
    type = ModelChoiceFilter(
        label=gettext_lazy("Type"), queryset=MembershipType.objects.all()
    )

    class Meta:
        model = Membership
        fields = ["status", "type", "chapter", "end_reason", "start", "end"]


# --- Generic views, scoped -----------------------------------------------------------


class ScopedViewMixin:
    """Looks records up through ``scoped_queryset(user)`` instead of the manager.

    A list is searched with ``search_with(queryset, query)`` when the viewset gives one
    (persons: ``members.search.persons_matching``), else every word of the query must
    match ``search_q(word)``.
    """

    scoped_queryset = None
    search_q = None
    search_with = None
    select_related = ()

    def get_scoped_queryset(self):
        queryset = self.scoped_queryset(self.request.user)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset


class PlainColumn(Column):
    """Wagtail's ``Column`` with its cell written in Python rather than through the
    ``wagtailadmin/tables/cell.html`` template: the same ``<td>`` (class, localised
    and escaped value, the empty display), at a fraction of the cost. A register list
    of 50 rows has some 300 such cells, which were most of its time to render."""

    def render_cell_html(self, instance, parent_context):
        value = self.get_cell_context_data(instance, parent_context)["value"]
        if value is None:
            text = ""
        else:
            text = conditional_escape(localize(template_localtime(value)))
        if self.classname:
            return format_html('<td class="{}">{}</td>', self.classname, text)
        return format_html("<td>{}</td>", text)


class CappedCountPaginator(WagtailPaginator):
    """Pages through a search's matches but counts no further than ``cap``: "hansen"
    matches 39,000 of 500,000 persons, and counting them all costs more than finding
    the first page. Beyond the cap the list says "more than 1,000" and pages through
    the first ``cap`` matches; a further word narrows the search."""

    def __init__(self, *args, cap: int, **kwargs):
        self.cap = cap
        super().__init__(*args, **kwargs)

    @cached_property
    def _found(self) -> int:
        matches = self.object_list
        if hasattr(matches, "values"):
            return matches.order_by().values("pk")[: self.cap + 1].count()
        return len(matches)

    @cached_property
    def count(self) -> int:
        return min(self._found, self.cap)

    @cached_property
    def capped(self) -> bool:
        return self._found > self.cap

    @cached_property
    def items_count_label(self):
        if not self.capped:
            return super().items_count_label
        return _("more than %(count)s %(things)s") % {
            "count": number_format(self.cap, force_grouping=True),
            "things": self.verbose_name_plural,
        }


class RegisterIndexView(ScopedViewMixin, generic.IndexView):
    """A register list: scoped, searchable by parts of words, archived records hidden
    by default, exportable to CSV and Excel. With ``search_count_cap``, a search
    counts its matches only up to that number (``CappedCountPaginator``)."""

    archivable = False
    archive_url_name = None
    unarchive_url_name = None
    search_count_cap = None
    results_template_name = "members/admin/register_results.html"

    def _get_custom_column(self, field_name, column_class=Column, **kwargs):
        if column_class is Column:
            column_class = PlainColumn
        return super()._get_custom_column(field_name, column_class, **kwargs)

    def get_paginator(self, queryset, per_page, *args, **kwargs):
        if self.is_searching and self.search_count_cap:
            return CappedCountPaginator(
                queryset, per_page, *args, cap=self.search_count_cap, **kwargs
            )
        return super().get_paginator(queryset, per_page, *args, **kwargs)

    def get_base_queryset(self):
        return self.get_scoped_queryset()

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.archivable and not self.request.GET.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset

    def search_queryset(self, queryset):
        if self.is_searching and self.search_with is not None:
            return self.search_with(queryset, self.search_query)
        if not self.is_searching or self.search_q is None:
            return super().search_queryset(queryset)
        for term in self.search_query.split():
            queryset = queryset.filter(self.search_q(term))
        return queryset

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if self.archivable and self.user_has_permission("change"):
            if instance.archived_at is None:
                buttons.append(
                    MenuItem(
                        _("Archive"),
                        url=reverse(self.archive_url_name, args=[quote(instance.pk)]),
                        icon_name="folder-inverse",
                        priority=40,
                    )
                )
            else:
                buttons.append(
                    MenuItem(
                        _("Bring back from archive"),
                        url=reverse(self.unarchive_url_name, args=[quote(instance.pk)]),
                        icon_name="folder-open-inverse",
                        priority=40,
                    )
                )
        return buttons

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        if isinstance(value, str):
            value = escape_formula(value)
        return value


class MembershipIndexView(RegisterIndexView):
    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if self.user_has_permission("change"):
            buttons.extend(membership_action_menu_items(instance))
        return buttons


def membership_action_menu_items(membership) -> list[MenuItem]:
    allowed = services.ALLOWED_TRANSITIONS.get(membership.status, set())
    items = []
    if Membership.Status.ACTIVE in allowed:
        items.append(
            MenuItem(
                _("Activate"),
                url=reverse("register_memberships:activate", args=[membership.pk]),
                icon_name="check",
                priority=50,
            )
        )
    if Membership.Status.ENDED in allowed:
        items.append(
            MenuItem(
                _("End membership"),
                url=reverse("register_memberships:end", args=[membership.pk]),
                icon_name="cross",
                priority=60,
            )
        )
    return items


class RegisterCreateView(generic.CreateView):
    """Creation; ``?person=<id>`` or ``?organisation=<id>`` pre-fills that field.

    The template shows the likely duplicates a person's or organisation's form found
    (see ``forms.RegisterEntryForm``) with the "Create anyway" box to confirm.
    """

    prefill_fields = ("person", "organisation")
    template_name = "members/audit/create.html"

    def get_initial(self):
        initial = super().get_initial()
        for name in self.prefill_fields:
            value = self.request.GET.get(name)
            if value and value.isdigit():
                initial[name] = value
        return initial


class RegisterEditView(ScopedViewMixin, generic.EditView):
    archivable = False
    archive_url_name = None
    unarchive_url_name = None

    def get_queryset(self):
        return self.get_scoped_queryset()

    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        if (
            isinstance(self.object, Person | Organisation)
            and self.object.merged_into_id is None
            and self.user_has_permission("change")
        ):
            buttons.append(
                Button(
                    _("Merge with…"),
                    url=reverse(
                        "members_audit:merge",
                        args=[self.object._meta.model_name, quote(self.object.pk)],
                    ),
                    icon_name="resubmit",
                    priority=45,
                )
            )
        if self.archivable and self.user_has_permission("change"):
            if self.object.archived_at is None:
                buttons.append(
                    Button(
                        _("Archive"),
                        url=reverse(
                            self.archive_url_name, args=[quote(self.object.pk)]
                        ),
                        icon_name="folder-inverse",
                        priority=40,
                    )
                )
            else:
                buttons.append(
                    Button(
                        _("Bring back from archive"),
                        url=reverse(
                            self.unarchive_url_name, args=[quote(self.object.pk)]
                        ),
                        icon_name="folder-open-inverse",
                        priority=40,
                    )
                )
        return buttons


class MembershipEditView(RegisterEditView):
    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        for item in membership_action_menu_items(self.object):
            buttons.append(
                Button(
                    item.label,
                    url=item.url,
                    icon_name=item.icon_name,
                    priority=item.priority,
                )
            )
        return buttons


class RegisterInspectView(ScopedInspectMixin, ScopedViewMixin, generic.InspectView):
    pass


class RegisterHistoryView(ScopedViewMixin, HistoryView):
    def get_base_object_queryset(self):
        return self.get_scoped_queryset()


class RegisterUsageView(ScopedViewMixin, UsageView):
    def get_base_object_queryset(self):
        return self.get_scoped_queryset()


# --- Actions: archive, activate, end -------------------------------------------------


class RecordActionView(
    ScopedViewMixin, PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView
):
    """Confirm, then do one thing to one record of the register (POST only changes)."""

    model = None
    permission_required = "change"
    template_name = "members/admin/confirm_action.html"
    index_url_name = None
    edit_url_name = None
    header_icon = ""
    confirm_label = ""
    confirmation_message = ""
    form_class = MembershipActivateForm  # overridden where a form matters

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(self.get_scoped_queryset(), pk=kwargs["pk"])

    def get_page_subtitle(self):
        return str(self.object)

    def get_success_url(self):
        return reverse(self.edit_url_name, args=[quote(self.object.pk)])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.object,
            confirm_label=self.confirm_label,
            confirmation_message=self.confirmation_message,
            cancel_url=self.get_success_url(),
            action_url=self.request.path,
        )
        return context


class ArchiveView(RecordActionView):
    """Archive a record, or (``unarchive=True``) bring it back: one view, the
    direction given by the URL it is registered under."""

    unarchive = False

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.header_icon = "folder-open-inverse" if self.unarchive else "folder-inverse"

    @property
    def page_title(self):
        return _("Bring back from archive") if self.unarchive else _("Archive")

    @property
    def confirm_label(self):
        return _("Yes, bring it back") if self.unarchive else _("Yes, archive")

    @property
    def confirmation_message(self):
        if self.unarchive:
            return _("Bring “%(record)s” back into the current register?") % {
                "record": self.object
            }
        return _(
            "Archive “%(record)s”? The record leaves the lists and searches but is "
            "kept, with its history, and can be brought back."
        ) % {"record": self.object}

    def get_form_class(self):
        from django import forms

        return forms.Form

    def get_success_url(self):
        if self.unarchive:
            return reverse(self.edit_url_name, args=[quote(self.object.pk)])
        return reverse(self.index_url_name)

    def form_valid(self, form):
        if self.unarchive:
            changed = register_entry_unarchive(entry=self.object, by=self.request.user)
            message = (
                _("“%(record)s” is back in the register.")
                if changed
                else _("“%(record)s” was not archived.")
            )
        else:
            changed = register_entry_archive(entry=self.object, by=self.request.user)
            message = (
                _("“%(record)s” archived.")
                if changed
                else _("“%(record)s” was already archived.")
            )
        messages.success(self.request, message % {"record": self.object})
        return redirect(self.get_success_url())


class MembershipActivateView(RecordActionView):
    model = Membership
    header_icon = "check"
    page_title = gettext_lazy("Activate membership")
    confirm_label = gettext_lazy("Yes, activate")
    form_class = MembershipActivateForm

    @property
    def confirmation_message(self):
        return _(
            "Activate “%(membership)s”? The holder gets the access this membership "
            "type grants at once."
        ) % {"membership": self.object}

    def form_valid(self, form):
        try:
            services.membership_activate(
                membership=self.object,
                by=self.request.user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            messages.error(self.request, " ".join(error.messages))
        else:
            messages.success(
                self.request,
                _("Membership “%(membership)s” is active.")
                % {"membership": self.object},
            )
        return redirect(self.get_success_url())


class MembershipEndView(RecordActionView):
    model = Membership
    header_icon = "cross"
    page_title = gettext_lazy("End membership")
    confirm_label = gettext_lazy("End membership")
    form_class = MembershipEndForm

    @property
    def confirmation_message(self):
        return _(
            "End “%(membership)s”? Access given by this membership ends with it."
        ) % {"membership": self.object}

    def form_valid(self, form):
        try:
            services.membership_end(
                membership=self.object,
                reason=form.cleaned_data["reason"],
                end=form.cleaned_data["end"],
                by=self.request.user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            messages.error(self.request, " ".join(error.messages))
        else:
            messages.success(
                self.request,
                _("Membership “%(membership)s” ended.") % {"membership": self.object},
            )
        return redirect(self.get_success_url())
