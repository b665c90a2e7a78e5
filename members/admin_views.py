"""Views of the register's back office in the Wagtail admin.

Wagtail's generic views look records up with ``Model.objects``; here every list, record
page, export, search and action looks them up through a ``scoped_queryset`` function
from ``members.selectors`` instead, so a chapter admin never reaches another chapter's
records: such a record is simply not found (404).
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import connections
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.views.generic.usage import UsageView
from wagtail.admin.widgets.button import Button

from . import services
from .admin_actions import register_entry_archive, register_entry_unarchive
from .admin_cells import PlainColumn, PlainTitleColumn
from .admin_common import ScopedInspectMixin, chapters_for, escape_formula
from .forms import MembershipActivateForm, MembershipEndForm
from .models import Chapter, Membership, MembershipType, Organisation, Person
from .search import (
    in_name_order,
    page_and_count,
    rows_in_order,
    search_rows_fit,
    search_rows_page,
    sorts_every_match,
)
from .selectors import chapter_scope

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


class CappedCountPaginator(WagtailPaginator):
    """Pages through a search's matches but counts no further than ``cap``: "hansen"
    matches 39,000 of 500,000 persons, and counting them all costs more than finding
    the first page. Beyond the cap the list says "more than 1,000" and pages through
    the first ``cap`` matches; a further word narrows the search."""

    def __init__(self, *args, cap: int, fetch_page=None, **kwargs):
        self.cap = cap
        self.fetch_page = fetch_page
        super().__init__(*args, **kwargs)

    @cached_property
    def _found(self) -> int:
        matches = self.object_list
        if hasattr(matches, "values"):
            return matches.order_by().values("pk")[: self.cap + 1].count()
        return len(matches)

    @cached_property
    def _page_with_count(self):
        """``(offset, limit) -> (rows, count)`` where a page comes with its count:
        ``fetch_page`` if the view gave one, else for a search whose matches
        PostgreSQL sorts anyway (``members.search.sorts_every_match``)."""
        if self.fetch_page is not None:
            return self.fetch_page
        matches = self.object_list
        if hasattr(matches, "query") and sorts_every_match(matches):
            return lambda offset, limit: page_and_count(matches, offset, limit)
        return None

    def get_page(self, number):
        """As Django's (a page number that isn't one gives the first page, one past
        the end the last), without counting first where the count comes with the
        page (``page``)."""
        if self._page_with_count is None:
            return super().get_page(number)
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)

    def page(self, number):
        """Where a page comes with its count (``_page_with_count``) it is fetched so,
        in one pass, and the count is exact; other searches count up to the cap
        first."""
        if self._page_with_count is None or "_found" in self.__dict__:
            return super().page(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(_("That page number is not an integer")) from None
        if number < 1:
            raise EmptyPage(_("That page number is less than 1"))
        rows, found = self._page_with_count((number - 1) * self.per_page, self.per_page)
        self.__dict__["_found"] = found
        self.cap = max(self.cap, found)
        if number > self.num_pages:
            raise EmptyPage(_("That page contains no results"))
        return self._get_page(rows, number, self)

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

    def _get_title_column(self, field_name, column_class=TitleColumn, **kwargs):
        if column_class is TitleColumn:
            column_class = PlainTitleColumn
        return super()._get_title_column(field_name, column_class, **kwargs)

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

    # Each row's links. ``reverse`` costs some 70 µs in the admin's URLconf, and a
    # page of 50 rows needs 200 and more of them; each URL is reversed once per page
    # for a placeholder id and the row's id put in its place.
    _ROW_ID = 987654321987654321

    def row_url(self, kind: str, make_url, pk) -> str | None:
        """``make_url(pk)`` for one row, reversed once per page for all rows (for
        whole-number ids; any other id is reversed as it comes)."""
        if not isinstance(pk, int):
            return make_url(pk)
        urls = self.__dict__.setdefault("_row_urls", {})
        if kind not in urls:
            urls[kind] = make_url(self._ROW_ID)
        url = urls[kind]
        return url.replace(str(self._ROW_ID), str(pk)) if url else url

    @staticmethod
    def _for_id(get_url):
        """Wagtail's ``get_<kind>_url(instance)`` as a function of the id."""
        return lambda pk: get_url(SimpleNamespace(pk=pk))

    def get_edit_url(self, instance):
        return self.row_url("edit", self._for_id(super().get_edit_url), instance.pk)

    def get_inspect_url(self, instance):
        return self.row_url(
            "inspect", self._for_id(super().get_inspect_url), instance.pk
        )

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if self.archivable and self.user_has_permission("change"):
            if instance.archived_at is None:
                buttons.append(
                    MenuItem(
                        _("Archive"),
                        url=self.row_url(
                            "archive",
                            lambda pk: reverse(self.archive_url_name, args=[quote(pk)]),
                            instance.pk,
                        ),
                        icon_name="folder-inverse",
                        priority=40,
                    )
                )
            else:
                buttons.append(
                    MenuItem(
                        _("Bring back from archive"),
                        url=self.row_url(
                            "unarchive",
                            lambda pk: reverse(
                                self.unarchive_url_name, args=[quote(pk)]
                            ),
                            instance.pk,
                        ),
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


class PersonIndexView(RegisterIndexView):
    """The persons list. A plain search in name order (nothing filtered, archived
    persons hidden) is answered from the narrow search rows
    (``members.search.search_rows_page``, PostgreSQL), which also hold what a
    chapter admin's scope is decided by; the page's persons are then fetched by id.
    (Not through the list's queryset: with a chapter admin's scope in it PostgreSQL
    may hash every holder of a membership in the region to fetch 50 rows.)"""

    @cached_property
    def answered_from_search_rows(self) -> bool:
        """Whether this list's search is one the search rows answer: a search on
        PostgreSQL, no filter, archived persons hidden, the default (name) order, and
        not so common a word that the name index finds a page sooner."""
        return bool(
            self.is_searching
            and connections["default"].vendor == "postgresql"
            and not self.is_filtering
            and not self.request.GET.get("archived")
            and not self.is_explicitly_ordered
            and search_rows_fit(self.search_query)
        )

    def search_queryset(self, queryset):
        if not self.answered_from_search_rows:
            return super().search_queryset(queryset)
        # The search rows find, count and sort the matches; the list's queryset
        # still says which they are, without persons_matching's planning for a sort
        # it will not run.
        for term in self.search_query.split():
            queryset = queryset.filter(self.search_q(term))
        return queryset

    def get_paginator(self, queryset, per_page, *args, **kwargs):
        paginator = super().get_paginator(queryset, per_page, *args, **kwargs)
        if (
            isinstance(paginator, CappedCountPaginator)
            and self.answered_from_search_rows
            and in_name_order(queryset)
        ):
            query = self.search_query
            scope = chapter_scope(self.request.user)
            if scope is not None:
                scope = list(scope.values_list("pk", flat=True))
            persons = Person.objects.select_related(*self.select_related)

            def fetch_page(offset, limit):
                ids, found = search_rows_page(query, offset, limit, scope=scope)
                return rows_in_order(persons, ids), found

            paginator.fetch_page = fetch_page
        return paginator


class MembershipIndexView(RegisterIndexView):
    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if self.user_has_permission("change"):
            buttons.extend(
                membership_action_menu_items(
                    instance,
                    url=lambda name, pk: self.row_url(
                        name, lambda row: reverse(name, args=[row]), pk
                    ),
                )
            )
        return buttons


def membership_action_menu_items(membership, url=None) -> list[MenuItem]:
    """The status actions the membership allows; ``url(name, pk)`` reverses their
    links (``reverse`` by default)."""
    if url is None:

        def url(name, pk):
            return reverse(name, args=[pk])

    allowed = services.ALLOWED_TRANSITIONS.get(membership.status, set())
    items = []
    if Membership.Status.ACTIVE in allowed:
        items.append(
            MenuItem(
                _("Activate"),
                url=url("register_memberships:activate", membership.pk),
                icon_name="check",
                priority=50,
            )
        )
    if Membership.Status.ENDED in allowed:
        items.append(
            MenuItem(
                _("End membership"),
                url=url("register_memberships:end", membership.pk),
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
