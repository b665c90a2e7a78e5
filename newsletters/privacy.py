"""What newsletters adds to a member's data download (``members.privacy``).

Registered in ``NewslettersConfig.ready``: ``members`` knows nothing of newsletters,
so the register's export asks the apps that build on it for their sections.
Both sections carry the current state and every change with its time, from → to
and where it was made, so the member can see when they agreed to what.
"""

from __future__ import annotations

from collections import defaultdict

from members.models import Person

from .models import ChannelConsent
from .selectors import preference_changes, subscriptions_of


def _history_by_record(person: Person, kind: str) -> dict[int, list[dict]]:
    history: dict[int, list[dict]] = defaultdict(list)
    for entry in reversed(preference_changes(person)):
        if entry.kind != kind:
            continue
        history[entry.record_id].append(
            {
                "changed_at": entry.changed_at,
                "from": entry.old_value,
                "to": entry.new_value,
                "through": entry.source,
                "by_you": entry.by_person,
            }
        )
    return history


def consents_export(*, person: Person) -> list[dict]:
    """Per channel: whether the person may be reached by it, and the history."""
    history = _history_by_record(person, "channel")
    return [
        {
            "channel": consent.channel,
            "allowed": consent.allowed,
            "changed_at": consent.changed_at,
            "source": consent.source,
            "history": history.get(consent.pk, []),
        }
        for consent in ChannelConsent.objects.filter(person=person).order_by(
            "channel", "pk"
        )
    ]


def subscriptions_export(*, person: Person) -> list[dict]:
    """Every list the person is or was on, and the history."""
    history = _history_by_record(person, "list")
    return [
        {
            "list": subscription.newsletter.name,
            "subscribed": subscription.is_subscribed,
            "changed_at": subscription.changed_at,
            "source": subscription.source,
            "history": history.get(subscription.pk, []),
        }
        for subscription in subscriptions_of(person)
    ]
