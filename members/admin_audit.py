"""Admin for the change audit: history tab, restore, recent changes, duplicates and merge.

- The record pages of persons, organisations, memberships and employments get a
  "History" tab (every field change, newest first, with a Restore button) and persons
  and organisations an "Extra fields" tab (the staff-defined fields as real form
  fields), through ``admin_panels.RECORD_TABS_HOOK``.
- ``RestoreView`` confirms and puts one old value back (``history.record_restore_value``).
- ``RecentChangesView`` lists the newest changes across the register.
- ``MergeView`` merges a duplicate person or organisation into the record it starts from.
- ``QuickEntryView`` creates organisation + person + employment in one go.

Every view looks records up through ``members.selectors`` (or ``admin_scope``): a record
of a chapter outside the user's scope is not found (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import ObjectList, Panel
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .admin_common import TitledPageMixin
from .admin_panels import RECORD_TABS_HOOK
from .admin_scope import employments_visible_to
from .duplicates import (
    ORGANISATION_MERGE_FIELDS,
    PERSON_MERGE_FIELDS,
    organisation_duplicates,
    organisation_merge,
    person_duplicates,
    person_merge,
)
from .forms import (
    QuickEntryControlForm,
    QuickEntryEmploymentForm,
    QuickEntryOrganisationForm,
    QuickEntryPersonForm,
)
from .history import recent_changes, record_changes, record_restore_value
from .models import Employment, Membership, Organisation, Person
from .selectors import (
    memberships_visible_to,
    organisations_visible_to,
    persons_visible_to,
)

#: How many changes the History tab shows; older ones stay in the database.
HISTORY_TAB_LIMIT = 200
RECENT_CHANGES_LIMIT = 100


@dataclass(frozen=True)
class AuditedKind:
    model: type
    visible_to: Any
    edit_url_name: str


AUDITED = {
    "person": AuditedKind(Person, persons_visible_to, "register_persons:edit"),
    "organisation": AuditedKind(
        Organisation, organisations_visible_to, "register_organisations:edit"
    ),
    "membership": AuditedKind(
        Membership, memberships_visible_to, "register_memberships:edit"
    ),
    "employment": AuditedKind(
        Employment, employments_visible_to, "register_employments:edit"
    ),
}
MERGEABLE = {
    "person": (PERSON_MERGE_FIELDS, person_merge),
    "organisation": (ORGANISATION_MERGE_FIELDS, organisation_merge),
}


def _perm(user, action: str, model) -> bool:
    return user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}")


def display_value(model, field_name: str, value) -> str:
    """A stored value as staff read it: choice labels, "–" for empty, yes/no."""
    if value is None or value == "":
        return "–"
    field = model._meta.get_field(field_name)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in sorted(value.items())) or "–"
    if hasattr(value, "isoformat"):
        return (
            value.isoformat(sep=" ", timespec="minutes")
            if hasattr(value, "hour")
            else value.isoformat()
        )
    return str(value)


# --- Record page tabs ----------------------------------------------------------------


class ChangeHistoryPanel(Panel):
    """Every field change of the record, newest first, with Restore buttons."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "members/audit/history_panel.html"

        def is_shown(self):
            return bool(self.instance and self.instance.pk)

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            instance = self.instance
            model = type(instance)
            kind = model._meta.model_name
            may_restore = kind in AUDITED and _perm(self.request.user, "change", model)
            changes = record_changes(instance)
            rows = []
            for change in changes[:HISTORY_TAB_LIMIT]:
                rows.append(
                    {
                        "change": change,
                        "old": display_value(model, change.field, change.old),
                        "new": display_value(model, change.field, change.new),
                        "restore_url": (
                            reverse(
                                "members_audit:restore",
                                args=[
                                    kind,
                                    quote(instance.pk),
                                    change.history_id,
                                    change.field,
                                ],
                            )
                            if may_restore and change.restorable
                            else None
                        ),
                    }
                )
            context.update(
                rows=rows,
                more=max(len(changes) - HISTORY_TAB_LIMIT, 0),
                created=instance.history.order_by("history_date", "pk")
                .select_related("history_user")
                .first(),
            )
            return context


class ExtraFieldsPanel(Panel):
    """The staff-defined extra fields the form added (``extra__<key>``)."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "members/audit/extra_fields_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            names = getattr(self.form, "extra_field_names", [])
            context["fields"] = [self.form[name] for name in names]
            context["may_define"] = self.request.user.is_superuser
            return context


@hooks.register(RECORD_TABS_HOOK)
def audit_record_tabs(model):
    tabs = []
    if model in (Person, Organisation):
        tabs.append(
            ObjectList([ExtraFieldsPanel()], heading=gettext_lazy("Extra fields"))
        )
    if model in (Person, Organisation, Membership, Employment):
        tabs.append(ObjectList([ChangeHistoryPanel()], heading=gettext_lazy("History")))
    return tabs


# --- Views ---------------------------------------------------------------------------


class AuditViewMixin(WagtailAdminTemplateMixin):
    """Looks the record up through the user's scope: 404 for records out of it."""

    permission_action = "change"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        try:
            self.kind = AUDITED[kwargs["kind"]]
        except KeyError as exc:
            raise Http404 from exc
        self.model = self.kind.model

    def dispatch(self, request, *args, **kwargs):
        if not _perm(request.user, self.permission_action, self.model):
            raise PermissionDenied
        self.object = get_object_or_404(
            self.kind.visible_to(request.user), pk=kwargs["pk"]
        )
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        index_url = reverse(self.kind.edit_url_name.replace(":edit", ":index"))
        return [
            *self.breadcrumbs_items,
            {"url": index_url, "label": capfirst(self.model._meta.verbose_name_plural)},
            {"url": self.record_url(), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def record_url(self, record=None, tab="") -> str:
        record = record or self.object
        url = reverse(self.kind.edit_url_name, args=[quote(record.pk)])
        return f"{url}#tab-{tab}" if tab else url

    def get_page_subtitle(self):
        return str(self.object)


class RestoreView(AuditViewMixin, TemplateView):
    """Confirm (GET), then put one old value back (POST, with CSRF)."""

    template_name = "members/audit/restore_confirm.html"
    page_title = gettext_lazy("Restore an old value")
    header_icon = "history"

    def get_change(self):
        field = self.kwargs["field"]
        for change in record_changes(self.object):
            if change.history_id == self.kwargs["history_id"] and change.field == field:
                return change
        raise Http404

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        change = self.get_change()
        version = self.object.history.get(history_id=change.history_id)
        field = self.model._meta.get_field(change.field)
        context.update(
            object=self.object,
            change=change,
            label=field.verbose_name,
            current=display_value(
                self.model, change.field, getattr(self.object, change.field)
            ),
            restored=display_value(
                self.model, change.field, getattr(version, change.field)
            ),
            cancel_url=self.record_url(tab="history"),
        )
        return context

    def post(self, request, *args, **kwargs):
        change = self.get_change()
        try:
            record_restore_value(
                record=self.object,
                history_id=change.history_id,
                field=change.field,
                by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("“%(field)s” of “%(record)s” is restored.")
                % {"field": change.label, "record": self.object},
            )
        return redirect(self.record_url())


class RecentChangesView(TitledPageMixin, TemplateView):
    """The newest changes to persons, organisations, employments and memberships the
    user may see, each linked to its record."""

    template_name = "members/audit/recent_changes.html"
    page_title = gettext_lazy("Recent changes")
    header_icon = "history"

    def dispatch(self, request, *args, **kwargs):
        if not may_see_recent_changes(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        querysets = {}
        for kind in AUDITED.values():
            if _perm(user, "view", kind.model) or _perm(user, "change", kind.model):
                querysets[kind.model] = kind.visible_to(user)
            else:
                querysets[kind.model] = kind.model.objects.none()
        rows = recent_changes(querysets=querysets, limit=RECENT_CHANGES_LIMIT)
        # The records' names in one query per model, not one per row.
        by_model: dict[type, set] = {}
        for row in rows:
            by_model.setdefault(row.instance_type, set()).add(row.id)
        records = {
            model: querysets[model].in_bulk(list(ids))
            for model, ids in by_model.items()
        }
        kinds = {kind.model: (name, kind) for name, kind in AUDITED.items()}
        entries = []
        for row in rows:
            model = row.instance_type
            record = records[model].get(row.id)
            name, kind = kinds[model]
            entries.append(
                {
                    "row": row,
                    "type_label": model._meta.verbose_name,
                    "record": record,
                    "url": (
                        reverse(kind.edit_url_name, args=[quote(row.id)])
                        + "#tab-history"
                        if record is not None
                        else None
                    ),
                    "action": {
                        "+": _("Created"),
                        "~": _("Changed"),
                        "-": _("Deleted"),
                    }.get(row.history_type, row.history_type),
                }
            )
        context["entries"] = entries
        return context


def may_see_recent_changes(user) -> bool:
    return any(
        _perm(user, "view", kind.model) or _perm(user, "change", kind.model)
        for kind in AUDITED.values()
    )


class MergeView(AuditViewMixin, TemplateView):
    """Merge another record into this one: choose it, pick the values, confirm."""

    template_name = "members/audit/merge.html"
    header_icon = "resubmit"
    page_title = gettext_lazy("Merge")

    def setup(self, request, *args, **kwargs):
        if kwargs["kind"] not in MERGEABLE:
            raise Http404
        super().setup(request, *args, **kwargs)
        self.merge_fields, self.merge = MERGEABLE[kwargs["kind"]]

    def candidates(self):
        visible = (
            self.kind.visible_to(self.request.user)
            .filter(merged_into__isnull=True)
            .exclude(pk=self.object.pk)
        )
        query = self.request.GET.get("q", "").strip()
        if query:
            from .admin_views import organisation_search_q, person_search_q

            search_q = (
                person_search_q if self.model is Person else organisation_search_q
            )
            for term in query.split():
                visible = visible.filter(search_q(term))
            return list(visible.select_related("chapter")[:25])
        if self.model is Person:
            return list(
                visible.filter(
                    Q(
                        first_name__iexact=self.object.first_name,
                        last_name__iexact=self.object.last_name,
                    )
                    | Q(pk__in=[p.pk for p in self.duplicates_of_object()])
                ).select_related("chapter")[:25]
            )
        return list(
            visible.filter(
                Q(name__iexact=self.object.name)
                | Q(pk__in=[o.pk for o in self.duplicates_of_object()])
            ).select_related("chapter")[:25]
        )

    def duplicates_of_object(self):
        record = self.object
        if self.model is Person:
            return person_duplicates(
                first_name=record.first_name,
                last_name=record.last_name,
                email=record.email,
                phone=record.phone or record.phone_mobile,
                birth_date=record.birth_date,
                exclude_pk=record.pk,
            )
        return organisation_duplicates(
            name=record.name,
            organisation_number=record.organisation_number,
            country=record.country,
            email=record.email,
            phone=record.phone,
            exclude_pk=record.pk,
        )

    def get_other(self, source):
        value = source.get("other", "")
        if not value.isdigit():
            return None
        return get_object_or_404(
            self.kind.visible_to(self.request.user)
            .filter(merged_into__isnull=True)
            .exclude(pk=self.object.pk),
            pk=int(value),
        )

    def comparison(self, other, chosen=None):
        rows = []
        for name in self.merge_fields:
            field = self.model._meta.get_field(name)
            mine = getattr(self.object, name)
            theirs = getattr(other, name)
            choice = (chosen or {}).get(name)
            if choice not in ("survivor", "duplicate"):
                # Keep this record's value, unless it has none and the other has one.
                empty = (None, "")
                take = mine in empty and theirs not in empty
                choice = "duplicate" if take else "survivor"
            rows.append(
                {
                    "name": name,
                    "label": field.verbose_name,
                    "survivor": display_value(self.model, name, mine),
                    "duplicate": display_value(self.model, name, theirs),
                    "same": mine == theirs,
                    "choice": choice,
                }
            )
        return rows

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        other = kwargs.get("other") or self.get_other(self.request.GET)
        context.update(
            object=self.object,
            other=other,
            kind=self.kwargs["kind"],
            query=self.request.GET.get("q", ""),
            cancel_url=self.record_url(),
            action_url=self.request.path,
        )
        if other is None:
            context["candidates"] = [
                {
                    "record": record,
                    "url": f"{self.request.path}?other={record.pk}",
                }
                for record in self.candidates()
            ]
        else:
            context["rows"] = self.comparison(other, kwargs.get("chosen"))
            context["other_url"] = self.record_url(other)
            context["swap_url"] = (
                reverse("members_audit:merge", args=[self.kwargs["kind"], other.pk])
                + f"?other={self.object.pk}"
            )
            if self.model is Person:
                context["moves"] = {
                    "memberships": other.memberships.count(),
                    "employments": other.employments.count(),
                }
            else:
                context["moves"] = {
                    "memberships": other.memberships.count(),
                    "employments": other.employments.count(),
                }
        return context

    def post(self, request, *args, **kwargs):
        other = self.get_other(request.POST)
        if other is None:
            raise Http404
        chosen = {name: request.POST.get(f"field_{name}") for name in self.merge_fields}
        take = [name for name, choice in chosen.items() if choice == "duplicate"]
        try:
            survivor = self.merge(
                survivor=self.object,
                duplicate=other,
                take_from_duplicate=take,
                by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return self.render_to_response(
                self.get_context_data(other=other, chosen=chosen)
            )
        messages.success(
            request,
            _("“%(duplicate)s” is merged into “%(survivor)s” and archived.")
            % {"duplicate": other, "survivor": survivor},
        )
        return redirect(self.record_url(survivor))


class QuickEntryView(TitledPageMixin, TemplateView):
    """Organisation + person + employment (+ the person's language) in one go.

    Likely duplicates of either are shown first: an existing organisation can be used
    instead, and a new person needs "Create the person anyway". Everything is saved in
    one transaction, in a chapter the user may see.
    """

    template_name = "members/audit/quick_entry.html"
    page_title = gettext_lazy("Quick entry")
    header_icon = "plus"

    def dispatch(self, request, *args, **kwargs):
        if not may_quick_enter(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def build_forms(self, data=None):
        user = self.request.user
        forms = {
            "control": QuickEntryControlForm(data, for_user=user, prefix="entry"),
            "organisation": QuickEntryOrganisationForm(data, prefix="organisation"),
            "person": QuickEntryPersonForm(data, prefix="person"),
            "employment": QuickEntryEmploymentForm(
                data,
                prefix="employment",
                initial={"start": timezone.localdate()},
            ),
        }
        if data is not None:
            chosen = data.get("entry-existing_organisation", "")
            if chosen.isdigit():
                found = organisations_visible_to(user).filter(pk=int(chosen)).first()
                if found is not None:
                    forms["control"].set_organisation_choices([found])
        return forms

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        forms = kwargs.get("forms") or self.build_forms()
        context.update(
            forms=forms,
            person_duplicates=kwargs.get("person_duplicates", []),
            organisation_duplicates=kwargs.get("organisation_duplicates", []),
            action_url=self.request.path,
        )
        return context

    def organisation_matches(self, org_form) -> list:
        data = org_form.cleaned_data
        visible = organisations_visible_to(self.request.user).filter(
            merged_into__isnull=True
        )
        found = organisation_duplicates(
            name=data.get("name") or "",
            organisation_number=data.get("organisation_number") or "",
            country=data.get("country") or "NO",
            email=data.get("email") or "",
            phone=data.get("phone") or "",
            queryset=visible,
        )
        same_name = visible.filter(name__iexact=(data.get("name") or "").strip())
        found_pks = {org.pk for org in found}
        return found + [org for org in same_name[:10] if org.pk not in found_pks]

    def post(self, request, *args, **kwargs):
        forms = self.build_forms(request.POST)
        control = forms["control"]
        org_form, person_form = forms["organisation"], forms["person"]
        employment_form = forms["employment"]
        control_ok = control.is_valid()
        existing = (
            control.cleaned_data.get("existing_organisation") if control_ok else None
        )
        valid = all(
            [
                control_ok,
                existing is not None or org_form.is_valid(),
                person_form.is_valid(),
                employment_form.is_valid(),
            ]
        )
        context = {"forms": forms}
        if not valid:
            messages.error(
                request, _("The records could not be created due to errors.")
            )
            return self.render_to_response(self.get_context_data(**context))

        warn = False
        if existing is None and not control.cleaned_data["create_organisation_anyway"]:
            matches = self.organisation_matches(org_form)
            if matches:
                control.set_organisation_choices(matches)
                context["organisation_duplicates"] = matches
                warn = True
        if not control.cleaned_data["create_person_anyway"]:
            data = person_form.cleaned_data
            found = person_duplicates(
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data.get("email") or "",
                phone=data.get("phone") or "",
                birth_date=data.get("birth_date"),
            )
            if found:
                visible = set(
                    persons_visible_to(request.user)
                    .filter(pk__in=[p.pk for p in found])
                    .values_list("pk", flat=True)
                )
                context["person_duplicates"] = [
                    {
                        "record": person,
                        "url": (
                            reverse("register_persons:edit", args=[person.pk])
                            if person.pk in visible
                            else None
                        ),
                    }
                    for person in found
                ]
                warn = True
        if warn:
            messages.warning(
                request,
                _(
                    "Some of these may be in the register already. Check the likely "
                    "duplicates below, then save again."
                ),
            )
            return self.render_to_response(self.get_context_data(**context))

        chapter = control.cleaned_data.get("chapter")
        try:
            with transaction.atomic():
                if existing is not None:
                    organisation = get_object_or_404(
                        organisations_visible_to(request.user), pk=existing
                    )
                else:
                    organisation = org_form.save(commit=False)
                    organisation.chapter = chapter
                    organisation.full_clean()
                    organisation.save()
                person = person_form.save(commit=False)
                person.chapter = chapter
                person.full_clean()
                person.save()
                employment = employment_form.save(commit=False)
                employment.person = person
                employment.organisation = organisation
                employment.full_clean()
                employment.save()
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return self.render_to_response(self.get_context_data(**context))
        messages.success(
            request,
            _("“%(person)s” at “%(organisation)s” is in the register.")
            % {"person": person, "organisation": organisation},
            buttons=[
                messages.button(
                    reverse("register_persons:edit", args=[person.pk]), _("Open")
                )
            ],
        )
        return redirect(reverse("register_persons:edit", args=[person.pk]))


def may_quick_enter(user) -> bool:
    return all(
        _perm(user, "add", model) for model in (Person, Organisation, Employment)
    )


# --- URLs and menu -------------------------------------------------------------------

urlpatterns = [
    path("recent-changes/", RecentChangesView.as_view(), name="recent_changes"),
    path("quick-entry/", QuickEntryView.as_view(), name="quick_entry"),
    path(
        "<str:kind>/<int:pk>/restore/<int:history_id>/<str:field>/",
        RestoreView.as_view(),
        name="restore",
    ),
    path("<str:kind>/<int:pk>/merge/", MergeView.as_view(), name="merge"),
]


@hooks.register("register_admin_urls")
def register_audit_urls():
    return [
        path(
            "register/audit/",
            include((urlpatterns, "members_audit"), namespace="members_audit"),
        )
    ]


class _PermittedMenuItem(MenuItem):
    def __init__(self, *args, check=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check

    def is_shown(self, request):
        return self.check(request.user)


def audit_menu_items() -> list[MenuItem]:
    """The Register menu's "Quick entry" and "Recent changes" entries (added by
    ``wagtail_hooks.RegisterViewSetGroup``), each shown only to who may use it."""
    return [
        _PermittedMenuItem(
            gettext_lazy("Quick entry"),
            reverse("members_audit:quick_entry"),
            name="register-quick-entry",
            icon_name="plus",
            order=1050,
            check=may_quick_enter,
        ),
        _PermittedMenuItem(
            gettext_lazy("Recent changes"),
            reverse("members_audit:recent_changes"),
            name="register-recent-changes",
            icon_name="history",
            order=1100,
            check=may_see_recent_changes,
        ),
    ]
