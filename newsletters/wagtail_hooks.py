"""Newsletters in the Wagtail admin: one "Newsletters" menu with the lists.

Lists are kept with Wagtail's own ``ModelViewSet`` and Django's model permissions
(``newsletters.add/change/view_newsletterlist``; the pre-made roles get them in
``newsletters/roles.py``). Nobody deletes a list, superusers included: a list that
is no longer used is made inactive, so its subscriptions and their history stay.
The index shows each list's current subscribers, counted in the same query.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from members.admin_permissions import ArchiveInsteadOfDeletePolicy

from . import admin_panels  # noqa: F401  the "Newsletters" tab on a person's record
from .models import NewsletterList
from .selectors import lists_with_subscriber_counts

# Registered before the viewset asks for its policy (Wagtail requires this order).
register_permission_policy(
    NewsletterList, ArchiveInsteadOfDeletePolicy(NewsletterList), exact_class=True
)


class NewsletterListIndexView(generic.IndexView):
    def get_base_queryset(self):
        return lists_with_subscriber_counts()


class NewsletterListInspectView(generic.InspectView):
    """The list's details and how many people are on it now."""

    def get_object(self, queryset=None):
        return get_object_or_404(lists_with_subscriber_counts(), pk=self.pk)

    def get_fields(self):
        return [*super().get_fields(), "subscriber_count"]

    def get_field_label(self, field_name, field):
        if field_name == "subscriber_count":
            return _("Subscribers")
        return super().get_field_label(field_name, field)

    def get_subscriber_count_display_value(self):
        return self.object.subscriber_count


class NewsletterListViewSet(ModelViewSet):
    model = NewsletterList
    name = "newsletter_lists"
    url_prefix = "newsletters/lists"
    icon = "list-ul"
    menu_label = _("Lists")
    menu_order = 100
    copy_view_enabled = False
    inspect_view_enabled = True
    add_to_reference_index = False
    search_backend_name = None
    search_fields = ["name", "description"]
    index_view_class = NewsletterListIndexView
    inspect_view_class = NewsletterListInspectView
    list_display = [
        "name",
        "channel",
        "self_service",
        "is_active",
        Column(
            "subscriber_count",
            label=_("Subscribers"),
            sort_key="subscriber_count",
        ),
    ]
    list_filter = ["channel", "self_service", "is_active"]
    ordering = ["name", "pk"]
    form_fields = ["name", "description", "channel", "self_service", "is_active"]
    inspect_view_fields = [
        "name",
        "description",
        "channel",
        "self_service",
        "is_active",
        "created_at",
    ]


class NewslettersViewSetGroup(ViewSetGroup):
    menu_label = _("Newsletters")
    menu_icon = "mail"
    menu_order = 170
    items = (NewsletterListViewSet,)


@hooks.register("register_admin_viewset")
def register_newsletter_viewsets():
    return NewslettersViewSetGroup()
