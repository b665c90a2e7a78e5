"""Staff pick out members by criteria combined with and/or/not, without code."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from members.models import (
    Chapter,
    ChapterAdministrator,
    Committee,
    CommitteeMembership,
    Employment,
    FunctionClassification,
    Membership,
    MembershipType,
    Organisation,
    Person,
    Tag,
)
from members.selections import compile_criteria, selection_persons
from tests.factories import StaffUserFactory, SuperUserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)


@pytest.fixture
def world():
    national = Chapter.add_root(name="National", level="national", code="nat")
    east = national.add_child(name="East", level="regional", code="east")
    oslo = east.add_child(name="Oslo", level="local", code="oslo")
    west = national.add_child(name="West", level="regional", code="west")
    ordinary = MembershipType.objects.create(
        name="Ordinary", kind="individual", period="calendar_year"
    )
    student = MembershipType.objects.create(
        name="Student", kind="individual", period="calendar_year"
    )
    company = MembershipType.objects.create(
        name="Company", kind="organisation", period="calendar_year"
    )

    def person(first, **fields):
        return Person.objects.create(first_name=first, last_name="Test", **fields)

    def member(who, kind, chapter, start, status="active", end=None):
        return Membership.objects.create(
            person=who, type=kind, chapter=chapter, start=start, end=end, status=status
        )

    ann = person("Ann", postal_postcode="0150", birth_date=date(1980, 5, 17))
    bo = person("Bo", postal_postcode="5003", birth_date=date(2001, 1, 2))
    cai = person("Cai", postal_postcode="0870", birth_date=date(1955, 3, 3))
    dag = person("Dag", postal_postcode="7010")
    member(ann, ordinary, oslo, date(2026, 8, 1))  # new in the last 6 months
    member(bo, student, west, date(2020, 1, 1))
    member(
        cai, ordinary, east, date(2010, 1, 1), status="ended", end=date(2025, 12, 31)
    )
    director = FunctionClassification.objects.create(name="Director")
    acme = Organisation.objects.create(name="Acme AS")
    Membership.objects.create(
        organisation=acme,
        type=company,
        chapter=east,
        start=date(2020, 1, 1),
        status="active",
    )
    other = Organisation.objects.create(name="Not a member AS")
    Employment.objects.create(
        person=dag, organisation=acme, function_classification=director
    )
    Employment.objects.create(
        person=bo, organisation=other, function_classification=director
    )
    Employment.objects.create(
        person=cai,
        organisation=acme,
        function_classification=director,
        end=date(2024, 1, 1),
    )
    board = Committee.objects.create(name="Board", kind="board")
    CommitteeMembership.objects.create(
        committee=board, person=bo, position="chair", start=date(2025, 1, 1)
    )
    CommitteeMembership.objects.create(
        committee=board, person=ann, start=date(2020, 1, 1), end=date(2022, 1, 1)
    )
    press = Tag.objects.create(name="Press")
    dag.tags.add(press)
    ann.extra = {"craft": "Weaving", "shoe_size": 38}
    ann.save()
    bo.extra = {"craft": "Smithing", "shoe_size": 44}
    bo.save()
    return locals()


def names(criteria, user=None):
    user = user or SuperUserFactory()
    people = selection_persons(criteria=criteria, user=user, today=TODAY)
    return sorted(people.values_list("first_name", flat=True))


def test_new_members_in_the_last_six_months(world):
    criteria = {
        "criterion": "membership",
        "status": ["active"],
        "started_within_months": 6,
    }

    assert names(criteria) == ["Ann"]


def test_lapsed_last_year(world):
    criteria = {
        "criterion": "membership",
        "status": ["ended"],
        "ended_from": "2025-01-01",
        "ended_to": "2025-12-31",
    }

    assert names(criteria) == ["Cai"]


def test_type_and_chapter_include_the_chapters_below(world):
    ordinary_in_east = {
        "criterion": "membership",
        "type": [world["ordinary"].pk],
        "chapter": [world["east"].pk],
    }

    assert names(ordinary_in_east) == ["Ann", "Cai"]
    assert names({"criterion": "chapter", "chapter": [world["west"].pk]}) == ["Bo"]


def test_postcode_and_birth_date_ranges(world):
    oslo_postcodes = {"criterion": "postcode", "from": "0001", "to": "1299"}
    born_before_1990 = {"criterion": "birth_date", "to": "1989-12-31"}

    assert names(oslo_postcodes) == ["Ann", "Cai"]
    assert names(born_before_1990) == ["Ann", "Cai"]
    assert names({"criterion": "birth_date", "min_age": 26, "max_age": 60}) == ["Ann"]


def test_directors_of_member_companies(world):
    criteria = {
        "criterion": "function",
        "classification": [world["director"].pk],
        "at_member_organisation": True,
    }

    # Bo directs a company that is not a member; Cai's job there has ended.
    assert names(criteria) == ["Dag"]


def test_committee_tags_and_extra_fields(world):
    board = {"criterion": "committee", "committee": [world["board"].pk]}
    assert names(board) == ["Bo"]
    assert names(board | {"current": False}) == ["Ann", "Bo"]
    assert names({"criterion": "tag", "tag": [world["press"].pk]}) == ["Dag"]
    assert names({"criterion": "extra", "key": "craft", "equals": "Weaving"}) == ["Ann"]
    assert names({"criterion": "extra", "key": "shoe_size", "from": 40}) == ["Bo"]


def test_and_or_not_combine(world):
    active = {"criterion": "membership", "status": ["active"]}
    in_oslo_postcodes = {"criterion": "postcode", "from": "0001", "to": "1299"}

    assert names({"op": "and", "terms": [active, in_oslo_postcodes]}) == ["Ann"]
    assert names({"op": "or", "terms": [active, in_oslo_postcodes]}) == [
        "Ann",
        "Bo",
        "Cai",
    ]
    assert names({"op": "not", "terms": [active]}) == ["Cai", "Dag"]


def test_a_chapter_admin_sees_only_their_chapters_in_a_selection(world):
    chapter_admin = StaffUserFactory()
    ChapterAdministrator.objects.create(user=chapter_admin, chapter=world["east"])

    everyone_active = {"criterion": "membership", "status": ["active", "ended"]}

    assert names(everyone_active, user=chapter_admin) == ["Ann", "Cai"]


def test_archived_and_merged_persons_are_left_out(world):
    world["ann"].archived_at = world["ann"].created_at
    world["ann"].save()

    assert names({"criterion": "membership", "status": ["active"]}) == ["Bo"]


@pytest.mark.parametrize(
    "criteria, message",
    [
        ({"criterion": "favourite_colour"}, "Unknown criterion"),
        ({"op": "xor", "terms": [{"criterion": "tag"}]}, "and, or or not"),
        ({"op": "and", "terms": []}, "at least one term"),
        ({"criterion": "membership", "started_from": "last week"}, "must be a date"),
        ({"criterion": "postcode"}, "first or last postcode"),
        ({"criterion": "extra", "key": "drop table"}, "Choose an extra field"),
    ],
)
def test_bad_criteria_are_refused_with_a_clear_message(criteria, message):
    with pytest.raises(ValidationError, match=message):
        compile_criteria(criteria, TODAY)


def test_counting_a_selection_is_one_query_whatever_the_size(
    world, django_assert_num_queries
):
    user = SuperUserFactory()
    criteria = {
        "op": "and",
        "terms": [
            {"criterion": "membership", "status": ["active"]},
            {"op": "not", "terms": [{"criterion": "tag", "tag": [world["press"].pk]}]},
        ],
    }
    # One query for the distinct grace periods is not needed here; counting is one.
    people = selection_persons(criteria=criteria, user=user, today=TODAY)
    with django_assert_num_queries(1):
        assert people.count() == 2
