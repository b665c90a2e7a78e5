"""The register's back office: finding, editing, archiving, activating, exporting."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import Membership, Person
from tests.factories import StaffUserFactory, UserFactory, soup
from tests.members.admin_helpers import form_data, staff_in
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    PersonFactory,
    make_chapter_tree,
)

pytestmark = pytest.mark.django_db


def persons_url(**params):
    from urllib.parse import urlencode

    url = reverse("register_persons:index")
    return f"{url}?{urlencode(params)}" if params else url


def listed_pks(response):
    return {obj.pk for obj in response.context["object_list"]}


@pytest.fixture
def officer():
    return staff_in("Membership officers", email="officer@example.org")


@pytest.fixture
def officer_client(verified_client, officer):
    return verified_client(officer)


@pytest.fixture
def ingrid():
    return PersonFactory(
        first_name="Ingrid",
        last_name="Kvalheim",
        email="ingrid.k@fjordpost.no",
        member_number=4711,
        postal_street="Storgata 1",
        postal_postcode="0155",
        postal_city="Oslo",
    )


@pytest.fixture
def others():
    return [
        PersonFactory(first_name="Ola", last_name="Hansen", email="ola@example.org"),
        PersonFactory(
            first_name="Kari", last_name="Nordmann", email="kari@example.org"
        ),
    ]


@pytest.mark.parametrize(
    "query", ["ngri", "INGR", "valhei", "fjordpost", "ingrid.k@", "4711", "ingrid kval"]
)
def test_officer_finds_a_person_by_part_of_a_name_email_or_member_number(
    officer_client, ingrid, others, query
):
    response = officer_client.get(persons_url(q=query))

    assert response.status_code == 200
    assert listed_pks(response) == {ingrid.pk}


def test_member_number_matches_exactly(officer_client, ingrid, others):
    response = officer_client.get(persons_url(q="471"))

    assert ingrid.pk not in listed_pks(response)


def test_search_results_view_answers_too(officer_client, ingrid, others):
    response = officer_client.get(
        reverse("register_persons:index_results") + "?q=kvalheim"
    )

    assert response.status_code == 200
    assert "Kvalheim" in response.content.decode()


def test_person_page_has_tabs(officer_client, ingrid):
    MembershipFactory(person=ingrid)

    response = officer_client.get(reverse("register_persons:edit", args=[ingrid.pk]))

    assert response.status_code == 200
    tabs = [tab.get_text(strip=True) for tab in soup(response).select('[role="tab"]')]
    # Each tab label is followed by its (hidden) error counter.
    assert [tab.split("(")[0] for tab in tabs[:3]] == [
        "Details",
        "Memberships",
        "Employments",
    ]
    assert "Storgata 1" in response.content.decode()


def test_officer_edits_the_address_and_it_is_saved(officer_client, ingrid, officer):
    edit_url = reverse("register_persons:edit", args=[ingrid.pk])
    data = form_data(officer_client.get(edit_url))
    data.update(postal_street="Strandkaien 2", postal_postcode="5003")
    data["postal_city"] = "Bergen"

    response = officer_client.post(edit_url, data)

    assert response.status_code == 302, response.context["form"].errors
    ingrid.refresh_from_db()
    assert (ingrid.postal_street, ingrid.postal_postcode, ingrid.postal_city) == (
        "Strandkaien 2",
        "5003",
        "Bergen",
    )
    latest = ingrid.history.order_by("-history_date").first()
    assert latest.history_user == officer


def test_status_and_member_number_are_not_editable_in_the_form(officer_client):
    membership = MembershipFactory()

    response = officer_client.get(
        reverse("register_memberships:edit", args=[membership.pk])
    )

    assert "status" not in response.context["form"].fields
    person_form = officer_client.get(
        reverse("register_persons:edit", args=[membership.person.pk])
    ).context["form"]
    assert "member_number" not in person_form.fields


def test_staff_without_register_permissions_is_refused(verified_client, ingrid):
    client = verified_client(StaffUserFactory())

    for url in (
        reverse("register_persons:index"),
        reverse("register_persons:edit", args=[ingrid.pk]),
        persons_url(export="csv"),
        reverse("register_memberships:index"),
    ):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        assert b"Kvalheim" not in response.content
    assert client.get(reverse("wagtailadmin_home")).status_code == 200


def test_a_user_who_is_not_staff_cannot_open_the_register(verified_client, ingrid):
    client = verified_client(UserFactory())

    response = client.get(reverse("register_persons:index"))

    assert response.status_code in (302, 403)
    assert b"Kvalheim" not in response.content


def test_archiving_hides_the_record_but_keeps_it(officer_client, ingrid, others):
    archive_url = reverse("register_persons:archive", args=[ingrid.pk])
    assert officer_client.get(archive_url).status_code == 200

    response = officer_client.post(archive_url)

    assert response.status_code == 302
    ingrid.refresh_from_db()
    assert ingrid.archived_at is not None
    assert Person.objects.filter(pk=ingrid.pk).exists()
    default_list = officer_client.get(persons_url())
    assert ingrid.pk not in listed_pks(default_list)
    assert {p.pk for p in others} <= listed_pks(default_list)
    assert ingrid.pk not in listed_pks(officer_client.get(persons_url(q="ingrid")))
    assert listed_pks(officer_client.get(persons_url(archived="archived"))) == {
        ingrid.pk
    }
    assert ingrid.pk in listed_pks(officer_client.get(persons_url(archived="all")))


def test_unarchive_brings_the_record_back(officer_client, ingrid):
    archive = officer_client.get(reverse("register_persons:archive", args=[ingrid.pk]))
    assert "Yes, archive" in archive.content.decode()
    officer_client.post(reverse("register_persons:archive", args=[ingrid.pk]))
    unarchive = reverse("register_persons:unarchive", args=[ingrid.pk])
    confirm = officer_client.get(unarchive).content.decode()
    assert "Bring back from archive" in confirm
    assert "Yes, bring it back" in confirm and "Yes, archive" not in confirm

    officer_client.post(unarchive)

    ingrid.refresh_from_db()
    assert ingrid.archived_at is None


def test_nobody_can_delete_a_register_record(verified_client, ingrid, superuser):
    client = verified_client(superuser)

    response = client.post(reverse("register_persons:delete", args=[ingrid.pk]))

    assert response.status_code in (302, 403)
    assert Person.objects.filter(pk=ingrid.pk).exists()
    edit = client.get(reverse("register_persons:edit", args=[ingrid.pk]))
    assert reverse("register_persons:delete", args=[ingrid.pk]) not in (
        edit.content.decode()
    )


def test_activate_turns_an_applied_membership_active_and_grants_groups(
    officer_client, officer
):
    group = Group.objects.create(name="Members' area")
    member_user = UserFactory()
    person = PersonFactory(user=member_user)
    membership = MembershipFactory(
        person=person,
        type=MembershipTypeFactory(groups=[group]),
        start=timezone.localdate(),
    )
    activate_url = reverse("register_memberships:activate", args=[membership.pk])
    assert officer_client.get(activate_url).status_code == 200

    response = officer_client.post(activate_url, {"note": "Approved by the board"})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    assert group in member_user.groups.all()
    change = membership.status_changes.get()
    assert (change.changed_by, change.note) == (officer, "Approved by the board")
    person.refresh_from_db()
    assert person.member_number


def test_end_membership_records_the_reason(officer_client):
    membership = MembershipFactory()
    officer_client.post(reverse("register_memberships:activate", args=[membership.pk]))

    response = officer_client.post(
        reverse("register_memberships:end", args=[membership.pk]),
        {"reason": Membership.EndReason.RESIGNED, "note": "Moved abroad"},
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ENDED
    assert membership.end_reason == Membership.EndReason.RESIGNED


def test_a_refused_transition_is_reported_not_raised(officer_client):
    membership = MembershipFactory()

    response = officer_client.post(
        reverse("register_memberships:end", args=[membership.pk]),
        {"reason": Membership.EndReason.RESIGNED},
        follow=True,
    )

    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.status == Membership.Status.APPLIED
    assert "cannot become" in response.content.decode()


def test_a_view_only_clerk_cannot_activate(verified_client):
    clerk = staff_in("Editors")
    membership = MembershipFactory()

    response = verified_client(clerk).post(
        reverse("register_memberships:activate", args=[membership.pk])
    )

    assert response.status_code in (302, 403)
    membership.refresh_from_db()
    assert membership.status == Membership.Status.APPLIED


def test_new_membership_starts_applied(officer_client, ingrid):
    chapters = make_chapter_tree()
    membership_type = MembershipTypeFactory()
    add_url = reverse("register_memberships:add")
    assert officer_client.get(f"{add_url}?person={ingrid.pk}").status_code == 200

    response = officer_client.post(
        add_url,
        {
            "person": ingrid.pk,
            "type": membership_type.pk,
            "chapter": chapters.oslo.pk,
            "start": "2026-01-01",
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    membership = Membership.objects.get(person=ingrid)
    assert membership.status == Membership.Status.APPLIED


def test_csv_and_xlsx_export(officer_client, ingrid, others):
    csv_response = officer_client.get(persons_url(export="csv", q="kvalheim"))
    assert csv_response.status_code == 200
    rows = list(
        csv.DictReader(io.StringIO(b"".join(csv_response.streaming_content).decode()))
    )
    assert [row["Last name"] for row in rows] == ["Kvalheim"]
    assert rows[0]["Member number"] == "4711"

    xlsx_response = officer_client.get(persons_url(export="xlsx"))
    assert xlsx_response.status_code == 200
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(b"".join(xlsx_response.streaming_content)))
    names = {row[2] for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert names == {"Kvalheim", "Hansen", "Nordmann"}


def test_list_query_count_does_not_grow_with_the_number_of_persons(officer_client):
    chapters = make_chapter_tree()

    def count_queries(n):
        Person.objects.all().delete()
        for _ in range(n):
            PersonFactory(chapter=chapters.oslo)
        with CaptureQueriesContext(connection) as queries:
            response = officer_client.get(persons_url())
        assert response.status_code == 200
        assert len(response.context["object_list"]) == n
        return len(queries)

    assert count_queries(5) == count_queries(30)


def test_record_page_query_count_does_not_grow_with_memberships(officer_client):
    person = PersonFactory()
    url = reverse("register_persons:edit", args=[person.pk])

    def count_queries(n):
        Membership.objects.filter(person=person).delete()
        for _ in range(n):
            MembershipFactory(person=person)
        with CaptureQueriesContext(connection) as queries:
            assert officer_client.get(url).status_code == 200
        return len(queries)

    assert count_queries(2) == count_queries(10)


def test_setup_roles_command_is_idempotent():
    from django.core.management import call_command

    call_command("members_setup_roles", stdout=io.StringIO())
    out = io.StringIO()
    call_command("members_setup_roles", stdout=out)

    assert "Membership officers: +0" in out.getvalue()
    officers = Group.objects.get(name="Membership officers")
    codenames = set(officers.permissions.values_list("codename", flat=True))
    assert {"access_admin", "change_person", "add_membership"} <= codenames
    assert "delete_person" not in codenames
