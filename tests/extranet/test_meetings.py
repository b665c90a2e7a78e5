"""Meetings and follow-ups on My Account: what staff mark as shared in the contact log
shows to the person it was with, or to the organisation's current contact — only the
shared entries, only their shared action items, and never to anyone else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import ActionItem, Committee, ContactLogEntry, Person
from members.shared_contacts import shared_contacts_for
from tests.factories import StaffUserFactory, UserFactory, visible_text
from tests.members.admin_helpers import staff_in
from tests.members.factories import (
    EmploymentFactory,
    OrganisationFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

MEETINGS = reverse("extranet:meetings")
ACCOUNT = reverse("extranet:account")


def member(**fields) -> Person:
    return PersonFactory(user=UserFactory(), **fields)


def entry(*, shared=True, days_ago=1, **fields) -> ContactLogEntry:
    fields.setdefault("kind", ContactLogEntry.Kind.MEETING)
    fields.setdefault("subject", "Annual review")
    return ContactLogEntry.objects.create(
        shared=shared,
        occurred_at=timezone.now() - timedelta(days=days_ago),
        **fields,
    )


def item(log_entry, description, *, shared=True, **fields) -> ActionItem:
    return ActionItem.objects.create(
        entry=log_entry, description=description, shared=shared, **fields
    )


@pytest.fixture
def world(home_page):
    """Kari (a member); Firma AS with Siri its current contact, Per an ordinary
    employee and Liv its former contact; Ola, another member."""
    firma = OrganisationFactory(name="Firma AS")
    people = {
        name: member(first_name=name) for name in ("Kari", "Siri", "Per", "Liv", "Ola")
    }
    EmploymentFactory(person=people["Siri"], organisation=firma, is_contact=True)
    EmploymentFactory(person=people["Per"], organisation=firma)
    EmploymentFactory(
        person=people["Liv"],
        organisation=firma,
        is_contact=True,
        end=timezone.localdate() - timedelta(days=1),
    )
    return {"firma": firma, **people}


def page_text(client, person, address=MEETINGS) -> str:
    client.force_login(person.user)
    response = client.get(address)
    assert response.status_code == 200
    return visible_text(response)


# What shows ------------------------------------------------------------------------


def test_a_shared_meeting_shows_its_outcome_and_only_its_shared_items(client, world):
    meeting = entry(
        person=world["Kari"],
        subject="Membership review",
        notes="Internal: she seemed unhappy",
        outcome="We agreed to move Kari to the senior rate.",
    )
    item(meeting, "Send the new price list", due=date(2026, 3, 9))
    item(meeting, "Call her back in a month", shared=False)
    item(meeting, "Update the register", done_at=timezone.now())

    text = page_text(client, world["Kari"])

    assert "Membership review" in text
    assert "We agreed to move Kari to the senior rate." in text
    assert "Send the new price list" in text
    assert "due 9 March 2026" in text or "due March 9, 2026" in text
    assert "not done yet" in text
    assert "Update the register" in text
    assert "Call her back in a month" not in text
    assert "she seemed unhappy" not in text


def test_an_entry_not_shared_never_shows(client, world):
    entry(person=world["Kari"], subject="Complaint call", shared=False)
    entry(person=world["Kari"], subject="Visit", days_ago=2)

    text = page_text(client, world["Kari"])
    dashboard = page_text(client, world["Kari"], ACCOUNT)

    assert "Visit" in text and "Visit" in dashboard
    assert "Complaint call" not in text
    assert "Complaint call" not in dashboard


def test_nothing_shared_says_so_and_the_dashboard_stays_quiet(client, world):
    entry(person=world["Kari"], subject="Complaint call", shared=False)

    assert "Nothing has been shared with you" in page_text(client, world["Kari"])
    dashboard = page_text(client, world["Kari"], ACCOUNT)
    assert "All meetings, outcomes and action items" not in dashboard


def test_an_organisations_meeting_shows_to_its_current_contact_only(client, world):
    meeting = entry(
        organisation=world["firma"],
        subject="Partnership meeting",
        outcome="Firma hosts the spring seminar.",
    )
    item(meeting, "Book the room")

    text = page_text(client, world["Siri"])
    assert "Partnership meeting" in text
    assert "Firma AS" in text
    assert "Book the room" in text
    organisation_page = page_text(
        client,
        world["Siri"],
        reverse("extranet:organisation", kwargs={"pk": world["firma"].pk}),
    )
    assert "Partnership meeting" in organisation_page

    for who in ("Per", "Liv", "Ola", "Kari"):
        for address in (MEETINGS, ACCOUNT):
            seen = page_text(client, world[who], address)
            assert "Partnership meeting" not in seen, (who, address)
            assert "Book the room" not in seen, (who, address)


def test_another_members_meeting_never_shows(client, world):
    entry(person=world["Ola"], subject="Ola's appraisal", outcome="Ola's secret")

    for who in ("Kari", "Siri"):
        for address in (MEETINGS, ACCOUNT):
            seen = page_text(client, world[who], address)
            assert "Ola's appraisal" not in seen
            assert "Ola's secret" not in seen
    assert "Ola's appraisal" in page_text(client, world["Ola"])


def test_a_committee_meeting_is_not_on_my_account(client, world):
    """A committee's shared meetings belong on its group page."""
    committee = Committee.objects.create(name="Board", kind=Committee.Kind.BOARD)
    committee.seats.create(person=world["Kari"])
    entry(committee=committee, subject="Board meeting")

    assert "Board meeting" not in page_text(client, world["Kari"])
    assert not list(shared_contacts_for(person=world["Kari"], organisation_ids=[]))


def test_the_dashboard_shows_the_latest_three_and_links_to_all(client, world):
    for days_ago in range(1, 6):
        entry(person=world["Kari"], subject=f"Meeting {days_ago}", days_ago=days_ago)

    text = page_text(client, world["Kari"], ACCOUNT)

    assert [f"Meeting {n}" in text for n in range(1, 6)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    client.force_login(world["Kari"].user)
    assert MEETINGS in client.get(ACCOUNT).content.decode()


def test_newest_first_with_own_and_organisation_entries(world):
    siri, firma = world["Siri"], world["firma"]
    older = entry(person=siri, subject="Older", days_ago=5)
    newer = entry(organisation=firma, subject="Newer", days_ago=1)
    entry(organisation=OrganisationFactory(), subject="Elsewhere")

    found = list(shared_contacts_for(person=siri, organisation_ids=[firma.pk]))

    assert found == [newer, older]


# Who may ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(MEETINGS)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")


def test_staff_without_a_person_get_nothing_to_show(client, world):
    entry(person=world["Kari"], subject="Membership review")
    client.force_login(StaffUserFactory())
    response = client.get(MEETINGS)
    assert response.status_code == 200
    text = visible_text(response)
    assert "not linked to anyone in our member register" in text
    assert "Membership review" not in text


# Queries ---------------------------------------------------------------------------


def _queries(client, user, address) -> int:
    client.force_login(user)
    assert client.get(address).status_code == 200  # warm-up: site settings etc.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return len(queries)


def _contact_with(count: int) -> Person:
    """The contact of a new organisation with ``count`` shared meetings of their
    own and ``count`` of the organisation's, each with a shared and an internal
    action item."""
    person = member()
    firma = OrganisationFactory()
    EmploymentFactory(person=person, organisation=firma, is_contact=True)
    for index in range(count):
        for about in ({"person": person}, {"organisation": firma}):
            meeting = entry(subject=f"Meeting {index}", days_ago=index + 1, **about)
            item(meeting, "Shared follow-up")
            item(meeting, "Internal follow-up", shared=False)
    return person


@pytest.mark.parametrize("page", ["meetings", "account", "organisation"])
def test_pages_read_in_a_fixed_number_of_queries(client, world, page):
    def address(person):
        if page == "organisation":
            organisation_id = person.employments.get().organisation_id
            return reverse("extranet:organisation", kwargs={"pk": organisation_id})
        return reverse(f"extranet:{page}")

    one, ten = _contact_with(1), _contact_with(10)
    assert _queries(client, one.user, address(one)) == _queries(
        client, ten.user, address(ten)
    )


def test_the_selector_reads_in_two_queries(world, django_assert_num_queries):
    person = _contact_with(10)
    organisation_ids = [person.employments.get().organisation_id]
    with django_assert_num_queries(2):
        found = list(
            shared_contacts_for(person=person, organisation_ids=organisation_ids)
        )
        texts = {i.description for e in found for i in e.shared_items}
        names = {e.organisation.name for e in found if e.organisation_id}
    assert len(found) == 20
    assert texts == {"Shared follow-up"}
    assert len(names) == 1


# Staff share from the contact log --------------------------------------------------


def test_staff_mark_an_entry_and_an_item_shared_in_the_admin(verified_client, world):
    officer = staff_in("Membership officers")
    client = verified_client(officer)
    add = client.get(reverse("relations_contact_log:add"))
    assert 'name="shared"' in add.content.decode()
    assert 'name="actions-0-shared"' in add.content.decode()

    response = client.post(
        reverse("relations_contact_log:add"),
        {
            "kind": "meeting",
            "occurred_at": "2026-03-02 10:30",
            "subject": "Membership review",
            "notes": "",
            "outcome": "Senior rate from April.",
            "person": str(world["Kari"].pk),
            "shared": "on",
            "actions-TOTAL_FORMS": "2",
            "actions-INITIAL_FORMS": "0",
            "actions-MIN_NUM_FORMS": "0",
            "actions-MAX_NUM_FORMS": "1000",
            "actions-0-description": "Send the new price list",
            "actions-0-shared": "on",
            "actions-1-description": "Check her payment history",
        },
    )

    assert response.status_code == 302
    saved = ContactLogEntry.objects.get()
    assert saved.shared
    assert {(i.description, i.shared) for i in saved.action_items.all()} == {
        ("Send the new price list", True),
        ("Check her payment history", False),
    }
    entry(person=world["Kari"], subject="Internal call", shared=False)
    listed = client.get(reverse("relations_contact_log:index"), {"shared": "yes"})
    assert [e.subject for e in listed.context["object_list"]] == ["Membership review"]
    internal = client.get(reverse("relations_contact_log:index"), {"shared": "no"})
    assert [e.subject for e in internal.context["object_list"]] == ["Internal call"]

    text = page_text(client, world["Kari"])
    assert "Send the new price list" in text
    assert "Check her payment history" not in text
