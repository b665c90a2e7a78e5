"""Changing how a person wants to be reached, and which lists they are on.

Every change goes through these functions, whoever makes it (the member in My
Account, staff in the admin, an import): they change only what really changes, stamp
``changed_at`` and ``source``, and leave a simple-history row with the author
(``history_user``) and the source as its reason. Saving the same state again
records nothing, so the history reads as a list of real decisions.

The rule that members only add themselves to lists offered for self-service is
here, not in the form: a forged request meets the same refusal as the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Person

from .models import Channel, ChannelConsent, NewsletterList, Subscription

#: Where a change came from (stored in ``source`` and as the history's reason).
SOURCE_MY_ACCOUNT = "my-account"
SOURCE_ADMIN = "admin"
SOURCE_IMPORT = "import"
SOURCE_ANONYMISED = "anonymised"

#: Sources through which the member acts for themselves: the self-service rules
#: apply to them.
MEMBER_SOURCES = frozenset({SOURCE_MY_ACCOUNT})

#: Sent after a transaction that changed a person's preferences has committed, with
#: ``person`` and ``changes`` (a ``PreferencesChange``). Sending jobs listen to it.
preferences_changed = Signal()


class NewsletterError(ValidationError):
    """A preference that cannot be set, with a message for the user."""


@dataclass
class PreferencesChange:
    """What a save changed: the consent and subscription rows that were written."""

    consents: list[ChannelConsent] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.consents or self.subscriptions)


def _lock_person(person: Person) -> None:
    """Serialise changes to one person's preferences, so that two saves at once
    cannot both create the same row."""
    list(
        Person.objects.select_for_update(of=("self",))
        .filter(pk=person.pk)
        .values_list("pk", flat=True)
    )


def _stamp(row, *, by, source: str, now) -> None:
    row.changed_at = now
    row.source = source
    # One save's changes share one time, in the row and in its history.
    row._history_date = now
    row._history_user = by
    row._change_reason = source


def _check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise NewsletterError(
            _("“%(channel)s” is not a way we can reach you.") % {"channel": channel},
            code="unknown_channel",
        )


def _check_may_subscribe(newsletter: NewsletterList, *, source: str) -> None:
    """Members add themselves only to active self-service lists; staff and imports
    only to active lists."""
    if not newsletter.is_active:
        raise NewsletterError(
            _("The list “%(name)s” is no longer in use.") % {"name": newsletter.name},
            code="inactive_list",
        )
    if source in MEMBER_SOURCES and not newsletter.self_service:
        raise NewsletterError(
            _(
                "You cannot subscribe to “%(name)s” yourself. Please contact us if "
                "you would like to receive it."
            )
            % {"name": newsletter.name},
            code="not_self_service",
        )


def _consent_write(
    *, person, current: ChannelConsent | None, channel, allowed, by, source, now
) -> ChannelConsent | None:
    if current is not None and current.allowed == allowed:
        return None
    consent = current or ChannelConsent(person=person, channel=channel)
    consent.allowed = allowed
    _stamp(consent, by=by, source=source, now=now)
    consent.save()
    return consent


def _subscription_write(
    *, person, current: Subscription | None, newsletter, subscribed, by, source, now
) -> Subscription | None:
    if (current.is_subscribed if current is not None else False) == subscribed:
        return None
    if subscribed:
        _check_may_subscribe(newsletter, source=source)
    subscription = current or Subscription(person=person, newsletter=newsletter)
    subscription.is_subscribed = subscribed
    _stamp(subscription, by=by, source=source, now=now)
    subscription.save()
    return subscription


def _announce(person: Person, change: PreferencesChange) -> None:
    if change.changed:
        transaction.on_commit(
            lambda: preferences_changed.send(
                sender=Person, person=person, changes=change
            )
        )


def consent_set(
    *, person: Person, channel: str, allowed: bool, by=None, source: str
) -> tuple[ChannelConsent, bool]:
    """Record whether ``person`` may be reached by ``channel``; return the consent
    and whether anything changed (setting the same answer again changes nothing)."""
    _check_channel(channel)
    with transaction.atomic():
        _lock_person(person)
        current = ChannelConsent.objects.filter(person=person, channel=channel).first()
        written = _consent_write(
            person=person,
            current=current,
            channel=channel,
            allowed=allowed,
            by=by,
            source=source,
            now=timezone.now(),
        )
        _announce(person, PreferencesChange(consents=[written] if written else []))
    return (written or current), written is not None


def subscription_set(
    *,
    person: Person,
    newsletter: NewsletterList,
    subscribed: bool,
    by=None,
    source: str,
) -> tuple[Subscription | None, bool]:
    """Put ``person`` on ``newsletter`` or take them off; return the subscription
    (None if they never were on it and are not now) and whether anything changed.

    Unsubscribing keeps the row. A member (``source`` "my-account") may only
    subscribe to an active self-service list; anyone else to an active list.
    Leaving a list is always allowed."""
    with transaction.atomic():
        _lock_person(person)
        current = Subscription.objects.filter(
            person=person, newsletter=newsletter
        ).first()
        written = _subscription_write(
            person=person,
            current=current,
            newsletter=newsletter,
            subscribed=subscribed,
            by=by,
            source=source,
            now=timezone.now(),
        )
        _announce(person, PreferencesChange(subscriptions=[written] if written else []))
    return (written or current), written is not None


def preferences_save(
    *,
    person: Person,
    consents: dict[str, bool | None],
    subscriptions: dict[int, bool],
    by=None,
    source: str,
) -> PreferencesChange:
    """Save a whole preferences form at once: ``consents`` maps a channel to
    allowed or not (None: not answered, left as it is), ``subscriptions`` maps a
    list's id to subscribed or not. Only what differs from the stored state is
    written; if one part is refused, nothing is saved.

    Reads in a fixed number of queries; each real change costs two writes (the row
    and its history)."""
    for channel in consents:
        _check_channel(channel)
    change = PreferencesChange()
    with transaction.atomic():
        _lock_person(person)
        now = timezone.now()
        stored_consents = {
            consent.channel: consent
            for consent in ChannelConsent.objects.filter(
                person=person, channel__in=list(consents)
            )
        }
        for channel, allowed in consents.items():
            if allowed is None:
                continue
            written = _consent_write(
                person=person,
                current=stored_consents.get(channel),
                channel=channel,
                allowed=allowed,
                by=by,
                source=source,
                now=now,
            )
            if written is not None:
                change.consents.append(written)

        lists = NewsletterList.objects.in_bulk(list(subscriptions))
        missing = set(subscriptions) - set(lists)
        if missing:
            raise NewsletterError(
                _("One of the lists you chose does not exist (any more)."),
                code="unknown_list",
            )
        stored_subscriptions = {
            subscription.newsletter_id: subscription
            for subscription in Subscription.objects.filter(
                person=person, newsletter_id__in=list(subscriptions)
            )
        }
        for newsletter_id, subscribed in subscriptions.items():
            written = _subscription_write(
                person=person,
                current=stored_subscriptions.get(newsletter_id),
                newsletter=lists[newsletter_id],
                subscribed=subscribed,
                by=by,
                source=source,
                now=now,
            )
            if written is not None:
                change.subscriptions.append(written)
        _announce(person, change)
    return change


def preferences_withdraw_all(*, person: Person, by=None, source: str) -> int:
    """End every subscription and withdraw every consent of ``person`` (they are
    anonymised, or asked us never to contact them again); return how many rows
    changed. The rows and their history stay."""
    with transaction.atomic():
        _lock_person(person)
        now = timezone.now()
        change = PreferencesChange()
        for consent in ChannelConsent.objects.filter(person=person, allowed=True):
            change.consents.append(
                _consent_write(
                    person=person,
                    current=consent,
                    channel=consent.channel,
                    allowed=False,
                    by=by,
                    source=source,
                    now=now,
                )
            )
        for subscription in Subscription.objects.filter(
            person=person, is_subscribed=True
        ).select_related("newsletter"):
            change.subscriptions.append(
                _subscription_write(
                    person=person,
                    current=subscription,
                    newsletter=subscription.newsletter,
                    subscribed=False,
                    by=by,
                    source=source,
                    now=now,
                )
            )
        _announce(person, change)
    return len(change.consents) + len(change.subscriptions)


def person_anonymised(*, person: Person, by=None) -> None:
    """``members.privacy.person_anonymise`` step: nothing more is sent to a person
    who is anonymised (registered in ``NewslettersConfig.ready``)."""
    preferences_withdraw_all(person=person, by=by, source=SOURCE_ANONYMISED)


def person_merged(*, survivor: Person, duplicate: Person, by=None) -> None:
    """``members.duplicates.person_merge`` step: the duplicate's subscriptions and
    consents move to the survivor, with their history (the rows are the same
    records, now of the survivor), where the survivor has none for that list or
    channel. Where both have one, the survivor's answer stands and the duplicate's
    stays on the archived record, history and all."""
    lists = Subscription.objects.filter(person=survivor).values("newsletter_id")
    moving = Subscription.objects.filter(person=duplicate).exclude(
        newsletter_id__in=lists
    )
    ids = list(moving.values_list("pk", flat=True))
    Subscription.objects.filter(pk__in=ids).update(person=survivor)
    Subscription.history.model.objects.filter(id__in=ids).update(person=survivor)

    channels = ChannelConsent.objects.filter(person=survivor).values("channel")
    moving = ChannelConsent.objects.filter(person=duplicate).exclude(
        channel__in=channels
    )
    ids = list(moving.values_list("pk", flat=True))
    ChannelConsent.objects.filter(pk__in=ids).update(person=survivor)
    ChannelConsent.history.model.objects.filter(id__in=ids).update(person=survivor)
