"""Shared pieces of the back office's admin modules.

- Scope: what of the relations work (committees, seats, contact log) a user may see,
  built on ``members.selectors``; ``chapters_for``.
- Permissions: ``RelationsPermissionPolicy`` (registered here for committees and the
  contact log) and the ``can_*`` checks of the Relations screens.
- Base classes: checked views, menu items and viewsets; page chrome with breadcrumbs
  (``TitledPageMixin``); scoped 404 lookups for inspect views; inline formsets carried
  by a model form and their panel; record-page list panels keyed by an owner field.
- Exports: ``safe_cell`` / ``escape_formula`` keep spreadsheets from running a cell as
  a formula.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import Panel
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from .admin_panels import RelatedListPanel
from .models import (
    Chapter,
    Committee,
    CommitteeMembership,
    ContactLogEntry,
)
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


def current_or_active(queryset, current_pk):
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


class TitledPageMixin(WagtailAdminTemplateMixin):
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


class ScopedInspectMixin:
    """For an inspect view: the object is looked up in ``get_scoped_queryset()`` only,
    so a record outside the user's scope is not found (404). The view (or a mixin
    such as ``admin_views.ScopedViewMixin``) provides ``get_scoped_queryset``."""

    def get_object(self, queryset=None):
        return get_object_or_404(self.get_scoped_queryset(), pk=self.pk)


# --- Forms carrying an inline formset ----------------------------------------------


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

        @property
        def media(self):
            # The rows' widgets (a person chooser's script) come with the page.
            return self.form.formset.media


class OwnerListPanel(RelatedListPanel):
    """A record page's list of related rows, for a person or an organisation: which
    one is ``owner_field`` ("person" or "organisation")."""

    def __init__(self, *args, owner_field="person", **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_field = owner_field

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["owner_field"] = self.owner_field
        return kwargs


# --- Exports -----------------------------------------------------------------------

#: A cell starting with one of these is run as a formula by spreadsheet apps.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str, prefixes: tuple[str, ...] = FORMULA_PREFIXES) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would run it as a formula."""
    if text[:1] in prefixes:
        return "'" + text
    return text


def safe_cell(value):
    """A cell value a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return escape_formula(value)
