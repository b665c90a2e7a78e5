"""Likely duplicates are found on entry; a merge moves everything and loses nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from members.duplicates import (
    organisation_duplicates,
    organisation_merge,
    person_duplicates,
    person_merge,
)
from members.history import record_changes
from members.models import (
    Chapter,
    Employment,
    Membership,
    MembershipType,
    Organisation,
    Person,
    Tag,
)
from members.services import membership_activate
from tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chapter():
    return Chapter.add_root(name="National", level="national", code="nat")


@pytest.fixture
def ordinary():
    kind = MembershipType.objects.create(
        name="Ordinary", kind="individual", period="calendar_year", grace_days=30
    )
    kind.groups.add(Group.objects.create(name="Members area"))
    return kind


def ann(**fields):
    values = {"first_name": "Ann", "last_name": "Berg"} | fields
    return Person.objects.create(**values)


@pytest.mark.parametrize(
    "stored, typed",
    [
        ({"email": "Ann.Berg@Example.org"}, {"email": "ann.berg@example.org"}),
        ({"email_secondary": "ann@home.example"}, {"email": "ANN@home.example"}),
        ({"phone": "+47 22 00 00 00"}, {"phone": "22000000"}),
        ({"phone_mobile": "915 55 555"}, {"phone": "+4791555555"}),
        ({"birth_date": date(1980, 5, 17)}, {"birth_date": date(1980, 5, 17)}),
    ],
)
def test_same_name_with_a_shared_detail_is_a_likely_duplicate(stored, typed):
    existing = ann(**stored)

    found = person_duplicates(first_name="ann", last_name="BERG ", **typed)

    assert found == [existing]


def test_same_name_alone_or_same_email_under_another_name_is_not_flagged():
    ann(email="ann@example.org", birth_date=date(1980, 5, 17))

    assert person_duplicates(first_name="Ann", last_name="Berg") == []
    assert (
        person_duplicates(first_name="Bo", last_name="Berg", email="ann@example.org")
        == []
    )
    assert (
        person_duplicates(
            first_name="Ann", last_name="Berg", birth_date=date(1981, 5, 17)
        )
        == []
    )


def test_a_record_is_not_its_own_duplicate_and_merged_ones_are_not_offered():
    existing = ann(email="ann@example.org")
    merged = ann(email="ann@example.org")
    merged.merged_into = existing
    merged.save()

    found = person_duplicates(
        first_name="Ann",
        last_name="Berg",
        email="ann@example.org",
        exclude_pk=existing.pk,
    )

    assert found == []


def test_organisation_number_alone_finds_the_organisation_whatever_its_name():
    existing = Organisation.objects.create(
        name="Snekkeriet AS", organisation_number="974760673"
    )

    assert organisation_duplicates(
        name="Other name", organisation_number="974 760 673"
    ) == [existing]
    assert organisation_duplicates(name="snekkeriet as", phone="") == []
    existing.phone = "22 11 22 11"
    existing.save()
    assert organisation_duplicates(name="Snekkeriet AS", phone="+47 22112211") == [
        existing
    ]


def test_merging_two_persons_moves_everything_and_loses_nothing(chapter, ordinary):
    officer = StaffUserFactory(email="officer@example.org")
    account = UserFactory(email="ann@example.org")
    survivor = ann(email="ann.berg@work.example", phone="22000000")
    duplicate = ann(
        email="ann@example.org",
        birth_date=date(1980, 5, 17),
        postal_street="Storgata 1",
        user=account,
    )
    volunteer = Tag.objects.create(name="Volunteer")
    duplicate.tags.add(volunteer)
    membership = Membership.objects.create(
        person=duplicate, type=ordinary, chapter=chapter
    )
    membership_activate(membership=membership, by=officer)
    duplicate.refresh_from_db()
    number = duplicate.member_number
    employer = Organisation.objects.create(name="Snekkeriet AS")
    job = Employment.objects.create(
        person=duplicate, organisation=employer, function_title="Carpenter"
    )
    recruit = Person.objects.create(first_name="Cai", last_name="Eng")
    recruited = Membership.objects.create(
        person=recruit, type=ordinary, chapter=chapter, recruited_by=duplicate
    )

    merged = person_merge(
        survivor=survivor,
        duplicate=duplicate,
        take_from_duplicate=["birth_date", "postal_street"],
        by=officer,
    )

    merged.refresh_from_db()
    duplicate.refresh_from_db()
    assert merged.email == "ann.berg@work.example"  # kept from the survivor
    assert merged.birth_date == date(1980, 5, 17)  # chosen from the duplicate
    assert merged.postal_street == "Storgata 1"
    assert merged.member_number == number
    assert merged.user == account
    assert list(merged.tags.all()) == [volunteer]
    membership.refresh_from_db()
    job.refresh_from_db()
    recruited.refresh_from_db()
    assert membership.person == merged
    assert job.person == merged
    assert recruited.recruited_by == merged
    assert set(account.groups.values_list("name", flat=True)) == {"Members area"}
    # The duplicate is archived, not deleted, and its own history is intact.
    assert duplicate.merged_into == merged
    assert duplicate.archived_at is not None
    assert duplicate.user is None
    assert duplicate.history.count() >= 3
    assert any(c.field == "merged_into" for c in record_changes(duplicate))
    # The move of the membership is in the membership's own history, with who.
    latest = membership.history.order_by("-history_date", "-pk").first()
    assert latest.history_user == officer
    assert "Merged with" in latest.history_change_reason


def test_merging_moves_seats_contacts_inquiries_orders_and_newsletters(chapter):
    """What the duplicate did (a seat, a meeting, an inquiry, an order, a newsletter
    list) is the survivor's afterwards, so My Account and the record show it all."""
    from django.utils import timezone

    from members.inquiries import inquiry_submit
    from members.models import (
        Committee,
        CommitteeMembership,
        ContactLogEntry,
        Inquiry,
    )
    from newsletters.models import ChannelConsent, NewsletterList, Subscription
    from newsletters.services import consent_set, subscription_set
    from shop import billing

    officer = StaffUserFactory(email="officer@example.org")
    account = UserFactory(email="ann@example.org")
    survivor = ann(email="ann.berg@work.example")
    duplicate = ann(email="ann@example.org", user=account)
    board = Committee.objects.create(
        name="Board", kind="board", group=Group.objects.create(name="Board")
    )
    seat = CommitteeMembership.objects.create(committee=board, person=duplicate)
    meeting = ContactLogEntry.objects.create(
        kind="meeting",
        subject="Annual talk",
        person=duplicate,
        occurred_at=timezone.now(),
    )
    inquiry = inquiry_submit(
        person=duplicate,
        kind="question",
        subject="A question",
        answers=[{"question": "What?", "answer": "Why?"}],
        form_title="Ask us",
        by=account,
        to=["staff@example.org"],
    )
    order = billing.order_create(
        customer=duplicate,
        customer_name="Ann Berg",
        customer_email="ann@example.org",
        lines=[billing.LineSpec(description="Course", unit_price=Decimal("100.00"))],
    )
    monthly = NewsletterList.objects.create(name="Monthly")
    courses = NewsletterList.objects.create(name="Courses")
    subscription_set(
        person=duplicate, newsletter=monthly, subscribed=True, source="import"
    )
    subscription_set(
        person=duplicate, newsletter=courses, subscribed=True, source="import"
    )
    for subscribed in (True, False):  # the survivor left the list again
        subscription_set(
            person=survivor, newsletter=courses, subscribed=subscribed, source="import"
        )
    consent_set(person=duplicate, channel="email", allowed=True, source="import")

    merged = person_merge(survivor=survivor, duplicate=duplicate, by=officer)

    seat.refresh_from_db()
    assert seat.person == merged
    assert set(account.groups.values_list("name", flat=True)) == {"Board"}
    assert ContactLogEntry.objects.get(pk=meeting.pk).person == merged
    assert Inquiry.objects.get(pk=inquiry.pk).person == merged
    order.refresh_from_db()
    assert order.customer_id == merged.pk
    # A list only the duplicate was on moves with its history; where both had an
    # answer, the survivor's stands and the duplicate's stays on the archived record.
    moved = Subscription.objects.get(newsletter=monthly)
    assert moved.person == merged and moved.is_subscribed
    assert moved.history.filter(person=merged).exists()
    assert (
        Subscription.objects.get(newsletter=courses, person=merged).is_subscribed
        is False
    )
    assert Subscription.objects.get(newsletter=courses, person=duplicate).is_subscribed
    assert ChannelConsent.objects.get(channel="email").person == merged


def test_a_record_cannot_be_merged_twice_or_with_itself():
    survivor = ann()
    duplicate = ann()
    person_merge(survivor=survivor, duplicate=duplicate)

    with pytest.raises(ValidationError, match="merged already"):
        person_merge(survivor=survivor, duplicate=duplicate)
    with pytest.raises(ValidationError, match="itself"):
        person_merge(survivor=survivor, duplicate=survivor)


def test_only_known_fields_can_be_taken_from_the_duplicate():
    with pytest.raises(ValidationError, match="member_number"):
        person_merge(
            survivor=ann(), duplicate=ann(), take_from_duplicate=["member_number"]
        )


def test_merging_organisations_moves_memberships_employees_and_branches(chapter):
    company = MembershipType.objects.create(
        name="Company", kind="organisation", period="calendar_year"
    )
    survivor = Organisation.objects.create(name="Snekkeriet AS")
    duplicate = Organisation.objects.create(
        name="Snekkeriet A/S", organisation_number="974760673"
    )
    branch = Organisation.objects.create(name="Snekkeriet Bergen", parent=duplicate)
    membership = Membership.objects.create(
        organisation=duplicate, type=company, chapter=chapter
    )
    worker = Employment.objects.create(person=ann(), organisation=duplicate)

    organisation_merge(
        survivor=survivor,
        duplicate=duplicate,
        take_from_duplicate=["organisation_number"],
    )

    survivor.refresh_from_db()
    for row in (branch, membership, worker):
        row.refresh_from_db()
    assert survivor.organisation_number == "974760673"
    assert branch.parent == survivor
    assert membership.organisation == survivor
    assert worker.organisation == survivor
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor


def test_merging_moves_change_requests_and_applications(chapter, ordinary):
    """The duplicate's requests and applications are the survivor's afterwards; a
    request for a field the survivor waits on already is withdrawn, saying why."""
    from members.models import Application, ChangeRequest

    officer = StaffUserFactory(email="officer@example.org")
    survivor = ann(email="ann.berg@work.example", postal_city="Bergen")
    duplicate = ann(email="ann@example.org")
    recruit = Person.objects.create(first_name="Rolf", last_name="Rekrutt")
    waiting = ChangeRequest.objects.create(
        person=survivor, field="postal_city", old_value="Bergen", new_value="Voss"
    )
    same_field = ChangeRequest.objects.create(
        person=duplicate, field="postal_city", old_value="", new_value="Oslo"
    )
    other_field = ChangeRequest.objects.create(
        person=duplicate, field="last_name", old_value="Berg", new_value="Fjeld"
    )
    decided = ChangeRequest.objects.create(
        person=duplicate,
        field="phone",
        new_value="+47 22 00 00 00",
        status=ChangeRequest.Status.APPROVED,
    )
    applied = Membership.objects.create(
        person=duplicate, type=ordinary, chapter=chapter
    )
    application = Application.objects.create(
        type=ordinary,
        chapter=chapter,
        person=duplicate,
        membership=applied,
        email="ann@example.org",
    )
    recruited = Application.objects.create(
        type=ordinary,
        chapter=chapter,
        person=recruit,
        membership=Membership.objects.create(
            person=recruit, type=ordinary, chapter=chapter
        ),
        recruited_by=duplicate,
        email="rolf@example.org",
    )

    person_merge(survivor=survivor, duplicate=duplicate, by=officer)

    for row in (waiting, same_field, other_field, decided, application, recruited):
        row.refresh_from_db()
    assert {r.person for r in (waiting, same_field, other_field, decided)} == {survivor}
    assert waiting.status == ChangeRequest.Status.PENDING
    assert other_field.status == ChangeRequest.Status.PENDING
    assert decided.status == ChangeRequest.Status.APPROVED
    assert same_field.status == ChangeRequest.Status.WITHDRAWN
    assert same_field.decided_by == officer
    assert "already had a request for this field" in same_field.reason
    assert set(ChangeRequest.objects.pending().filter(person=survivor)) == {
        waiting,
        other_field,
    }
    assert application.person == survivor
    assert recruited.recruited_by == survivor
    assert not ChangeRequest.objects.filter(person=duplicate).exists()
    assert not Application.objects.filter(person=duplicate).exists()


def test_merging_organisations_moves_their_change_requests_and_applications(chapter):
    from members.models import Application, ChangeRequest

    company = MembershipType.objects.create(
        name="Company", kind="organisation", period="calendar_year"
    )
    survivor = Organisation.objects.create(name="Snekkeriet AS")
    duplicate = Organisation.objects.create(name="Snekkeriet A/S")
    contact = ann()
    request = ChangeRequest.objects.create(
        organisation=duplicate, field="website", new_value="https://snekker.example"
    )
    application = Application.objects.create(
        type=company,
        chapter=chapter,
        person=contact,
        organisation=duplicate,
        membership=Membership.objects.create(
            organisation=duplicate, type=company, chapter=chapter
        ),
        email="post@snekker.example",
    )

    organisation_merge(survivor=survivor, duplicate=duplicate)

    request.refresh_from_db()
    application.refresh_from_db()
    assert request.organisation == survivor
    assert request.status == ChangeRequest.Status.PENDING
    assert application.organisation == survivor
    assert application.membership.organisation == survivor
