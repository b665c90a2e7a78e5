"""Read-only panels and the tabs of a record page in the back office.

Memberships and employments are shown as lists on the person's and organisation's
record page rather than as inline forms: a membership's status only changes through its
own Activate / End actions, and both link to their own edit pages.

Extension point: other parts of Guildhall add tabs to the record pages (history,
groups, contact log) without editing this module, with a Wagtail hook::

    @hooks.register(RECORD_TABS_HOOK)
    def history_tab(model):
        if model in (Person, Organisation):
            return [ObjectList([MyHistoryPanel()], heading=_("History"))]
        return []
"""

from __future__ import annotations

from django.urls import reverse
from wagtail import hooks
from wagtail.admin.panels import Panel

from .admin_scope import employments_visible_to
from .selectors import memberships_visible_to

#: Name of the Wagtail hook that adds tabs to a register record page. Each function
#: registered for it gets the model class and returns a list of ``ObjectList`` tabs.
RECORD_TABS_HOOK = "members_register_record_tabs"


def extra_record_tabs(model) -> list:
    """The tabs other apps registered through ``RECORD_TABS_HOOK`` for ``model``."""
    tabs = []
    for hook in hooks.get_hooks(RECORD_TABS_HOOK):
        tabs.extend(hook(model) or [])
    return tabs


class RelatedListPanel(Panel):
    """A read-only table of records related to the one being edited."""

    template_name = ""
    empty_text = ""

    def get_rows(self, instance, request):  # pragma: no cover - overridden
        raise NotImplementedError

    class BoundPanel(Panel.BoundPanel):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.template_name = self.panel.template_name

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            saved = bool(self.instance and self.instance.pk)
            context["saved"] = saved
            context["rows"] = (
                self.panel.get_rows(self.instance, self.request) if saved else []
            )
            context.update(self.panel.get_extra_context(self.instance, self.request))
            return context

    def get_extra_context(self, instance, request) -> dict:
        return {}


class MembershipsPanel(RelatedListPanel):
    """The holder's memberships the staff user may see, newest first."""

    template_name = "members/admin/panels/memberships.html"
    holder_field = "person"

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["holder_field"] = self.holder_field
        return kwargs

    def __init__(self, *args, holder_field="person", **kwargs):
        super().__init__(*args, **kwargs)
        self.holder_field = holder_field

    def get_rows(self, instance, request):
        memberships = (
            memberships_visible_to(request.user)
            .filter(**{self.holder_field: instance})
            .select_related("type", "chapter")
            .order_by("-start", "-pk")
        )
        return [
            {
                "membership": membership,
                "edit_url": reverse("register_memberships:edit", args=[membership.pk]),
            }
            for membership in memberships
        ]

    def get_extra_context(self, instance, request):
        context = {}
        if instance and instance.pk:
            context["add_url"] = (
                reverse("register_memberships:add")
                + f"?{self.holder_field}={instance.pk}"
            )
        return context


class EmploymentsPanel(RelatedListPanel):
    """Where a person works or worked, or who works at an organisation."""

    template_name = "members/admin/panels/employments.html"

    def __init__(self, *args, owner_field="person", **kwargs):
        super().__init__(*args, **kwargs)
        self.owner_field = owner_field

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["owner_field"] = self.owner_field
        return kwargs

    def get_rows(self, instance, request):
        employments = (
            employments_visible_to(request.user)
            .filter(**{self.owner_field: instance})
            .select_related("person", "organisation", "function_classification")
            .order_by("-start", "-pk")
        )
        return [
            {
                "employment": employment,
                "edit_url": reverse("register_employments:edit", args=[employment.pk]),
            }
            for employment in employments
        ]

    def get_extra_context(self, instance, request):
        context = {"owner_field": self.owner_field}
        if instance and instance.pk:
            context["add_url"] = (
                reverse("register_employments:add")
                + f"?{self.owner_field}={instance.pk}"
            )
        return context


class StatusChangesPanel(RelatedListPanel):
    """Every status change of a membership: from, to, who, when, why."""

    template_name = "members/admin/panels/status_changes.html"

    def get_rows(self, instance, request):
        return list(
            instance.status_changes.select_related("changed_by").order_by(
                "-changed_at", "-pk"
            )
        )

    def get_extra_context(self, instance, request):
        return {"membership": instance}


__all__ = [
    "RECORD_TABS_HOOK",
    "extra_record_tabs",
    "MembershipsPanel",
    "EmploymentsPanel",
    "StatusChangesPanel",
]
