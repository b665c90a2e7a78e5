"""The "Newsletters" tab on a person's record in the Register admin.

``members`` lets other apps add record tabs through ``RECORD_TABS_HOOK``; this module
registers one (imported from ``NewslettersConfig.ready`` so the tab exists before the
register's viewsets build their record pages). It is read-only: the answer per
channel, every list the person is or was on, and the latest changes. The tab is
shown only to staff who may see subscriptions.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import ObjectList

from members.admin_panels import RECORD_TABS_HOOK, RelatedListPanel
from members.models import Person

from .models import Channel
from .selectors import (
    preference_changes,
    preferences_for,
    source_label,
    subscriptions_of,
)

#: How many of the latest changes the tab lists.
RECENT_CHANGES = 20


class PreferencesPanel(RelatedListPanel):
    """A person's consents per channel, subscriptions and their latest changes."""

    template_name = "newsletters/admin/preferences_panel.html"

    def get_rows(self, instance, request):
        return preference_changes(instance)[:RECENT_CHANGES]

    def get_extra_context(self, instance, request):
        if not (instance and instance.pk):
            return {}
        preferences = preferences_for(instance)
        labels = dict(Channel.choices)
        return {
            "consents": [
                {
                    "label": labels[channel],
                    "allowed": allowed,
                    "row": preferences.consent_rows.get(channel),
                    "source": source_label(row.source) if row else "",
                }
                for channel, allowed in preferences.consents.items()
                for row in [preferences.consent_rows.get(channel)]
            ],
            "subscriptions": [
                {
                    "subscription": subscription,
                    "source": source_label(subscription.source),
                }
                for subscription in subscriptions_of(instance)
            ],
        }


def _newsletter_tabs(model):
    if model is not Person:
        return []
    return [
        ObjectList(
            [PreferencesPanel()],
            heading=_("Newsletters"),
            classname="newsletters-preferences-tab",
            permission="newsletters.view_subscription",
        )
    ]


hooks.register(RECORD_TABS_HOOK, _newsletter_tabs)
