"""My Account, "Your details": who sees it, editing, what waits for approval,
withdrawing, and a query count that does not grow with what is pending or in the
history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.change_requests import person_details_update
from members.models import ChangeRequest
from tests.factories import UserFactory
from tests.members.factories import PersonFactory

pytestmark = pytest.mark.django_db

SIGNIN = "/account/sign-in/"
DETAILS = "extranet:details"


@pytest.fixture
def kari(home_page):
    user = UserFactory()
    return PersonFactory(
        user=user, first_name="Kari", last_name="Nordmann", email="kari@example.org"
    )


def form_data(person, **changes) -> dict:
    data = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": "",
        "email": person.email,
        "phone": person.phone,
        "phone_mobile": person.phone_mobile,
        "postal_street": person.postal_street,
        "postal_postcode": person.postal_postcode,
        "postal_city": person.postal_city,
        "postal_country": person.postal_country,
        "visiting_street": person.visiting_street,
        "visiting_postcode": person.visiting_postcode,
        "visiting_city": person.visiting_city,
        "preferred_language": person.preferred_language,
    }
    data.update(changes)
    return data


def test_anonymous_is_sent_to_sign_in(client, home_page):
    response = client.get(reverse(DETAILS))
    assert response.status_code == 302
    assert response["Location"].startswith(SIGNIN + "?next=")


def test_a_user_without_a_person_sees_nothing_to_show(client, home_page):
    client.force_login(UserFactory())
    response = client.get(reverse(DETAILS))
    assert response.status_code == 200
    assert "extranet/account/nothing_to_show.html" in [
        t.name for t in response.templates
    ]


def test_the_form_shows_current_values_and_the_link_is_in_the_nav(client, kari):
    client.force_login(kari.user)
    response = client.get(reverse(DETAILS))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'value="kari@example.org"' in content
    assert 'aria-current="page"' in content
    assert reverse(DETAILS) in client.get(reverse("extranet:account")).content.decode()


def test_posting_applies_at_once_and_holds_the_name(client, kari):
    client.force_login(kari.user)

    response = client.post(
        reverse(DETAILS), form_data(kari, phone="22 33 44 55", last_name="Hansen")
    )

    assert response.status_code == 302
    kari.refresh_from_db()
    assert kari.phone == "22 33 44 55"
    assert kari.last_name == "Nordmann"
    assert kari.history.latest().history_user == kari.user
    request = ChangeRequest.objects.pending().get()
    assert (request.field, request.new_value) == ("last_name", "Hansen")

    page = client.get(reverse(DETAILS)).content.decode()
    assert "Waiting for approval" in page
    assert "Hansen" in page
    assert reverse("extranet:details_withdraw", args=[request.pk]) in page

    # Saving the form again (the name still shows the current value) keeps the
    # request waiting.
    client.post(reverse(DETAILS), form_data(kari, phone="22 33 44 56"))
    assert ChangeRequest.objects.pending().get().pk == request.pk


def test_an_emptied_email_is_an_error_and_nothing_is_stored(client, kari):
    client.force_login(kari.user)
    response = client.post(reverse(DETAILS), form_data(kari, email="", phone="1"))
    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    kari.refresh_from_db()
    assert (kari.email, kari.phone) == ("kari@example.org", "")


def test_withdraw_own_request(client, kari):
    request = person_details_update(
        person=kari, changes={"last_name": "Hansen"}, by=kari.user
    ).requested[0]
    client.force_login(kari.user)

    response = client.post(reverse("extranet:details_withdraw", args=[request.pk]))

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.WITHDRAWN


def test_another_users_request_cannot_be_withdrawn(client, kari):
    request = person_details_update(
        person=kari, changes={"last_name": "Hansen"}, by=kari.user
    ).requested[0]
    other = PersonFactory(user=UserFactory())
    client.force_login(other.user)

    response = client.post(reverse("extranet:details_withdraw", args=[request.pk]))

    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.PENDING
    assert (
        client.get(reverse("extranet:details_withdraw", args=[request.pk])).status_code
        == 405
    )


def _queries(client, user) -> int:
    client.force_login(user)
    assert client.get(reverse(DETAILS)).status_code == 200  # warm-up
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(DETAILS)).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_pending_requests_or_history(client, kari):
    few = _queries(client, kari.user)
    for n in range(5):
        person_details_update(
            person=kari,
            changes={"phone": f"{n}", "postal_city": f"City {n}"},
            by=kari.user,
        )
    person_details_update(
        person=kari,
        changes={"first_name": "Karianne", "last_name": "Hansen"},
        by=kari.user,
    )
    assert ChangeRequest.objects.pending().count() == 2
    assert kari.history.count() >= 6
    assert _queries(client, kari.user) == few
