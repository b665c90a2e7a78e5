"""My Account, "Communication": who sees it, answering per channel, subscribing and
unsubscribing, forged requests, the list of changes, and a query count that does not
grow with the number of lists or changes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from newsletters.models import ChannelConsent, Subscription
from newsletters.services import consent_set, subscription_set
from tests.factories import UserFactory, soup, visible_text
from tests.members.factories import PersonFactory
from tests.newsletters.factories import NewsletterListFactory

pytestmark = pytest.mark.django_db

SIGNIN = "/account/sign-in/"
URL = "/account/my-account/communication/"


@pytest.fixture
def kari(home_page):
    return PersonFactory(first_name="Kari", last_name="Nordmann", user=UserFactory())


@pytest.fixture
def lists(db):
    return {
        "news": NewsletterListFactory(
            name="Monthly news", description="What happened this month."
        ),
        "jobs": NewsletterListFactory(name="Job market", description="Open positions."),
        "board": NewsletterListFactory(name="Board circular", self_service=False),
        "old": NewsletterListFactory(name="Old bulletin", is_active=False),
    }


def form(**fields) -> dict:
    data = {"letter": "", "email": "", "sms": ""}
    data.update(fields)
    return data


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_url_and_the_nav_link(client, kari):
    assert reverse("extranet:communication") == URL
    client.force_login(kari.user)
    assert URL in client.get(reverse("extranet:account")).content.decode()


def test_anonymous_is_sent_to_sign_in(client, kari, lists):
    for response in (client.get(URL), client.post(URL, form(email="yes"))):
        assert response.status_code == 302
        assert response["Location"].startswith(SIGNIN + "?next=")
    assert not ChannelConsent.objects.exists()


def test_a_user_without_a_person_sees_nothing_to_show(client, home_page):
    client.force_login(UserFactory())
    for response in (client.get(URL), client.post(URL, form(email="yes"))):
        assert response.status_code == 200
        assert "extranet/account/nothing_to_show.html" in [
            t.name for t in response.templates
        ]
    assert not ChannelConsent.objects.exists()


def test_the_form_offers_the_channels_and_the_self_service_lists(client, kari, lists):
    client.force_login(kari.user)

    response = client.get(URL)

    assert response.status_code == 200
    text = visible_text(response)
    for label in ("Letter", "E-mail", "SMS"):
        assert label in text
    assert "Monthly news" in text and "What happened this month." in text
    assert "Job market" in text
    assert "Board circular" not in text
    assert "Old bulletin" not in text
    assert "No changes yet." in text
    page = soup(response)
    assert page.select_one('nav a[aria-current="page"]')["href"] == URL


def test_saving_consents_and_a_list_records_them_with_time(client, kari, lists):
    client.force_login(kari.user)

    response = client.post(
        URL, form(email="yes", sms="no", lists=[lists["news"].pk]), follow=True
    )

    assert messages_of(response) == ["Your choices are saved."]
    assert dict(
        ChannelConsent.objects.filter(person=kari).values_list("channel", "allowed")
    ) == {"email": True, "sms": False}
    subscription = Subscription.objects.get(person=kari)
    assert subscription.newsletter == lists["news"]
    assert subscription.source == "my-account"
    assert subscription.history.get().history_user == kari.user
    page = soup(response)
    assert page.select_one("#id_email_0").has_attr("checked")  # "Yes" is ticked
    assert page.select_one(f"#id_list_{lists['news'].pk}").has_attr("checked")
    rows = [
        " ".join(row.get_text(" ", strip=True).split())
        for row in page.select(".communication-history tbody tr")
    ]
    assert len(rows) == 3
    assert any(
        "Monthly news not subscribed → subscribed you, My Account" in r for r in rows
    )
    assert any("E-mail not asked → yes" in r for r in rows)

    # Saving the same again records nothing.
    again = client.post(
        URL, form(email="yes", sms="no", lists=[lists["news"].pk]), follow=True
    )
    assert messages_of(again) == ["Nothing was changed."]
    assert ChannelConsent.history.count() == 2
    assert Subscription.history.count() == 1


def test_unsubscribing_keeps_the_row_and_shows_both_changes(client, kari, lists):
    client.force_login(kari.user)
    client.post(URL, form(lists=[lists["news"].pk, lists["jobs"].pk]), follow=True)

    response = client.post(URL, form(lists=[lists["jobs"].pk]), follow=True)

    assert messages_of(response) == ["Your choices are saved."]
    news = Subscription.objects.get(person=kari, newsletter=lists["news"])
    assert news.is_subscribed is False
    assert Subscription.objects.get(newsletter=lists["jobs"]).is_subscribed
    rows = [
        " ".join(row.get_text(" ", strip=True).split())
        for row in soup(response).select(".communication-history tbody tr")
    ]
    news_rows = [row for row in rows if "Monthly news" in row]
    assert len(news_rows) == 2
    # Newest first.
    assert "subscribed → not subscribed" in news_rows[0]
    assert "not subscribed → subscribed" in news_rows[1]


def test_a_forged_post_cannot_subscribe_to_a_staff_or_inactive_list(
    client, kari, lists
):
    client.force_login(kari.user)
    for name in ("board", "old"):
        response = client.post(
            URL, form(email="yes", lists=[lists["news"].pk, lists[name].pk])
        )
        assert response.status_code == 400
        assert "You cannot choose one of these lists here" in visible_text(response)
    response = client.post(URL, form(lists=["not-a-number"]))
    assert response.status_code == 400
    assert not Subscription.objects.exists()
    assert not ChannelConsent.objects.exists()


def test_a_bad_answer_gets_a_clear_message(client, kari, lists):
    client.force_login(kari.user)

    response = client.post(URL, form(email="maybe", sms="yes"))

    assert response.status_code == 400
    assert "Choose yes or no." in visible_text(response)
    assert not ChannelConsent.objects.exists()


def test_a_list_staff_added_can_be_left_but_not_rejoined(client, kari, lists):
    subscription_set(
        person=kari, newsletter=lists["board"], subscribed=True, source="admin"
    )
    client.force_login(kari.user)
    text = visible_text(client.get(URL))
    assert "Board circular" in text
    assert "only we can add you again" in text

    client.post(URL, form(lists=[]))

    assert not Subscription.objects.get(newsletter=lists["board"]).is_subscribed
    assert "Board circular" not in soup(client.get(URL)).select_one("form").text
    response = client.post(URL, form(lists=[lists["board"].pk]))
    assert response.status_code == 400
    assert not Subscription.objects.get(newsletter=lists["board"]).is_subscribed


def test_another_members_state_is_never_shown(client, kari, lists):
    ola = PersonFactory(first_name="Ola", user=UserFactory())
    secret = NewsletterListFactory(name="Ola's secret list", self_service=False)
    subscription_set(person=ola, newsletter=secret, subscribed=True, source="admin")
    subscription_set(
        person=ola, newsletter=lists["jobs"], subscribed=True, source="my-account"
    )
    consent_set(person=ola, channel="sms", allowed=True, source="my-account")
    client.force_login(kari.user)

    response = client.get(URL)

    text = visible_text(response)
    assert "Ola's secret list" not in text
    assert "No changes yet." in text
    page = soup(response)
    assert not page.select_one(f"#id_list_{lists['jobs'].pk}").has_attr("checked")
    assert not page.select("input[type=radio][checked]")

    # Kari's save touches only Kari.
    client.post(URL, form(sms="no", lists=[]))
    assert Subscription.objects.get(person=ola, newsletter=lists["jobs"]).is_subscribed
    assert ChannelConsent.objects.get(person=ola).allowed is True


def test_changes_are_paginated(client, kari, lists):
    for n in range(25):
        consent_set(person=kari, channel="email", allowed=n % 2 == 0, source="admin")
    client.force_login(kari.user)

    first = soup(client.get(URL))
    second = soup(client.get(URL + "?page=2"))

    assert len(first.select(".communication-history tbody tr")) == 20
    assert len(second.select(".communication-history tbody tr")) == 5
    assert "Page 1 of 2" in first.text


def _queries(client, user) -> int:
    client.force_login(user)
    assert client.get(URL).status_code == 200  # warm-up
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_lists_or_changes(client, kari, lists):
    subscription_set(person=kari, newsletter=lists["news"], subscribed=True, source="x")
    few = _queries(client, kari.user)

    more = NewsletterListFactory.create_batch(6)
    subscription_set(
        person=kari, newsletter=lists["board"], subscribed=True, source="x"
    )
    for newsletter in [lists["news"], *more]:
        for subscribed in (True, False, True):
            subscription_set(
                person=kari, newsletter=newsletter, subscribed=subscribed, source="x"
            )
    for channel in ("letter", "email", "sms"):
        consent_set(person=kari, channel=channel, allowed=True, source="x")

    assert _queries(client, kari.user) == few


def test_saving_nothing_costs_a_fixed_number_of_queries(client, kari, lists):
    client.force_login(kari.user)
    client.get(URL)  # warm-up
    data = form(email="yes", lists=[lists["news"].pk])
    client.post(URL, data)

    with CaptureQueriesContext(connection) as few:
        client.post(URL, data)
    more = NewsletterListFactory.create_batch(5)
    data["lists"] = [lists["news"].pk, *[item.pk for item in more]]
    client.post(URL, data)
    with CaptureQueriesContext(connection) as many:
        client.post(URL, data)

    assert len(many) == len(few)
