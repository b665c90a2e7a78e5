"""Newsletter services: consents and subscriptions change only when something
changes, each change is kept with time, author and source, members only add
themselves to active self-service lists, the data download carries it all, and an
anonymised person is taken off every list."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.privacy import person_anonymise, person_data_csv, person_data_export
from newsletters.models import Channel, ChannelConsent, Subscription
from newsletters.selectors import (
    lists_offered_to,
    lists_with_subscriber_counts,
    preference_changes,
    preferences_for,
)
from newsletters.services import (
    SOURCE_ADMIN,
    SOURCE_MY_ACCOUNT,
    NewsletterError,
    consent_set,
    preferences_changed,
    preferences_save,
    subscription_set,
)
from tests.factories import StaffUserFactory, UserFactory
from tests.members.factories import PersonFactory

from .factories import NewsletterListFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari():
    return PersonFactory(first_name="Kari", last_name="Nordmann", user=UserFactory())


def test_consent_records_time_author_and_history_and_a_repeat_records_nothing(kari):
    before = timezone.now()

    consent, changed = consent_set(
        person=kari,
        channel=Channel.EMAIL,
        allowed=True,
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )

    assert changed is True
    consent.refresh_from_db()
    assert consent.allowed is True
    assert consent.source == SOURCE_MY_ACCOUNT
    assert before <= consent.changed_at <= timezone.now()
    (row,) = consent.history.all()
    assert row.history_user == kari.user
    assert row.history_change_reason == SOURCE_MY_ACCOUNT
    assert row.history_date == consent.changed_at

    again, changed = consent_set(
        person=kari,
        channel=Channel.EMAIL,
        allowed=True,
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )

    assert changed is False
    assert again.pk == consent.pk
    assert consent.history.count() == 1
    again.refresh_from_db()
    assert again.changed_at == consent.changed_at


def test_withdrawing_consent_keeps_both_answers_in_the_history(kari):
    staff = StaffUserFactory()
    consent_set(person=kari, channel="sms", allowed=True, by=kari.user, source="join")
    consent_set(person=kari, channel="sms", allowed=False, by=staff, source="admin")

    consent = ChannelConsent.objects.get(person=kari, channel="sms")
    assert consent.allowed is False
    assert [row.allowed for row in consent.history.order_by("history_id")] == [
        True,
        False,
    ]
    newest, oldest = preference_changes(kari)
    assert (newest.subject, newest.old, newest.new) == ("SMS", "yes", "no")
    assert newest.by_person is False and newest.source_label == "our staff"
    assert (oldest.old, oldest.new) == ("not asked", "yes")
    assert oldest.by_person is True


def test_an_unknown_channel_is_refused(kari):
    with pytest.raises(NewsletterError):
        consent_set(person=kari, channel="pigeon", allowed=True, source="admin")
    assert not ChannelConsent.objects.exists()


def test_subscribe_then_unsubscribe_keeps_the_row_and_both_changes(kari):
    news = NewsletterListFactory(name="Monthly news")

    subscription, changed = subscription_set(
        person=kari,
        newsletter=news,
        subscribed=True,
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )
    assert changed and subscription.is_subscribed
    subscribed_at = subscription.changed_at

    subscription, changed = subscription_set(
        person=kari,
        newsletter=news,
        subscribed=False,
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )

    assert changed
    (row,) = Subscription.objects.filter(person=kari)
    assert row.is_subscribed is False
    assert row.changed_at >= subscribed_at
    changes = preference_changes(kari)
    assert [(c.subject, c.old, c.new) for c in changes] == [
        ("Monthly news", "subscribed", "not subscribed"),
        ("Monthly news", "not subscribed", "subscribed"),
    ]
    assert changes[0].changed_at >= changes[1].changed_at == subscribed_at


def test_unsubscribing_from_a_list_never_joined_records_nothing(kari):
    news = NewsletterListFactory()
    subscription, changed = subscription_set(
        person=kari, newsletter=news, subscribed=False, source=SOURCE_MY_ACCOUNT
    )
    assert subscription is None and changed is False
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "fields", [{"self_service": False}, {"is_active": False}], ids=str
)
def test_a_member_cannot_subscribe_to_a_staff_or_inactive_list(kari, fields):
    board = NewsletterListFactory(name="Board circular", **fields)

    with pytest.raises(NewsletterError) as refused:
        subscription_set(
            person=kari,
            newsletter=board,
            subscribed=True,
            by=kari.user,
            source=SOURCE_MY_ACCOUNT,
        )

    assert "Board circular" in refused.value.messages[0]
    assert not Subscription.objects.exists()


def test_staff_may_add_to_a_staff_list_and_the_member_may_leave_it(kari):
    board = NewsletterListFactory(name="Board circular", self_service=False)
    subscription_set(
        person=kari, newsletter=board, subscribed=True, source=SOURCE_ADMIN
    )
    assert [c.newsletter for c in preferences_for(kari).lists] == [board]

    subscription_set(
        person=kari,
        newsletter=board,
        subscribed=False,
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )

    assert not Subscription.objects.get().is_subscribed
    assert list(lists_offered_to(kari)) == []


def test_preferences_save_changes_only_what_changed(kari):
    news = NewsletterListFactory(name="News")
    jobs = NewsletterListFactory(name="Jobs")
    preferences_save(
        person=kari,
        consents={"email": True, "letter": False, "sms": None},
        subscriptions={news.pk: True, jobs.pk: False},
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )
    assert ChannelConsent.history.count() == 2
    assert Subscription.history.count() == 1

    change = preferences_save(
        person=kari,
        consents={"email": True, "letter": True, "sms": None},
        subscriptions={news.pk: True, jobs.pk: True},
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )

    assert [c.channel for c in change.consents] == ["letter"]
    assert [s.newsletter for s in change.subscriptions] == [jobs]
    assert ChannelConsent.history.count() == 3
    assert Subscription.history.count() == 2
    assert preferences_for(kari).consents == {
        "letter": True,
        "email": True,
        "sms": None,
    }

    nothing = preferences_save(
        person=kari,
        consents={"email": True, "letter": True, "sms": None},
        subscriptions={news.pk: True, jobs.pk: True},
        by=kari.user,
        source=SOURCE_MY_ACCOUNT,
    )
    assert not nothing.changed
    assert ChannelConsent.history.count() == 3
    assert Subscription.history.count() == 2


def test_preferences_save_refuses_all_if_one_list_is_refused(kari):
    news = NewsletterListFactory()
    board = NewsletterListFactory(self_service=False)

    with pytest.raises(NewsletterError):
        preferences_save(
            person=kari,
            consents={"email": True},
            subscriptions={news.pk: True, board.pk: True},
            by=kari.user,
            source=SOURCE_MY_ACCOUNT,
        )

    assert not ChannelConsent.objects.exists()
    assert not Subscription.objects.exists()


def test_a_change_is_announced_after_commit_and_a_non_change_is_not(
    kari, django_capture_on_commit_callbacks
):
    heard = []

    def receiver(sender, person, changes, **kwargs):
        heard.append((person, len(changes.consents)))

    preferences_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            consent_set(person=kari, channel="email", allowed=True, source="admin")
        with django_capture_on_commit_callbacks(execute=True):
            consent_set(person=kari, channel="email", allowed=True, source="admin")
    finally:
        preferences_changed.disconnect(receiver)
    assert heard == [(kari, 1)]


def test_history_reads_in_a_fixed_number_of_queries(kari):
    lists = NewsletterListFactory.create_batch(2)

    def count():
        with CaptureQueriesContext(connection) as queries:
            preference_changes(kari)
            preferences_for(kari)
        return len(queries)

    subscription_set(person=kari, newsletter=lists[0], subscribed=True, source="x")
    few = count()
    lists += NewsletterListFactory.create_batch(4)
    for newsletter in lists:
        for subscribed in (True, False, True):
            subscription_set(
                person=kari, newsletter=newsletter, subscribed=subscribed, source="x"
            )
    for channel in Channel.values:
        consent_set(person=kari, channel=channel, allowed=True, source="x")
    assert len(preference_changes(kari)) > 15
    assert count() == few


def test_subscriber_counts_count_only_current_subscribers(kari):
    news = NewsletterListFactory(name="News")
    ola = PersonFactory()
    subscription_set(person=kari, newsletter=news, subscribed=True, source="x")
    subscription_set(person=ola, newsletter=news, subscribed=True, source="x")
    subscription_set(person=ola, newsletter=news, subscribed=False, source="x")
    NewsletterListFactory(name="Empty")

    counts = dict(
        lists_with_subscriber_counts().values_list("name", "subscriber_count")
    )

    assert counts == {"News": 1, "Empty": 0}


def test_the_data_export_has_consents_and_subscriptions_with_history(kari):
    news = NewsletterListFactory(name="Monthly news")
    consent_set(
        person=kari, channel="email", allowed=True, by=kari.user, source="my-account"
    )
    subscription_set(person=kari, newsletter=news, subscribed=True, source="admin")
    subscription_set(
        person=kari,
        newsletter=news,
        subscribed=False,
        by=kari.user,
        source="my-account",
    )
    other = PersonFactory(first_name="Ola")
    subscription_set(
        person=other,
        newsletter=NewsletterListFactory(name="Secret list of Ola"),
        subscribed=True,
        source="admin",
    )

    data = person_data_export(person=kari)

    (consent,) = data["channel_consents"]
    assert consent["channel"] == "email" and consent["allowed"] is True
    assert [(h["from"], h["to"], h["through"]) for h in consent["history"]] == [
        (None, True, "my-account")
    ]
    (subscription,) = data["newsletter_subscriptions"]
    assert subscription["list"] == "Monthly news"
    assert subscription["subscribed"] is False
    assert [(h["from"], h["to"], h["by_you"]) for h in subscription["history"]] == [
        (None, True, False),
        (True, False, True),
    ]
    assert "Secret list of Ola" not in json.dumps(data)

    archive = zipfile.ZipFile(io.BytesIO(person_data_csv(person=kari)))
    assert "newsletter_subscriptions.csv" in archive.namelist()
    assert "newsletter_subscriptions_history.csv" in archive.namelist()
    assert "Monthly news" in archive.read("newsletter_subscriptions.csv").decode(
        "utf-8-sig"
    )


def test_anonymising_ends_subscriptions_and_withdraws_consents(kari):
    news = NewsletterListFactory()
    staff = StaffUserFactory()
    consent_set(person=kari, channel="email", allowed=True, source="my-account")
    consent_set(person=kari, channel="letter", allowed=False, source="my-account")
    subscription_set(person=kari, newsletter=news, subscribed=True, source="x")

    person_anonymise(person=kari, by=staff)

    assert set(ChannelConsent.objects.values_list("channel", "allowed")) == {
        ("email", False),
        ("letter", False),
    }
    subscription = Subscription.objects.get()
    assert subscription.is_subscribed is False
    assert subscription.source == "anonymised"
    latest = subscription.history.order_by("-history_id").first()
    assert latest.history_user == staff
    assert lists_with_subscriber_counts().get().subscriber_count == 0
    assert timezone.now() - subscription.changed_at < timedelta(minutes=1)
