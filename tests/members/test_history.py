"""Every change keeps the old value, who made it and when; staff can restore it."""

import pytest
from django.core.exceptions import ValidationError

from members.history import recent_changes, record_changes, record_restore_value
from members.models import Chapter, Membership, MembershipType, Person
from members.selectors import persons_visible_to
from members.services import membership_activate
from tests.factories import StaffUserFactory, SuperUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return StaffUserFactory(email="officer@example.org")


@pytest.fixture
def person(officer):
    person = Person(
        first_name="Ann",
        last_name="Berg",
        postal_street="Storgata 1",
        postal_postcode="0155",
        postal_city="Oslo",
    )
    person._history_user = officer
    person.save()
    return person


def move(person, user, street, postcode="5003", city="Bergen"):
    person.postal_street = street
    person.postal_postcode = postcode
    person.postal_city = city
    person._history_user = user
    person.save()


def test_an_edit_keeps_the_old_value_with_who_and_when(person, officer):
    move(person, officer, "Strandkaien 2")

    changes = {c.field: c for c in record_changes(person)}

    assert changes["postal_street"].old == "Storgata 1"
    assert changes["postal_street"].new == "Strandkaien 2"
    assert changes["postal_street"].changed_by == officer
    assert changes["postal_city"].old == "Oslo"
    assert "first_name" not in changes


def test_restoring_an_old_address_brings_it_back_and_is_itself_audited(person, officer):
    move(person, officer, "Strandkaien 2")
    restorer = SuperUserFactory(email="chief@example.org")
    old = next(c for c in record_changes(person) if c.field == "postal_street")

    record_restore_value(
        record=person, history_id=old.history_id, field="postal_street", by=restorer
    )

    person.refresh_from_db()
    assert person.postal_street == "Storgata 1"
    assert person.postal_city == "Bergen"  # only the chosen field comes back
    newest = person.history.order_by("-history_date", "-pk").first()
    assert newest.history_user == restorer
    assert "Restored" in newest.history_change_reason
    latest = record_changes(person)[0]
    assert (latest.field, latest.old, latest.new) == (
        "postal_street",
        "Strandkaien 2",
        "Storgata 1",
    )


def test_a_version_of_another_record_cannot_be_restored(person, officer):
    other = Person.objects.create(first_name="Bo", last_name="Dahl")
    foreign = other.history.first()

    with pytest.raises(ValidationError, match="does not belong"):
        record_restore_value(
            record=person, history_id=foreign.history_id, field="first_name", by=officer
        )


def test_status_cannot_be_restored_past_its_rules(officer):
    national = Chapter.add_root(name="National", level="national", code="nat")
    kind = MembershipType.objects.create(
        name="Ordinary", kind="individual", period="calendar_year"
    )
    person = Person.objects.create(first_name="Cai", last_name="Eng")
    membership = Membership.objects.create(person=person, type=kind, chapter=national)
    membership_activate(membership=membership, by=officer)
    applied = membership.history.order_by("history_date", "pk").first()

    changes = record_changes(membership)
    status = next(c for c in changes if c.field == "status")
    assert (status.old, status.new, status.changed_by) == ("applied", "active", officer)
    assert not status.restorable
    with pytest.raises(ValidationError, match="cannot be restored"):
        record_restore_value(
            record=membership, history_id=applied.history_id, field="status", by=officer
        )
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE


def test_recent_changes_show_only_what_the_viewer_may_see(person, officer):
    from members.models import ChapterAdministrator

    east = Chapter.add_root(name="East", level="regional", code="east")
    west = Chapter.add_root(name="West", level="regional", code="west")
    person.chapter = east
    person.save()
    stranger = Person.objects.create(first_name="Dag", last_name="Fjell", chapter=west)
    chapter_admin = StaffUserFactory(email="east@example.org")
    ChapterAdministrator.objects.create(user=chapter_admin, chapter=east)

    rows = recent_changes(querysets={Person: persons_visible_to(chapter_admin)})

    people = {row.id for row in rows if row.instance_type is Person}
    assert person.pk in people
    assert stranger.pk not in people
