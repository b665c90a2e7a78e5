"""A committee's site group is its current members: seats give and take it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.utils import timezone

from members.models import Committee, CommitteeMembership
from members.services import memberships_lapse, user_sync_groups
from tests.factories import UserFactory
from tests.members.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def board():
    group = Group.objects.create(name="Board")
    return Committee.objects.create(
        name="Board", kind=Committee.Kind.BOARD, group=group
    )


def _person_with_user(**fields):
    return PersonFactory(user=UserFactory(), **fields)


def _groups(person) -> set[str]:
    person.user.refresh_from_db()
    return set(person.user.groups.values_list("name", flat=True))


def test_a_seat_puts_its_holder_in_the_committees_group(
    board, django_capture_on_commit_callbacks
):
    person = _person_with_user()
    with django_capture_on_commit_callbacks(execute=True):
        seat = CommitteeMembership.objects.create(committee=board, person=person)
    assert _groups(person) == {"Board"}

    with django_capture_on_commit_callbacks(execute=True):
        seat.end = timezone.localdate() - timedelta(days=1)
        seat.start = seat.end - timedelta(days=30)
        seat.save()
    assert _groups(person) == set()


def test_removing_a_seat_takes_the_group(board, django_capture_on_commit_callbacks):
    person = _person_with_user()
    with django_capture_on_commit_callbacks(execute=True):
        seat = CommitteeMembership.objects.create(committee=board, person=person)
    with django_capture_on_commit_callbacks(execute=True):
        seat.delete()
    assert _groups(person) == set()


def test_a_term_ending_is_noticed_by_the_nightly_job(board):
    person = _person_with_user()
    today = timezone.localdate()
    CommitteeMembership.objects.create(
        committee=board, person=person, start=today - timedelta(days=300), end=today
    )
    user_sync_groups(user=person.user)
    assert _groups(person) == {"Board"}

    memberships_lapse(on=today + timedelta(days=1))

    assert _groups(person) == set()


def test_a_term_starting_later_gives_the_group_on_its_day(board):
    person = _person_with_user()
    today = timezone.localdate()
    CommitteeMembership.objects.create(
        committee=board, person=person, start=today + timedelta(days=3)
    )
    user_sync_groups(user=person.user)
    assert _groups(person) == set()

    memberships_lapse(on=today + timedelta(days=3))

    assert _groups(person) == {"Board"}


def test_a_committee_made_inactive_takes_the_group(
    board, django_capture_on_commit_callbacks
):
    person = _person_with_user()
    with django_capture_on_commit_callbacks(execute=True):
        CommitteeMembership.objects.create(committee=board, person=person)
    with django_capture_on_commit_callbacks(execute=True):
        board.is_active = False
        board.save()
    assert _groups(person) == set()


def test_a_committee_given_another_group_moves_its_members(
    board, django_capture_on_commit_callbacks
):
    person = _person_with_user()
    with django_capture_on_commit_callbacks(execute=True):
        CommitteeMembership.objects.create(committee=board, person=person)
    with django_capture_on_commit_callbacks(execute=True):
        board.group = Group.objects.create(name="Styret")
        board.save()
    assert _groups(person) == {"Styret"}


def test_groups_not_given_by_seats_or_memberships_are_left_alone(
    board, django_capture_on_commit_callbacks
):
    person = _person_with_user()
    person.user.groups.add(Group.objects.create(name="Newsletter editors"))
    with django_capture_on_commit_callbacks(execute=True):
        CommitteeMembership.objects.create(committee=board, person=person)
    assert _groups(person) == {"Board", "Newsletter editors"}


def test_a_group_with_admin_rights_cannot_be_a_committees_group():
    officers = Group.objects.create(name="Officers")
    officers.permissions.add(Permission.objects.get(codename="view_person"))
    committee = Committee(name="Board", kind=Committee.Kind.BOARD, group=officers)
    with pytest.raises(ValidationError) as problem:
        committee.full_clean()
    assert "gives rights in the admin" in str(problem.value)
