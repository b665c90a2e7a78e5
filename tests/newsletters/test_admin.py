"""Newsletter lists in the Wagtail admin: the index with subscriber counts in a fixed
number of queries, who may see and change lists, no deleting, the roles' rights, and
the "Newsletters" tab on a person's record."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from newsletters.models import NewsletterList
from newsletters.roles import NEWSLETTER_ROLES
from newsletters.services import consent_set, subscription_set
from tests.factories import StaffUserFactory, soup, visible_text
from tests.members.factories import PersonFactory

from .factories import NewsletterListFactory

pytestmark = pytest.mark.django_db

INDEX = "/admin/newsletters/lists/"


def staff_in(group_name):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=group_name))
    return user


def subscribe(newsletter, count):
    for person in PersonFactory.create_batch(count):
        subscription_set(
            person=person, newsletter=newsletter, subscribed=True, source="import"
        )


def test_every_role_permission_exists_and_the_migration_granted_them():
    for group_name, names in NEWSLETTER_ROLES.items():
        granted = {
            f"{app}.{codename}"
            for app, codename in Group.objects.get(
                name=group_name
            ).permissions.values_list("content_type__app_label", "codename")
        }
        for name in names:
            app_label, codename = name.split(".", 1)
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), name
            assert name in granted, (group_name, name)


def test_the_index_shows_each_lists_subscriber_count(verified_client):
    news = NewsletterListFactory(name="Monthly news")
    subscribe(news, 3)
    subscription_set(
        person=PersonFactory(), newsletter=news, subscribed=False, source="import"
    )
    NewsletterListFactory(name="Job market")
    client = verified_client(staff_in("Membership officers"))

    response = client.get(reverse("newsletter_lists:index"))

    assert response.status_code == 200
    rows = {
        row.select_one("td a").get_text(strip=True): row.get_text(" ", strip=True)
        for row in soup(response).select("table tbody tr")
    }
    assert rows.keys() == {"Monthly news", "Job market"}
    assert rows["Monthly news"].split()[-1] == "3"
    assert rows["Job market"].split()[-1] == "0"

    inspect = client.get(reverse("newsletter_lists:inspect", args=[news.pk]))
    assert "Subscribers 3" in " ".join(visible_text(inspect).split())
    missing = client.get(reverse("newsletter_lists:inspect", args=[news.pk + 100]))
    assert missing.status_code == 404


def test_the_index_reads_in_a_fixed_number_of_queries(verified_client):
    client = verified_client(staff_in("Editors"))
    subscribe(NewsletterListFactory(), 1)
    client.get(INDEX)  # warm-up

    with CaptureQueriesContext(connection) as few:
        assert client.get(INDEX).status_code == 200
    for newsletter in NewsletterListFactory.create_batch(5):
        subscribe(newsletter, 2)
    with CaptureQueriesContext(connection) as many:
        assert client.get(INDEX).status_code == 200

    assert len(many) == len(few)


def test_a_user_without_permission_is_refused(verified_client):
    news = NewsletterListFactory(name="Monthly news")
    client = verified_client(StaffUserFactory())

    for url in (
        INDEX,
        reverse("newsletter_lists:add"),
        reverse("newsletter_lists:edit", args=[news.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/admin/", url
    assert "Monthly news" not in visible_text(client.get("/admin/", follow=True))


def test_an_editor_adds_and_changes_a_list_but_nobody_deletes_one(
    verified_client, superuser
):
    client = verified_client(staff_in("Editors"))

    response = client.post(
        reverse("newsletter_lists:add"),
        {
            "name": "Job market",
            "description": "Open positions",
            "channel": "email",
            "self_service": "on",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    newsletter = NewsletterList.objects.get(name="Job market")
    assert newsletter.self_service and newsletter.is_active
    admin = verified_client(superuser)
    assert (
        admin.get(reverse("newsletter_lists:delete", args=[newsletter.pk])).status_code
        == 302
    )
    admin.post(reverse("newsletter_lists:delete", args=[newsletter.pk]))
    assert NewsletterList.objects.filter(pk=newsletter.pk).exists()


def test_the_person_record_has_a_newsletters_tab(verified_client):
    person = PersonFactory(first_name="Kari")
    news = NewsletterListFactory(name="Monthly news")
    consent_set(person=person, channel="email", allowed=True, source="my-account")
    subscription_set(person=person, newsletter=news, subscribed=True, source="admin")
    url = reverse("register_persons:edit", args=[person.pk])

    officer = verified_client(staff_in("Membership officers"))
    response = officer.get(url)

    assert response.status_code == 200
    tab = soup(response).select_one("section#tab-newsletters")
    assert tab is not None
    text = " ".join(tab.get_text(" ", strip=True).split())
    assert "Monthly news" in text
    assert "E-mail Yes" in text
    assert "not subscribed → subscribed" in text


def test_the_tab_is_hidden_from_staff_who_may_not_see_subscriptions(verified_client):
    person = PersonFactory()
    news = NewsletterListFactory(name="Monthly news")
    subscription_set(person=person, newsletter=news, subscribed=True, source="admin")
    user = StaffUserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="members",
            codename__in=["view_person", "change_person"],
        )
    )

    response = verified_client(user).get(
        reverse("register_persons:edit", args=[person.pk])
    )

    assert response.status_code == 200
    assert soup(response).select_one("#tab-newsletters") is None
    assert "Monthly news" not in response.content.decode()
