"""My Account for an organisation's contact: the company profile (same change policy
as one's own details) and the staff list — add a colleague, update their contact
details, end an employment. Only the current contact gets to see or post (404 for
anyone else), and the page's query count does not grow with the staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import ChangeRequest, Employment, MembershipType, Person
from members.services import membership_activate
from tests.factories import UserFactory
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

PAGE = "extranet:organisation"
ADD = "extranet:organisation_colleague_add"
UPDATE = "extranet:organisation_colleague_update"
END = "extranet:organisation_colleague_end"


def member(**fields) -> Person:
    return PersonFactory(user=UserFactory(), **fields)


@pytest.fixture
def firma(home_page):
    return OrganisationFactory(name="Firma AS", phone="111")


@pytest.fixture
def kari(firma):
    """The current contact of Firma."""
    person = member(first_name="Kari", last_name="Nordmann")
    EmploymentFactory(person=person, organisation=firma, is_contact=True)
    return person


@pytest.fixture
def ola(firma):
    """A colleague at Firma with a user account."""
    person = member(first_name="Ola", last_name="Hansen", email="ola@example.org")
    EmploymentFactory(person=person, organisation=firma, function_title="Welder")
    return person


def employment_of(person, organisation) -> Employment:
    return Employment.objects.get(person=person, organisation=organisation)


def profile_data(organisation, **changes) -> dict:
    data = {
        "name": organisation.name,
        "organisation_number": organisation.organisation_number,
        "email": organisation.email,
        "phone": organisation.phone,
        "website": organisation.website,
        "postal_street": organisation.postal_street,
        "postal_postcode": organisation.postal_postcode,
        "postal_city": organisation.postal_city,
        "postal_country": organisation.postal_country,
        "visiting_street": organisation.visiting_street,
        "visiting_postcode": organisation.visiting_postcode,
        "visiting_city": organisation.visiting_city,
        "billing_street": organisation.billing_street,
        "billing_postcode": organisation.billing_postcode,
        "billing_city": organisation.billing_city,
        "billing_email": organisation.billing_email,
    }
    data.update(changes)
    return data


# Seeing and editing the profile ---------------------------------------------------------


def test_the_contact_sees_profile_staff_and_the_nav_link(client, firma, kari, ola):
    client.force_login(kari.user)
    url = reverse(PAGE, kwargs={"pk": firma.pk})
    response = client.get(url)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Firma AS" in content
    assert "Ola Hansen" in content and "Welder" in content
    assert "ola@example.org" in content
    ola_job = employment_of(ola, firma)
    kari_job = employment_of(kari, firma)
    assert reverse(END, kwargs={"pk": firma.pk, "employment_id": ola_job.pk}) in content
    # Not offered for the contact themself.
    assert (
        reverse(END, kwargs={"pk": firma.pk, "employment_id": kari_job.pk})
        not in content
    )
    assert url in client.get(reverse("extranet:account")).content.decode()


def test_a_member_who_is_no_contact_has_no_nav_link(client, firma, ola):
    client.force_login(ola.user)
    content = client.get(reverse("extranet:account")).content.decode()
    assert reverse(PAGE, kwargs={"pk": firma.pk}) not in content


def test_the_contact_edits_the_profile_phone_at_once_number_held(client, firma, kari):
    client.force_login(kari.user)
    url = reverse(PAGE, kwargs={"pk": firma.pk})

    response = client.post(
        url, profile_data(firma, phone="22 33 44 55", organisation_number="974760673")
    )

    assert response.status_code == 302
    firma.refresh_from_db()
    assert firma.phone == "22 33 44 55"
    assert firma.organisation_number == ""
    pending = ChangeRequest.objects.pending().get(organisation=firma)
    assert pending.field == "organisation_number"
    assert pending.requested_by == kari.user
    assert firma.history.first().history_user == kari.user
    page = client.get(url).content.decode()
    assert "974760673" in page  # listed as waiting for approval
    assert (
        reverse(
            "extranet:organisation_withdraw",
            kwargs={"pk": firma.pk, "request_id": pending.pk},
        )
        in page
    )


def test_an_invalid_profile_is_shown_again(client, firma, kari):
    client.force_login(kari.user)
    response = client.post(
        reverse(PAGE, kwargs={"pk": firma.pk}),
        profile_data(firma, billing_email="not an address"),
    )
    assert response.status_code == 400
    firma.refresh_from_db()
    assert firma.billing_email == ""


def test_the_contact_withdraws_a_held_change(client, firma, kari):
    client.force_login(kari.user)
    client.post(
        reverse(PAGE, kwargs={"pk": firma.pk}),
        profile_data(firma, organisation_number="974760673"),
    )
    pending = ChangeRequest.objects.pending().get(organisation=firma)
    response = client.post(
        reverse(
            "extranet:organisation_withdraw",
            kwargs={"pk": firma.pk, "request_id": pending.pk},
        )
    )
    assert response.status_code == 302
    assert not ChangeRequest.objects.pending().filter(organisation=firma).exists()


# Who may ----------------------------------------------------------------------------------


def _all_requests(firma, employment):
    ids = {"pk": firma.pk, "employment_id": employment.pk}
    return [
        ("get", reverse(PAGE, kwargs={"pk": firma.pk}), {}),
        ("post", reverse(PAGE, kwargs={"pk": firma.pk}), profile_data(firma)),
        (
            "post",
            reverse(ADD, kwargs={"pk": firma.pk}),
            {
                "first_name": "Eve",
                "last_name": "Intruder",
                "email": "eve@example.org",
                "function_title": "",
            },
        ),
        (
            "post",
            reverse(UPDATE, kwargs=ids),
            {
                f"colleague-{employment.pk}-email": "eve@example.org",
                f"colleague-{employment.pk}-phone": "",
                f"colleague-{employment.pk}-function_title": "Intruder",
            },
        ),
        ("get", reverse(END, kwargs=ids), {}),
        ("post", reverse(END, kwargs=ids), {}),
    ]


@pytest.mark.parametrize("who", ["employee", "other_contact", "former_contact"])
def test_anyone_but_the_current_contact_gets_404(client, firma, kari, ola, who):
    if who == "employee":
        user = ola.user
    elif who == "other_contact":
        other = member()
        EmploymentFactory(
            person=other, organisation=OrganisationFactory(), is_contact=True
        )
        user = other.user
    else:
        former = member()
        EmploymentFactory(
            person=former,
            organisation=firma,
            is_contact=True,
            end=timezone.localdate() - timedelta(days=1),
        )
        user = former.user
    client.force_login(user)
    ola_job = employment_of(ola, firma)

    for method, url, data in _all_requests(firma, ola_job):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)

    ola.refresh_from_db()
    ola_job.refresh_from_db()
    assert ola.email == "ola@example.org"
    assert ola_job.end is None
    assert ola_job.function_title == "Welder"
    assert not Person.objects.filter(email="eve@example.org").exists()
    assert Employment.objects.filter(organisation=firma).count() == (
        3 if who == "former_contact" else 2
    )


def test_an_employment_of_another_organisation_is_404(client, firma, kari):
    elsewhere = EmploymentFactory(organisation=OrganisationFactory())
    client.force_login(kari.user)
    ids = {"pk": firma.pk, "employment_id": elsewhere.pk}
    assert client.post(reverse(END, kwargs=ids)).status_code == 404
    assert (
        client.post(
            reverse(UPDATE, kwargs=ids),
            {f"colleague-{elsewhere.pk}-email": "x@example.org"},
        ).status_code
        == 404
    )
    elsewhere.refresh_from_db()
    assert elsewhere.end is None


def test_the_contact_cannot_end_their_own_employment(client, firma, kari):
    client.force_login(kari.user)
    own = employment_of(kari, firma)
    response = client.post(
        reverse(END, kwargs={"pk": firma.pk, "employment_id": own.pk})
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.end is None


# Staff -----------------------------------------------------------------------------------


def test_adding_a_colleague_creates_a_person_and_employment(client, firma, kari):
    client.force_login(kari.user)
    response = client.post(
        reverse(ADD, kwargs={"pk": firma.pk}),
        {
            "first_name": "Siri",
            "last_name": "Berg",
            "email": "siri@example.org",
            "function_title": "Accountant",
        },
    )
    assert response.status_code == 302
    siri = Person.objects.get(email="siri@example.org")
    assert siri.full_name == "Siri Berg"
    assert siri.history.first().history_user == kari.user
    job = employment_of(siri, firma)
    assert job.function_title == "Accountant"
    assert job.start == timezone.localdate()
    assert not job.is_contact
    assert job.history.first().history_user == kari.user


def test_adding_an_existing_e_mail_links_that_person(client, firma, kari):
    known = PersonFactory(first_name="Per", last_name="Known", email="per@example.org")
    client.force_login(kari.user)
    response = client.post(
        reverse(ADD, kwargs={"pk": firma.pk}),
        {
            "first_name": "Peter",
            "last_name": "Other",
            "email": "PER@Example.org",
            "function_title": "",
        },
    )
    assert response.status_code == 302
    assert Person.objects.filter(email__iexact="per@example.org").count() == 1
    assert employment_of(known, firma)
    known.refresh_from_db()
    assert known.full_name == "Per Known"  # the register's name stays

    again = client.post(
        reverse(ADD, kwargs={"pk": firma.pk}),
        {"first_name": "Per", "last_name": "Known", "email": "per@example.org"},
    )
    assert again.status_code == 400
    assert "already works for" in again.content.decode()
    assert Employment.objects.filter(person=known).count() == 1


def test_an_added_colleague_with_a_user_inherits_access(client, firma, kari):
    group = Group.objects.create(name="Company members")
    company = MembershipTypeFactory(
        kind=MembershipType.Kind.ORGANISATION, groups=[group]
    )
    membership_activate(
        membership=MembershipFactory(
            person=None, organisation=firma, type=company, start=timezone.localdate()
        )
    )
    liv = member(email="liv@example.org")
    assert not liv.user.groups.filter(pk=group.pk).exists()
    client.force_login(kari.user)
    client.post(
        reverse(ADD, kwargs={"pk": firma.pk}),
        {"first_name": "Liv", "last_name": "L", "email": "liv@example.org"},
    )
    assert liv.user.groups.filter(pk=group.pk).exists()


def test_updating_a_colleagues_contact_details(client, firma, kari, ola):
    client.force_login(kari.user)
    job = employment_of(ola, firma)
    url = reverse(UPDATE, kwargs={"pk": firma.pk, "employment_id": job.pk})
    prefix = f"colleague-{job.pk}"

    response = client.post(
        url, {f"{prefix}-email": "ola.hansen@example.org", f"{prefix}-phone": "987"}
    )

    assert response.status_code == 302
    ola.refresh_from_db()
    assert (ola.email, ola.phone) == ("ola.hansen@example.org", "987")
    assert ola.history.first().history_user == kari.user

    client.post(url, {f"{prefix}-email": "", f"{prefix}-phone": "987"})
    ola.refresh_from_db()
    assert ola.email == "ola.hansen@example.org"  # not emptied


def test_the_contact_changes_a_colleagues_function_audited(client, firma, kari, ola):
    client.force_login(kari.user)
    job = employment_of(ola, firma)
    url = reverse(UPDATE, kwargs={"pk": firma.pk, "employment_id": job.pk})
    prefix = f"colleague-{job.pk}"
    page = client.get(reverse(PAGE, kwargs={"pk": firma.pk})).content.decode()
    assert f'name="{prefix}-function_title" value="Welder"' in page

    response = client.post(
        url,
        {
            f"{prefix}-email": "ola@example.org",
            f"{prefix}-phone": "",
            f"{prefix}-function_title": " Head of welding ",
        },
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.function_title == "Head of welding"
    latest, before = job.history.all()[:2]
    assert latest.history_user == kari.user
    assert before.function_title == "Welder"  # the old value is kept
    ola.refresh_from_db()
    assert ola.email == "ola@example.org"
    assert ola.history.count() == 1  # the person was not touched
    page = client.get(reverse(PAGE, kwargs={"pk": firma.pk})).content.decode()
    assert "Head of welding" in page


def test_a_post_without_the_function_keeps_it(client, firma, kari, ola):
    client.force_login(kari.user)
    job = employment_of(ola, firma)
    prefix = f"colleague-{job.pk}"
    client.post(
        reverse(UPDATE, kwargs={"pk": firma.pk, "employment_id": job.pk}),
        {f"{prefix}-email": "ola@example.org", f"{prefix}-phone": "555"},
    )
    job.refresh_from_db()
    ola.refresh_from_db()
    assert (ola.phone, job.function_title) == ("555", "Welder")


def test_a_too_long_function_is_refused(client, firma, kari, ola):
    client.force_login(kari.user)
    job = employment_of(ola, firma)
    prefix = f"colleague-{job.pk}"
    response = client.post(
        reverse(UPDATE, kwargs={"pk": firma.pk, "employment_id": job.pk}),
        {
            f"{prefix}-email": "ola@example.org",
            f"{prefix}-phone": "",
            f"{prefix}-function_title": "x" * 121,
        },
        follow=True,
    )
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.function_title == "Welder"


def test_ending_an_employment_removes_inherited_access(client, firma, kari, ola):
    group = Group.objects.create(name="Company members")
    company = MembershipTypeFactory(
        kind=MembershipType.Kind.ORGANISATION, groups=[group]
    )
    membership_activate(
        membership=MembershipFactory(
            person=None, organisation=firma, type=company, start=timezone.localdate()
        )
    )
    assert ola.user.groups.filter(pk=group.pk).exists()
    client.force_login(kari.user)
    job = employment_of(ola, firma)
    url = reverse(END, kwargs={"pk": firma.pk, "employment_id": job.pk})
    assert client.get(url).status_code == 200  # the confirmation

    response = client.post(url)

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.end == timezone.localdate() - timedelta(days=1)
    assert job.history.first().history_user == kari.user
    assert not ola.user.groups.filter(pk=group.pk).exists()
    assert kari.user.groups.filter(pk=group.pk).exists()  # the contact keeps it
    page = client.get(reverse(PAGE, kwargs={"pk": firma.pk})).content.decode()
    assert "ola@example.org" not in page  # no longer listed


# Queries ---------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_staff(client, firma, kari):
    client.force_login(kari.user)
    url = reverse(PAGE, kwargs={"pk": firma.pk})
    EmploymentFactory(organisation=firma)
    client.get(url)  # warm-up: caches, site, settings
    few = _queries(client, url)
    for _ in range(6):
        EmploymentFactory(organisation=firma)
    assert Employment.objects.current().filter(organisation=firma).count() == 8
    assert _queries(client, url) == few
