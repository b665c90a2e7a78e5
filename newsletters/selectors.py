"""Reading a person's preferences and their history, in a fixed number of queries.

``preferences_for`` is what My Account's form shows: the answer per channel and the
lists offered to the person. ``preference_changes`` turns the simple-history rows of
both models into one list of changes, newest first: when, what, from → to, through
where, and whether the person made it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Person

from .models import Channel, ChannelConsent, NewsletterList, Subscription
from .services import (
    SOURCE_ADMIN,
    SOURCE_ANONYMISED,
    SOURCE_IMPORT,
    SOURCE_MY_ACCOUNT,
)

#: How each known ``source`` reads for people.
SOURCE_LABELS = {
    SOURCE_MY_ACCOUNT: gettext_lazy("My Account"),
    SOURCE_ADMIN: gettext_lazy("our staff"),
    SOURCE_IMPORT: gettext_lazy("an import"),
    SOURCE_ANONYMISED: gettext_lazy("closing the account"),
}


def source_label(source: str) -> str:
    return str(SOURCE_LABELS.get(source, source or "–"))


# The lists -------------------------------------------------------------------------


def lists_with_subscriber_counts() -> QuerySet[NewsletterList]:
    """Every list with ``subscriber_count``, the people currently subscribed."""
    return NewsletterList.objects.annotate(
        subscriber_count=Count(
            "subscriptions", filter=Q(subscriptions__is_subscribed=True)
        )
    )


def lists_offered_to(person: Person) -> QuerySet[NewsletterList]:
    """The lists a person may choose in My Account: the active self-service lists,
    and any active list they are on (staff put them there), so that leaving is
    always possible."""
    return (
        NewsletterList.objects.filter(is_active=True)
        .filter(
            Q(self_service=True)
            | Q(subscriptions__person=person, subscriptions__is_subscribed=True)
        )
        .distinct()
        .order_by("name", "pk")
    )


@dataclass
class ListChoice:
    newsletter: NewsletterList
    subscribed: bool
    #: The list is not self-service: the person is on it because staff put them
    #: there, and cannot come back by themselves once they leave.
    staff_only: bool
    changed_at: datetime | None


@dataclass
class Preferences:
    person: Person
    #: Channel value -> True, False, or None (never asked).
    consents: dict[str, bool | None]
    consent_rows: dict[str, ChannelConsent]
    lists: list[ListChoice]


def preferences_for(person: Person) -> Preferences:
    """The person's answer per channel and the lists offered to them (3 queries)."""
    rows = {
        consent.channel: consent
        for consent in ChannelConsent.objects.filter(person=person)
    }
    offered = list(lists_offered_to(person))
    subscriptions = {
        subscription.newsletter_id: subscription
        for subscription in Subscription.objects.filter(
            person=person, newsletter__in=[item.pk for item in offered]
        )
    }
    choices = []
    for newsletter in offered:
        subscription = subscriptions.get(newsletter.pk)
        choices.append(
            ListChoice(
                newsletter=newsletter,
                subscribed=bool(subscription and subscription.is_subscribed),
                staff_only=not newsletter.self_service,
                changed_at=subscription.changed_at if subscription else None,
            )
        )
    return Preferences(
        person=person,
        consents={
            channel: (rows[channel].allowed if channel in rows else None)
            for channel in Channel.values
        },
        consent_rows=rows,
        lists=choices,
    )


def subscriptions_of(person: Person) -> QuerySet[Subscription]:
    """All the person's subscriptions, current and ended, with their lists."""
    return (
        Subscription.objects.filter(person=person)
        .select_related("newsletter")
        .order_by("newsletter__name", "pk")
    )


# The history -------------------------------------------------------------------------


@dataclass
class PreferenceChangeEntry:
    """One change of a consent or a subscription, as the person reads it."""

    changed_at: datetime
    kind: str  # "channel" or "list"
    record_id: int  # the consent's or the subscription's id
    subject: str  # the channel's or the list's name
    old: str
    new: str
    source: str
    source_label: str
    changed_by_id: int | None
    #: The same change as a plain value (for exports): True, False, or None.
    old_value: bool | None
    new_value: bool | None
    #: The person made the change themselves (signed in as their own user).
    by_person: bool = False


def _yes_no(value: bool | None, *, kind: str) -> str:
    if value is None:
        return _("not asked") if kind == "channel" else _("not subscribed")
    if kind == "channel":
        return _("yes") if value else _("no")
    return _("subscribed") if value else _("not subscribed")


def _entries(rows, *, kind: str, key: str, value: str, subject) -> list:
    """Changes from history rows of one model (oldest first per row): each row's
    value compared with the row before it of the same record."""
    entries = []
    last: dict = {}
    for row in sorted(rows, key=lambda row: (row.history_date, row.history_id)):
        if row.history_type == "-":
            continue
        record = getattr(row, key)
        old_value = last.get(record)
        new_value = getattr(row, value)
        last[record] = new_value
        if old_value == new_value and row.history_type != "+":
            continue
        entries.append(
            PreferenceChangeEntry(
                changed_at=row.history_date,
                kind=kind,
                record_id=record,
                subject=subject(row),
                old=_yes_no(old_value, kind=kind),
                new=_yes_no(new_value, kind=kind),
                source=row.source,
                source_label=source_label(row.source),
                changed_by_id=row.history_user_id,
                old_value=old_value,
                new_value=new_value,
            )
        )
    return entries


def _list_name(row) -> str:
    try:
        newsletter = row.newsletter
    except NewsletterList.DoesNotExist:
        newsletter = None
    return newsletter.name if newsletter is not None else _("a removed list")


def preference_changes(person: Person) -> list[PreferenceChangeEntry]:
    """Every change to the person's consents and subscriptions, newest first
    (2 queries, however many changes there are)."""
    consent_rows = ChannelConsent.history.filter(person_id=person.pk).only(
        "id",
        "channel",
        "allowed",
        "source",
        "history_id",
        "history_date",
        "history_type",
        "history_user_id",
    )
    subscription_rows = (
        Subscription.history.filter(person_id=person.pk)
        .select_related("newsletter")
        .only(
            "id",
            "newsletter__name",
            "is_subscribed",
            "source",
            "history_id",
            "history_date",
            "history_type",
            "history_user_id",
        )
    )
    labels = dict(Channel.choices)
    entries = _entries(
        consent_rows,
        kind="channel",
        key="id",
        value="allowed",
        subject=lambda row: str(labels.get(row.channel, row.channel)),
    ) + _entries(
        subscription_rows,
        kind="list",
        key="id",
        value="is_subscribed",
        subject=_list_name,
    )
    for entry in entries:
        entry.by_person = bool(person.user_id and entry.changed_by_id == person.user_id)
    entries.sort(key=lambda entry: entry.changed_at, reverse=True)
    return entries
