"""My Account, "Your data": downloads of the member's own data, and asking to close
the account."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from members.models import ContactLogEntry
from members.services import membership_activate
from shop import billing
from tests.factories import UserFactory
from tests.members.factories import MembershipFactory, PersonFactory
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db

SIGNIN = "/account/sign-in/"


def url(name):
    return reverse(f"extranet:{name}")


@pytest.fixture
def members(home_page):
    configure_seller(email="billing@guild.example")
    kari_user = UserFactory()
    kari = PersonFactory(first_name="Kari", last_name="Nordmann", user=kari_user)
    ola = PersonFactory(first_name="Ola", last_name="Hansen", user=UserFactory())
    for person in (kari, ola):
        membership_activate(
            membership=MembershipFactory(person=person, start=timezone.localdate())
        )
        billing.invoice_issue(
            order=make_order(customer=person, customer_name=person.full_name)
        )
    return {"kari_user": kari_user, "kari": kari, "ola": ola}


def test_anonymous_is_sent_to_sign_in(client, members):
    for name in ("privacy", "privacy_json", "privacy_csv", "privacy_close"):
        response = client.get(url(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(SIGNIN + "?next="), name
    response = client.post(url("privacy_close"))
    assert response.status_code == 302
    assert not ContactLogEntry.objects.exists()


def test_privacy_page_explains_and_offers_downloads(client, members):
    client.force_login(members["kari_user"])

    response = client.get(url("privacy"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "What we store about you" in page
    for name in ("privacy_json", "privacy_csv", "privacy_close"):
        assert url(name) in page
    assert url("privacy") in client.get(url("account")).content.decode()


def test_json_download_has_only_the_users_own_data(client, members):
    client.force_login(members["kari_user"])

    response = client.get(url("privacy_json"))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert ".json" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["person"]["first_name"] == "Kari"
    assert len(data["memberships"]) == 1
    assert [o["customer_name"] for o in data["orders"]] == ["Kari Nordmann"]
    assert "Hansen" not in response.content.decode()


def test_csv_download_is_a_zip_that_opens(client, members):
    client.force_login(members["kari_user"])

    response = client.get(url("privacy_csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert "person.csv" in archive.namelist()
    assert "Kari" in archive.read("person.csv").decode("utf-8-sig")
    assert archive.testzip() is None


def test_closure_request_asks_to_confirm_then_records_and_tells_staff(
    client, members, django_capture_on_commit_callbacks
):
    client.force_login(members["kari_user"])
    confirm = client.get(url("privacy_close")).content.decode()
    assert "Yes, ask to close my account" in confirm
    assert not ContactLogEntry.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("privacy_close"))

    assert response.status_code == 200
    assert "We have received your request" in response.content.decode()
    entry = ContactLogEntry.objects.get()
    assert entry.person == members["kari"]
    assert entry.subject == "Asked to close the account"
    assert entry.kind == ContactLogEntry.Kind.OTHER
    assert entry.recorded_by == members["kari_user"]
    (message,) = mail.outbox
    assert message.to == ["billing@guild.example"]
    assert "Kari Nordmann" in message.subject
    assert f"/persons/edit/{members['kari'].pk}/" in message.body
    # Nothing is removed until staff confirm.
    members["kari"].refresh_from_db()
    assert members["kari"].first_name == "Kari"


def test_user_without_a_person_sees_nothing_to_show(client, members):
    client.force_login(UserFactory())

    for name in ("privacy", "privacy_json", "privacy_csv", "privacy_close"):
        response = client.get(url(name))
        assert response.status_code == 200, name
        assert "There is nothing to show here yet" in response.content.decode()
        assert "Content-Disposition" not in response
    response = client.post(url("privacy_close"))
    assert "There is nothing to show here yet" in response.content.decode()
    assert not ContactLogEntry.objects.exists()
