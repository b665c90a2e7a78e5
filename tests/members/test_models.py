"""The register's rules that live in the models: periods, constraints, numbers, history,
and that "member since", "new this half year" and "lapsed last year" are queries."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from members.models import Employment, Membership, MembershipType, Person
from members.services import (
    membership_activate,
    membership_end,
    memberships_lapse,
    person_assign_member_number,
)
from tests.factories import StaffUserFactory
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
    make_chapter_tree,
)

pytestmark = pytest.mark.django_db

Period = MembershipType.Period


# --- Periods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period.CALENDAR_YEAR, date(2025, 3, 15), date(2025, 12, 31)),
        (Period.CALENDAR_YEAR, date(2025, 1, 1), date(2025, 12, 31)),
        (Period.CALENDAR_YEAR, date(2024, 12, 31), date(2024, 12, 31)),
        (Period.ROLLING_YEAR, date(2025, 3, 15), date(2026, 3, 14)),
        (Period.ROLLING_YEAR, date(2025, 1, 1), date(2025, 12, 31)),
        (Period.ROLLING_YEAR, date(2024, 2, 29), date(2025, 2, 28)),
        (Period.ROLLING_YEAR, date(2023, 3, 1), date(2024, 2, 29)),
        (Period.ROLLING_YEAR, date(2024, 3, 1), date(2025, 2, 28)),
        (Period.LIFETIME, date(2025, 3, 15), None),
    ],
)
def test_period_end(period, start, end):
    assert MembershipTypeFactory.build(period=period).period_end(start) == end


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period.CALENDAR_YEAR, date(2025, 6, 1), date(2025, 12, 31)),
        (Period.ROLLING_YEAR, date(2024, 2, 29), date(2025, 2, 28)),
        (Period.LIFETIME, date(2025, 6, 1), None),
    ],
)
def test_activation_stores_the_end_of_the_types_period(period, start, end):
    membership = MembershipFactory(type__period=period, start=start)

    membership_activate(membership=membership)

    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    assert membership.end == end


def test_a_lifetime_membership_never_lapses():
    membership = MembershipFactory(
        type__period=Period.LIFETIME, start=date(1990, 5, 17)
    )
    membership_activate(membership=membership)

    assert memberships_lapse(on=date(2090, 1, 1)) == 0

    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    assert membership.end is None
    assert Membership.objects.granting_access(date(2090, 1, 1)).get() == membership


# --- Constraints -----------------------------------------------------------------------


def test_a_membership_without_a_holder_is_refused():
    membership = MembershipFactory.build(
        person=None,
        organisation=None,
        type=MembershipTypeFactory(),
        chapter=make_chapter_tree().national,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        membership.save()

    assert not Membership.objects.exists()


def test_a_membership_with_both_a_person_and_an_organisation_is_refused():
    chapter = make_chapter_tree().national
    person = PersonFactory()
    organisation = OrganisationFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(person=person, organisation=organisation, chapter=chapter)

    assert not Membership.objects.exists()
    # Either holder alone is fine.
    MembershipFactory(person=person, chapter=chapter)
    MembershipFactory(person=None, organisation=organisation, chapter=chapter)
    assert Membership.objects.count() == 2


def test_the_holder_rule_has_a_clear_message_in_forms():
    membership = MembershipFactory.build(
        person=None,
        organisation=None,
        type=MembershipTypeFactory(),
        chapter=make_chapter_tree().national,
    )

    with pytest.raises(ValidationError) as excinfo:
        membership.full_clean()

    assert (
        "A membership belongs to either a person or an organisation."
        in excinfo.value.messages
    )


def test_a_membership_cannot_end_before_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(start=date(2025, 6, 1), end=date(2025, 5, 31))

    assert not Membership.objects.exists()
    same_day = MembershipFactory(start=date(2025, 6, 1), end=date(2025, 6, 1))
    assert same_day.pk


def test_an_end_before_the_start_has_a_clear_message_in_forms():
    membership = MembershipFactory(start=date(2025, 6, 1))
    membership.end = date(2025, 1, 1)

    with pytest.raises(ValidationError) as excinfo:
        membership.full_clean()

    assert "The end cannot be before the start." in excinfo.value.messages


def test_an_employment_cannot_end_before_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        EmploymentFactory(start=date(2025, 6, 1), end=date(2025, 5, 31))

    assert not Employment.objects.exists()


def test_current_employments():
    on = date(2025, 6, 1)
    current = [
        EmploymentFactory(start=date(2020, 1, 1), end=None),
        EmploymentFactory(start=None, end=None),
        EmploymentFactory(start=on, end=on),
        EmploymentFactory(start=date(2020, 1, 1), end=date(2025, 12, 31)),
    ]
    EmploymentFactory(start=date(2020, 1, 1), end=date(2025, 5, 31))  # ended
    EmploymentFactory(start=date(2025, 6, 2), end=None)  # not begun

    assert set(Employment.objects.current(on)) == set(current)


# --- Organisation numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("NO", "974760673", "974760673"),
        ("NO", "974 760 673", "974760673"),
        ("SE", "556703-7485", "5567037485"),
        ("DK", "13585628", "13585628"),
        ("FI", "2077474-0", "20774740"),
    ],
)
def test_a_valid_organisation_number_is_kept_in_compact_form(country, typed, stored):
    organisation = OrganisationFactory.build(country=country, organisation_number=typed)

    organisation.full_clean()
    organisation.save()

    organisation.refresh_from_db()
    assert organisation.organisation_number == stored


@pytest.mark.parametrize(
    ("country", "typed"),
    [("NO", "974760674"), ("NO", "12345"), ("SE", "556703-7486"), ("DK", "13585627")],
)
def test_an_invalid_organisation_number_is_refused_naming_the_number(country, typed):
    organisation = OrganisationFactory.build(country=country, organisation_number=typed)

    with pytest.raises(ValidationError) as excinfo:
        organisation.full_clean()

    messages = excinfo.value.message_dict["organisation_number"]
    assert messages == [f"{typed} is not a valid organisation number for {country}."]


@pytest.mark.parametrize(
    ("country", "typed"),
    [("NL", "12345678"), ("GB", "SC123456"), ("DE", "HRB 12345"), ("NO", "")],
)
def test_organisation_numbers_without_a_validator_are_accepted_as_typed(country, typed):
    organisation = OrganisationFactory.build(country=country, organisation_number=typed)

    organisation.full_clean()
    organisation.save()

    organisation.refresh_from_db()
    assert organisation.organisation_number == typed


def test_an_organisation_cannot_be_its_own_parent():
    organisation = OrganisationFactory()
    organisation.parent = organisation

    with pytest.raises(ValidationError) as excinfo:
        organisation.full_clean()

    assert "parent" in excinfo.value.message_dict


# --- Member numbers --------------------------------------------------------------------


def test_member_numbers_are_assigned_once_and_are_unique():
    ann, bob = PersonFactory(), PersonFactory()

    first = person_assign_member_number(person=ann)
    again = person_assign_member_number(person=ann)
    second = person_assign_member_number(person=bob)

    assert first == again
    assert second != first
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.member_number, bob.member_number) == (first, second)


def test_a_second_membership_keeps_the_member_number():
    person = PersonFactory()
    membership_activate(membership=MembershipFactory(person=person))
    person.refresh_from_db()
    number = person.member_number
    assert number

    membership_activate(membership=MembershipFactory(person=person))

    person.refresh_from_db()
    assert person.member_number == number


def test_a_member_number_is_not_given_twice():
    PersonFactory(member_number=7)

    with pytest.raises(IntegrityError), transaction.atomic():
        PersonFactory(member_number=7)


def test_member_numbers_continue_after_the_highest():
    PersonFactory(member_number=41)
    person = PersonFactory()

    assert person_assign_member_number(person=person) == 42


def test_an_organisation_membership_gives_no_member_number_to_anyone():
    employee = EmploymentFactory().person
    membership = MembershipFactory(
        person=None,
        organisation=employee.employments.get().organisation,
        type__kind=MembershipType.Kind.ORGANISATION,
    )

    membership_activate(membership=membership)

    assert not Person.objects.filter(member_number__isnull=False).exists()


# --- History is never overwritten -----------------------------------------------------


def test_an_edit_keeps_the_old_value_and_who_changed_it():
    officer = StaffUserFactory()
    person = PersonFactory(first_name="Ann", last_name="Berg", postal_city="Oslo")

    person.postal_city = "Bergen"
    person._history_user = officer
    person.save()
    person.last_name = "Dahl"
    person._history_user = officer
    person.save()

    versions = list(person.history.order_by("history_date", "history_id"))
    assert [(v.last_name, v.postal_city) for v in versions] == [
        ("Berg", "Oslo"),
        ("Berg", "Bergen"),
        ("Dahl", "Bergen"),
    ]
    assert [v.history_type for v in versions] == ["+", "~", "~"]
    assert versions[0].history_user is None
    assert versions[1].history_user == officer
    assert versions[2].history_user == officer
    assert versions[2].history_date >= versions[0].history_date


def test_organisations_employments_and_memberships_keep_history_too():
    organisation = OrganisationFactory(name="Old name AS")
    organisation.name = "New name AS"
    organisation.save()
    employment = EmploymentFactory(organisation=organisation, function_title="Clerk")
    employment.function_title = "Director"
    employment.save()

    assert list(
        organisation.history.order_by("history_id").values_list("name", flat=True)
    ) == ["Old name AS", "New name AS"]
    assert list(
        employment.history.order_by("history_id").values_list(
            "function_title", flat=True
        )
    ) == ["Clerk", "Director"]


def test_every_status_of_a_membership_stays_in_its_history():
    officer = StaffUserFactory()
    membership = MembershipFactory(start=timezone.localdate() - timedelta(days=10))

    membership_activate(membership=membership, by=officer)
    membership_end(
        membership=membership, reason=Membership.EndReason.RESIGNED, by=officer
    )

    statuses = list(
        membership.history.order_by("history_id").values_list("status", flat=True)
    )
    assert statuses[0] == Membership.Status.APPLIED
    assert Membership.Status.ACTIVE in statuses
    assert statuses[-1] == Membership.Status.ENDED
    assert membership.history.latest("history_id").history_user == officer
    assert list(membership.status_changes.values_list("from_status", "to_status")) == [
        (Membership.Status.APPLIED, Membership.Status.ACTIVE),
        (Membership.Status.ACTIVE, Membership.Status.ENDED),
    ]


# --- "Member since", "new this half year", "lapsed last year" are queries ----------------


@pytest.fixture
def register():
    """A small register with a past, built through the services.

    - Ann: member 2015-2019 (lapsed), back in 2024 and still a member.
    - Bob: joined in February 2026, still a member.
    - Cat: member since 2023, lapsed at the end of 2025.
    - Dan: joined in 2026 and resigned at once.
    - Eve: applied in March 2026, never paid.
    """
    tree = make_chapter_tree()
    yearly = MembershipTypeFactory(period=Period.CALENDAR_YEAR, grace_days=30)
    people = {
        name: PersonFactory(first_name=name)
        for name in ["Ann", "Bob", "Cat", "Dan", "Eve"]
    }

    def member(name, start, end=None, *, reason=None, activate=True):
        membership = MembershipFactory(
            person=people[name], type=yearly, chapter=tree.oslo, start=start, end=end
        )
        if activate:
            membership_activate(membership=membership)
        if reason:
            membership_end(membership=membership, reason=reason, end=end)
        return membership

    member("Ann", date(2015, 1, 1), date(2019, 12, 31))
    member("Ann", date(2024, 1, 1), date(2026, 12, 31))
    member("Bob", date(2026, 2, 1))
    member("Cat", date(2023, 1, 1), date(2025, 12, 31))
    member("Dan", date(2026, 3, 1), date(2026, 3, 2), reason="resigned")
    member("Eve", date(2026, 3, 1), activate=False)
    memberships_lapse(on=date(2026, 2, 15))  # Ann's first and Cat's lapse
    return people


def test_the_nightly_lapse_recorded_who_lapsed(register):
    lapsed = Membership.objects.filter(end_reason=Membership.EndReason.LAPSED)
    assert sorted(lapsed.values_list("person__first_name", "end")) == [
        ("Ann", date(2019, 12, 31)),
        ("Cat", date(2025, 12, 31)),
    ]


def test_member_since_is_a_query(register):
    ever_members = [Membership.Status.ACTIVE, Membership.Status.ENDED]
    since = dict(
        Person.objects.filter(memberships__status__in=ever_members)
        .annotate(since=Min("memberships__start"))
        .values_list("first_name", "since")
    )

    assert since == {
        "Ann": date(2015, 1, 1),  # kept through a lapse and a return
        "Bob": date(2026, 2, 1),
        "Cat": date(2023, 1, 1),
        "Dan": date(2026, 3, 1),
    }


def test_new_this_half_year_is_a_query(register):
    half_year = date(2026, 1, 1)
    members = [Membership.Status.ACTIVE, Membership.Status.ENDED]
    earlier = Membership.objects.filter(
        person=OuterRef("pk"), status__in=members, start__lt=half_year
    )
    new = (
        Person.objects.filter(
            memberships__status__in=members, memberships__start__gte=half_year
        )
        .exclude(Exists(earlier))
        .distinct()
    )

    assert sorted(new.values_list("first_name", flat=True)) == ["Bob", "Dan"]


def test_lapsed_last_year_is_a_query(register):
    last_year = (date(2025, 1, 1), date(2025, 12, 31))
    current = Membership.objects.granting_access(date(2026, 6, 1)).filter(
        person=OuterRef("pk")
    )
    lapsed = (
        Person.objects.filter(
            memberships__end_reason=Membership.EndReason.LAPSED,
            memberships__end__range=last_year,
        )
        .exclude(Exists(current))
        .distinct()
    )

    assert list(lapsed.values_list("first_name", flat=True)) == ["Cat"]


def test_current_members_are_a_query(register):
    on = date(2026, 6, 1)
    current = Person.objects.filter(
        Q(memberships__in=Membership.objects.granting_access(on))
    ).distinct()

    assert sorted(current.values_list("first_name", flat=True)) == ["Ann", "Bob"]
