"""Status changes go through one service with an allowed-transition table and a record
of who changed what and when; activation and ending follow from it."""

from datetime import timedelta
from itertools import product

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from members.models import Membership, MembershipStatusChange, MembershipType
from members.services import (
    TransitionNotAllowed,
    membership_activate,
    membership_end,
    membership_status_changed,
    membership_transition,
)
from tests.factories import StaffUserFactory, UserFactory
from tests.members.factories import (
    MembershipFactory,
    MembershipTypeFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

S = Membership.Status

#: The transitions the association allows, written out here so a change to the
#: service's table has to be a deliberate change to this test too.
ALLOWED = {
    (S.APPLIED, S.PENDING_PAYMENT),
    (S.APPLIED, S.ACTIVE),
    (S.APPLIED, S.REJECTED),
    (S.APPLIED, S.CANCELLED),
    (S.PENDING_PAYMENT, S.ACTIVE),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.ACTIVE, S.ENDED),
    (S.ENDED, S.ACTIVE),
}
REFUSED = sorted(set(product(S, S)) - ALLOWED)


@pytest.fixture
def officer():
    return StaffUserFactory(email="officer@example.org")


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def members_group():
    return Group.objects.create(name="Members")


@pytest.fixture
def member(members_group):
    """A person with a user account and an applied membership granting "Members"."""
    user = UserFactory()
    person = PersonFactory(user=user)
    kind = MembershipTypeFactory(groups=[members_group])
    membership = MembershipFactory(
        person=person,
        type=kind,
        start=timezone.localdate() - timedelta(days=30),
    )
    return membership


def group_names(user):
    return set(user.groups.values_list("name", flat=True))


# --- The transition table --------------------------------------------------------------


@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED))
def test_an_allowed_transition_is_made_and_recorded(from_status, to_status, officer):
    membership = MembershipFactory(status=from_status)
    before = timezone.now()

    result = membership_transition(
        membership=membership, to_status=to_status, by=officer, note="Checked."
    )

    assert result.status == to_status
    membership.refresh_from_db()
    assert membership.status == to_status
    change = MembershipStatusChange.objects.get(membership=membership)
    assert (change.from_status, change.to_status) == (from_status, to_status)
    assert change.changed_by == officer
    assert before <= change.changed_at <= timezone.now()
    assert change.note == "Checked."
    latest = membership.history.latest("history_id")
    assert latest.status == to_status
    assert latest.history_user == officer


@pytest.mark.parametrize(("from_status", "to_status"), REFUSED)
def test_a_transition_outside_the_table_is_refused_with_a_clear_message(
    from_status, to_status, officer
):
    membership = MembershipFactory(status=from_status)
    versions = membership.history.count()

    with pytest.raises(TransitionNotAllowed) as excinfo:
        membership_transition(membership=membership, to_status=to_status, by=officer)

    assert excinfo.value.messages == [
        f"A membership that is “{S(from_status).label}” cannot become "
        f"“{S(to_status).label}”."
    ]
    membership.refresh_from_db()
    assert membership.status == from_status
    assert not MembershipStatusChange.objects.exists()
    assert membership.history.count() == versions


def test_refusal_message_reads_well():
    membership = MembershipFactory(status=S.REJECTED)

    with pytest.raises(TransitionNotAllowed) as excinfo:
        membership_transition(membership=membership, to_status=S.ACTIVE)

    assert excinfo.value.messages == [
        "A membership that is “Rejected” cannot become “Active”."
    ]


def test_every_change_of_a_membership_is_its_own_row(officer):
    clerk = StaffUserFactory()
    membership = MembershipFactory()

    membership_transition(membership=membership, to_status=S.PENDING_PAYMENT, by=clerk)
    membership_transition(membership=membership, to_status=S.ACTIVE, by=officer)

    rows = list(
        membership.status_changes.values_list("from_status", "to_status", "changed_by")
    )
    assert rows == [
        (S.APPLIED, S.PENDING_PAYMENT, clerk.pk),
        (S.PENDING_PAYMENT, S.ACTIVE, officer.pk),
    ]


def test_listeners_hear_of_a_status_change_after_commit(
    django_capture_on_commit_callbacks,
):
    heard = []

    def listener(sender, membership, from_status, to_status, **kwargs):
        heard.append((membership.pk, from_status, to_status))

    membership_status_changed.connect(listener)
    try:
        membership = MembershipFactory()
        with django_capture_on_commit_callbacks(execute=True):
            membership_transition(membership=membership, to_status=S.CANCELLED)
    finally:
        membership_status_changed.disconnect(listener)

    assert heard == [(membership.pk, S.APPLIED, S.CANCELLED)]


def test_ending_sets_the_reason_and_an_end_no_later_than_today(today):
    membership = MembershipFactory(
        status=S.ACTIVE, start=today - timedelta(days=100), end=today + timedelta(200)
    )

    membership_transition(membership=membership, to_status=S.ENDED)

    membership.refresh_from_db()
    assert membership.end == today
    assert membership.end_reason == Membership.EndReason.OTHER


def test_reinstating_clears_the_reason_for_ending(today):
    membership = MembershipFactory(
        status=S.ENDED, end_reason=Membership.EndReason.LAPSED, end=today
    )

    membership_transition(membership=membership, to_status=S.ACTIVE)

    membership.refresh_from_db()
    assert membership.status == S.ACTIVE
    assert membership.end_reason == ""


# --- Activation ------------------------------------------------------------------------


def test_activation_grants_the_types_groups_at_once(member, officer):
    user = member.person.user
    assert group_names(user) == set()

    membership_activate(membership=member, by=officer)

    assert group_names(user) == {"Members"}
    member.refresh_from_db()
    assert member.status == S.ACTIVE
    change = member.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == (
        S.APPLIED,
        S.ACTIVE,
        officer,
    )


def test_activation_grants_every_group_of_the_type():
    user = UserFactory()
    board, members = (
        Group.objects.create(name="Board"),
        Group.objects.create(name="Members"),
    )
    membership = MembershipFactory(
        person=PersonFactory(user=user),
        type=MembershipTypeFactory(groups=[board, members]),
        start=timezone.localdate(),
    )

    membership_activate(membership=membership)

    assert group_names(user) == {"Board", "Members"}


def test_activation_after_payment_is_awaited(member):
    membership_transition(membership=member, to_status=S.PENDING_PAYMENT)
    assert group_names(member.person.user) == set()

    membership_activate(membership=member)

    assert group_names(member.person.user) == {"Members"}
    assert list(member.status_changes.values_list("to_status", flat=True)) == [
        S.PENDING_PAYMENT,
        S.ACTIVE,
    ]


def test_activation_assigns_a_member_number(member):
    assert member.person.member_number is None

    membership_activate(membership=member)

    member.person.refresh_from_db()
    assert member.person.member_number == 1


def test_a_second_activation_is_refused_and_changes_nothing(member, officer):
    membership_activate(membership=member, by=officer)
    member.refresh_from_db()
    number = member.person.member_number
    end = member.end
    versions = member.history.count()

    with pytest.raises(TransitionNotAllowed) as excinfo:
        membership_activate(membership=member, by=officer)

    assert "cannot become “Active”" in excinfo.value.messages[0]
    member.refresh_from_db()
    member.person.refresh_from_db()
    assert member.status == S.ACTIVE
    assert member.end == end
    assert member.person.member_number == number
    assert member.status_changes.count() == 1
    assert member.history.count() == versions
    assert group_names(member.person.user) == {"Members"}


def test_a_rejected_application_cannot_be_activated(member):
    membership_transition(membership=member, to_status=S.REJECTED)

    with pytest.raises(TransitionNotAllowed):
        membership_activate(membership=member)

    member.refresh_from_db()
    assert member.status == S.REJECTED
    assert member.end is None
    assert member.person.member_number is None
    assert group_names(member.person.user) == set()


def test_activation_without_a_user_account_still_works(members_group):
    person = PersonFactory()
    membership = MembershipFactory(
        person=person, type=MembershipTypeFactory(groups=[members_group])
    )

    membership_activate(membership=membership)

    membership.refresh_from_db()
    assert membership.status == S.ACTIVE


def test_activation_of_a_future_membership_grants_nothing_yet(member, today):
    member.start = today + timedelta(days=10)
    member.save()

    membership_activate(membership=member)

    assert group_names(member.person.user) == set()


# --- Ending ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    [
        Membership.EndReason.RESIGNED,
        Membership.EndReason.EXPELLED,
        Membership.EndReason.DECEASED,
    ],
)
def test_ending_a_membership_removes_access_at_once(member, officer, today, reason):
    membership_activate(membership=member)
    member.refresh_from_db()
    assert member.end > today  # the paid period and its grace are still running
    assert group_names(member.person.user) == {"Members"}

    membership_end(membership=member, reason=reason, by=officer, note="By letter.")

    assert group_names(member.person.user) == set()
    member.refresh_from_db()
    assert member.status == S.ENDED
    assert member.end_reason == reason
    assert member.end == today
    change = member.status_changes.latest("pk")
    assert (change.from_status, change.to_status) == (S.ACTIVE, S.ENDED)
    assert change.changed_by == officer
    assert change.note == "By letter."
    assert not Membership.objects.granting_access(today).exists()


def test_ending_one_membership_keeps_the_access_another_grants(member, today):
    membership_activate(membership=member)
    other = MembershipFactory(
        person=member.person,
        type=MembershipTypeFactory(
            kind=MembershipType.Kind.INDIVIDUAL,
            groups=list(member.type.groups.all()),
        ),
        start=today,
    )
    membership_activate(membership=other)

    membership_end(membership=member, reason=Membership.EndReason.RESIGNED)

    assert group_names(member.person.user) == {"Members"}


def test_an_applied_membership_cannot_be_ended(member):
    with pytest.raises(TransitionNotAllowed):
        membership_end(membership=member, reason=Membership.EndReason.RESIGNED)

    member.refresh_from_db()
    assert member.status == S.APPLIED
    assert member.end is None
