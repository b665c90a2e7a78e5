"""Access follows the membership: groups come with an active membership, stay through
its grace period, go by themselves after it (nightly, and at sign-in), and employees of
a member organisation have its access while they work there."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from members import tasks
from members.models import Membership, MembershipType
from members.services import (
    employment_end,
    membership_activate,
    membership_end,
    memberships_lapse,
    person_entitled_groups,
    user_sync_groups,
)
from tests.factories import TEST_PASSWORD, UserFactory
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

S = Membership.Status
LAPSED = Membership.EndReason.LAPSED


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def members_group():
    return Group.objects.create(name="Members")


def group_names(user):
    return set(user.groups.values_list("name", flat=True))


def member_with_user(group, *, start, end, grace_days=30):
    """An active membership of a person with a user account, through the services."""
    user = UserFactory()
    membership = MembershipFactory(
        person=PersonFactory(user=user),
        type=MembershipTypeFactory(groups=[group], grace_days=grace_days),
        start=start,
        end=end,
    )
    membership_activate(membership=membership)
    membership.refresh_from_db()
    return membership, user


# --- Grace period and the nightly lapse ------------------------------------------------


@pytest.fixture
def ended_ten_days_ago(members_group, today):
    """The paid period ended ten days ago; 30 days of grace."""
    return member_with_user(
        members_group,
        start=today - timedelta(days=375),
        end=today - timedelta(days=10),
        grace_days=30,
    )


def test_access_stays_during_the_grace_period(ended_ten_days_ago):
    membership, user = ended_ten_days_ago
    last_day_of_grace = membership.end + timedelta(days=30)

    assert group_names(user) == {"Members"}  # granted at activation, in grace
    for night in (membership.end + timedelta(days=1), last_day_of_grace):
        assert memberships_lapse(on=night) == 0
        user_sync_groups(user=user, on=night)

        membership.refresh_from_db()
        assert membership.status == S.ACTIVE
        assert membership.end_reason == ""
        assert group_names(user) == {"Members"}
    assert not membership.status_changes.filter(to_status=S.ENDED).exists()


def test_access_goes_the_night_after_the_grace_period(ended_ten_days_ago):
    membership, user = ended_ten_days_ago
    end = membership.end
    night = end + timedelta(days=31)

    assert memberships_lapse(on=night) == 1

    membership.refresh_from_db()
    assert membership.status == S.ENDED
    assert membership.end_reason == LAPSED
    assert membership.end == end  # the end stays when it was paid up to
    assert group_names(user) == set()
    change = membership.status_changes.latest("pk")
    assert (change.from_status, change.to_status) == (S.ACTIVE, S.ENDED)
    assert change.changed_by is None
    assert change.note == "Ended after the grace period without renewal."


def test_the_nightly_lapse_can_run_twice(ended_ten_days_ago):
    membership, user = ended_ten_days_ago
    night = membership.end + timedelta(days=31)
    memberships_lapse(on=night)
    changes = membership.status_changes.count()
    versions = membership.history.count()

    assert memberships_lapse(on=night) == 0
    assert memberships_lapse(on=night + timedelta(days=1)) == 0

    membership.refresh_from_db()
    assert membership.status == S.ENDED
    assert membership.end_reason == LAPSED
    assert membership.status_changes.count() == changes
    assert membership.history.count() == versions
    assert group_names(user) == set()


def test_a_late_payment_reinstates_a_lapsed_membership_for_the_current_period(
    members_group, today
):
    membership, user = member_with_user(
        members_group,
        start=today - timedelta(days=400),
        end=today - timedelta(days=40),
        grace_days=30,
    )
    old_end = membership.end
    assert memberships_lapse(on=today) == 1
    assert group_names(user) == set()

    membership_activate(membership=membership)

    membership.refresh_from_db()
    assert membership.status == S.ACTIVE
    assert membership.end == membership.type.period_end(today)
    assert membership.end >= today
    assert group_names(user) == {"Members"}
    assert memberships_lapse(on=today + timedelta(days=1)) == 0
    assert old_end in set(membership.history.values_list("end", flat=True))


def test_each_type_counts_its_own_grace_period(members_group, today):
    end = today - timedelta(days=5)
    no_grace, no_grace_user = member_with_user(
        members_group, start=end - timedelta(days=364), end=end, grace_days=0
    )
    long_grace, long_grace_user = member_with_user(
        members_group, start=end - timedelta(days=364), end=end, grace_days=60
    )
    assert group_names(no_grace_user) == set()  # its grace is already over
    assert group_names(long_grace_user) == {"Members"}

    assert memberships_lapse(on=end + timedelta(days=1)) == 1

    no_grace.refresh_from_db()
    long_grace.refresh_from_db()
    assert (no_grace.status, no_grace.end_reason) == (S.ENDED, LAPSED)
    assert long_grace.status == S.ACTIVE
    assert group_names(long_grace_user) == {"Members"}
    assert list(Membership.objects.granting_access(end + timedelta(days=60))) == [
        long_grace
    ]
    assert not Membership.objects.granting_access(end + timedelta(days=61)).exists()


def test_only_active_memberships_that_have_begun_grant_access(members_group, today):
    kind = MembershipTypeFactory(groups=[members_group])
    granting = MembershipFactory(type=kind, status=S.ACTIVE, start=today)
    MembershipFactory(type=kind, status=S.ACTIVE, start=today + timedelta(days=1))
    for status in (S.APPLIED, S.PENDING_PAYMENT, S.REJECTED, S.CANCELLED, S.ENDED):
        MembershipFactory(type=kind, status=status, start=today - timedelta(days=1))

    assert list(Membership.objects.granting_access(today)) == [granting]


def test_the_nightly_task_lapses_memberships(members_group, today):
    membership, user = member_with_user(
        members_group,
        start=today - timedelta(days=400),
        end=today - timedelta(days=31),
        grace_days=30,
    )
    assert group_names(user) == set()  # activated too late: already past its grace

    assert tasks.memberships_lapse() == 1

    membership.refresh_from_db()
    assert (membership.status, membership.end_reason) == (S.ENDED, LAPSED)
    assert tasks.memberships_lapse() == 0


def test_a_resignation_ends_access_without_waiting_for_the_grace(
    ended_ten_days_ago, today
):
    membership, user = ended_ten_days_ago

    membership_end(membership=membership, reason=Membership.EndReason.RESIGNED)

    assert group_names(user) == set()
    membership.refresh_from_db()
    assert membership.end_reason == Membership.EndReason.RESIGNED
    assert memberships_lapse(on=today + timedelta(days=60)) == 0
    membership.refresh_from_db()
    assert membership.end_reason == Membership.EndReason.RESIGNED


# --- Employees of a member organisation ------------------------------------------------


@pytest.fixture
def company(today):
    """A member organisation with an employee who has a user account."""
    partners = Group.objects.create(name="Partners")
    organisation = OrganisationFactory(name="Acme AS")
    user = UserFactory()
    employment = EmploymentFactory(
        person=PersonFactory(user=user),
        organisation=organisation,
        start=today - timedelta(days=100),
    )
    membership = MembershipFactory(
        person=None,
        organisation=organisation,
        type=MembershipTypeFactory(
            kind=MembershipType.Kind.ORGANISATION, groups=[partners]
        ),
        start=today - timedelta(days=10),
    )
    return membership, employment, user


def test_an_employee_inherits_the_organisations_access_at_once(company):
    membership, employment, user = company
    assert group_names(user) == set()

    membership_activate(membership=membership)

    assert group_names(user) == {"Partners"}


def test_former_and_future_employees_inherit_nothing(company, today):
    membership, employment, _user = company
    former, future = UserFactory(), UserFactory()
    EmploymentFactory(
        person=PersonFactory(user=former),
        organisation=employment.organisation,
        start=today - timedelta(days=400),
        end=today - timedelta(days=1),
    )
    EmploymentFactory(
        person=PersonFactory(user=future),
        organisation=employment.organisation,
        start=today + timedelta(days=1),
    )

    membership_activate(membership=membership)

    assert group_names(former) == set()
    assert group_names(future) == set()


def test_inherited_access_ends_with_the_employment(company, today):
    membership, employment, user = company
    colleague = UserFactory()
    EmploymentFactory(
        person=PersonFactory(user=colleague),
        organisation=employment.organisation,
        start=today - timedelta(days=50),
    )
    membership_activate(membership=membership)
    assert group_names(user) == group_names(colleague) == {"Partners"}

    employment_end(employment=employment, end=today)

    # The last day of work still counts.
    assert group_names(user) == {"Partners"}
    tomorrow = today + timedelta(days=1)
    assert person_entitled_groups(person=employment.person, on=today)
    assert person_entitled_groups(person=employment.person, on=tomorrow) == set()

    memberships_lapse(on=tomorrow)  # the nightly run

    assert group_names(user) == set()
    assert group_names(colleague) == {"Partners"}
    membership.refresh_from_db()
    assert membership.status == S.ACTIVE  # the organisation is still a member


def test_an_employment_ended_in_the_past_removes_access_at_once(company, today):
    membership, employment, user = company
    membership_activate(membership=membership)

    employment_end(employment=employment, end=today - timedelta(days=1))

    assert group_names(user) == set()
    employment.refresh_from_db()
    assert employment.end == today - timedelta(days=1)


def test_the_nightly_run_catches_an_employment_ended_by_editing(company, today):
    membership, employment, user = company
    membership_activate(membership=membership)
    employment.end = today - timedelta(days=2)  # edited in a form, no service
    employment.save()
    assert group_names(user) == {"Partners"}

    memberships_lapse(on=today)

    assert group_names(user) == set()


def test_own_access_stays_when_the_employment_ends(company, today, members_group):
    membership, employment, user = company
    membership_activate(membership=membership)
    own = MembershipFactory(
        person=employment.person,
        type=MembershipTypeFactory(groups=[members_group]),
        start=today,
    )
    membership_activate(membership=own)
    assert group_names(user) == {"Partners", "Members"}

    employment_end(employment=employment, end=today - timedelta(days=1))

    assert group_names(user) == {"Members"}


def test_when_the_organisation_resigns_its_employees_lose_access(company):
    membership, _employment, user = company
    membership_activate(membership=membership)

    membership_end(membership=membership, reason=Membership.EndReason.RESIGNED)

    assert group_names(user) == set()


# --- Groups outside the memberships ----------------------------------------------------


def test_groups_no_membership_type_manages_are_never_touched(ended_ten_days_ago, today):
    membership, user = ended_ten_days_ago
    editors, _created = Group.objects.get_or_create(name="Editors")
    user.groups.add(editors)
    outsider = UserFactory()
    outsider.groups.add(editors)

    user_sync_groups(user=user, on=today)
    user_sync_groups(user=outsider, on=today)
    assert group_names(user) == {"Members", "Editors"}
    assert group_names(outsider) == {"Editors"}

    memberships_lapse(on=membership.end + timedelta(days=31))
    user_sync_groups(user=outsider)

    assert group_names(user) == {"Editors"}
    assert group_names(outsider) == {"Editors"}


def test_a_managed_group_given_by_hand_is_taken_back(members_group):
    MembershipTypeFactory(groups=[members_group])
    user = UserFactory()
    PersonFactory(user=user)
    user.groups.add(members_group)

    user_sync_groups(user=user)

    assert group_names(user) == set()


def test_a_user_without_a_person_loses_managed_groups_only(members_group):
    MembershipTypeFactory(groups=[members_group])
    editors, _created = Group.objects.get_or_create(name="Editors")
    user = UserFactory()
    user.groups.add(members_group, editors)

    user_sync_groups(user=user)

    assert group_names(user) == {"Editors"}


# --- Signing in checks access again ----------------------------------------------------


@pytest.fixture
def stale_member(members_group, today):
    """An active membership stored without going through the services: the user's
    groups have not been brought up to date yet."""
    user = UserFactory(email="member@example.org")
    membership = MembershipFactory(
        person=PersonFactory(user=user),
        type=MembershipTypeFactory(groups=[members_group]),
        status=S.ACTIVE,
        start=today - timedelta(days=5),
    )
    return membership, user


def test_signing_in_grants_missing_access(client, stale_member):
    _membership, user = stale_member
    assert group_names(user) == set()

    response = client.post(
        reverse("wagtailadmin_login"),
        {"username": user.email, "password": TEST_PASSWORD},
        REMOTE_ADDR="203.0.113.10",
    )

    assert client.session[SESSION_KEY] == str(user.pk), response.status_code
    assert group_names(user) == {"Members"}


def test_signing_in_removes_access_of_a_membership_that_has_gone(client, stale_member):
    membership, user = stale_member
    user.groups.add(*membership.type.groups.all())
    Membership.objects.filter(pk=membership.pk).update(status=S.ENDED)

    client.force_login(user)

    assert group_names(user) == set()


def test_the_sign_in_signal_syncs_groups(stale_member):
    _membership, user = stale_member

    user_logged_in.send(sender=type(user), request=RequestFactory().get("/"), user=user)

    assert group_names(user) == {"Members"}
