"""A chapter admin sees persons, organisations and memberships of their chapter and the
chapters below it, and nothing else; everyone else on the staff sees the whole register."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import (
    ChapterAdministrator,
    Membership,
    Organisation,
    Person,
)
from members.selectors import (
    chapter_scope,
    memberships_visible_to,
    organisations_visible_to,
    persons_visible_to,
)
from tests.factories import StaffUserFactory, SuperUserFactory
from tests.members.factories import (
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    make_chapter_tree,
)

pytestmark = pytest.mark.django_db

CHAPTERS = ("national", "east", "oslo", "west", "bergen")


@pytest.fixture
def tree():
    return make_chapter_tree()


@pytest.fixture
def register(tree):
    """In every chapter: a member, a person only at home there, an organisation
    member, an organisation only at home there; and records with no chapter at all."""
    records = SimpleNamespace(
        members={}, home_persons={}, org_members={}, home_orgs={}, memberships={}
    )
    for code in CHAPTERS:
        chapter = getattr(tree, code)
        membership = MembershipFactory(
            person=PersonFactory(first_name=f"Member-{code}"), chapter=chapter
        )
        records.members[code] = membership.person
        records.memberships[code] = membership
        records.home_persons[code] = PersonFactory(
            first_name=f"Home-{code}", chapter=chapter
        )
        organisation = OrganisationFactory(name=f"Member org {code}")
        records.memberships[f"org-{code}"] = MembershipFactory(
            person=None, organisation=organisation, chapter=chapter
        )
        records.org_members[code] = organisation
        records.home_orgs[code] = OrganisationFactory(
            name=f"Home org {code}", chapter=chapter
        )
    records.homeless_person = PersonFactory(first_name="Nowhere")
    records.homeless_org = OrganisationFactory(name="Nowhere AS")
    return records


def chapter_admin(*chapters):
    user = StaffUserFactory()
    for chapter in chapters:
        ChapterAdministrator.objects.create(user=user, chapter=chapter)
    return get_user_model().objects.get(pk=user.pk)  # a fresh object, as per request


def pick(mapping, *codes):
    return {mapping[code] for code in codes}


def test_a_chapter_admin_sees_their_chapter_and_those_below(tree, register):
    admin = chapter_admin(tree.east)

    assert set(persons_visible_to(admin)) == pick(
        register.members, "east", "oslo"
    ) | pick(register.home_persons, "east", "oslo")
    assert set(organisations_visible_to(admin)) == pick(
        register.org_members, "east", "oslo"
    ) | pick(register.home_orgs, "east", "oslo")
    assert set(memberships_visible_to(admin)) == pick(
        register.memberships, "east", "oslo", "org-east", "org-oslo"
    )


def test_a_chapter_admin_sees_nothing_of_other_chapters(tree, register):
    admin = chapter_admin(tree.east)
    persons = persons_visible_to(admin)
    organisations = organisations_visible_to(admin)
    memberships = memberships_visible_to(admin)

    for code in ("national", "west", "bergen"):
        assert not persons.filter(pk=register.members[code].pk).exists()
        assert not persons.filter(pk=register.home_persons[code].pk).exists()
        assert not organisations.filter(pk=register.org_members[code].pk).exists()
        assert not organisations.filter(pk=register.home_orgs[code].pk).exists()
        assert not memberships.filter(pk=register.memberships[code].pk).exists()
    assert not persons.filter(pk=register.homeless_person.pk).exists()
    assert not organisations.filter(pk=register.homeless_org.pk).exists()


def test_a_local_admin_does_not_see_the_region_above(tree, register):
    admin = chapter_admin(tree.oslo)

    assert set(persons_visible_to(admin)) == {
        register.members["oslo"],
        register.home_persons["oslo"],
    }
    assert set(memberships_visible_to(admin)) == pick(
        register.memberships, "oslo", "org-oslo"
    )


def test_an_admin_of_two_chapters_sees_both(tree, register):
    admin = chapter_admin(tree.oslo, tree.bergen)

    assert set(persons_visible_to(admin)) == pick(
        register.members, "oslo", "bergen"
    ) | pick(register.home_persons, "oslo", "bergen")
    assert set(organisations_visible_to(admin)) == pick(
        register.org_members, "oslo", "bergen"
    ) | pick(register.home_orgs, "oslo", "bergen")


def test_a_person_at_home_elsewhere_with_a_membership_here_is_visible(tree):
    person = PersonFactory(chapter=tree.bergen)
    membership = MembershipFactory(person=person, chapter=tree.oslo)

    east_admin = chapter_admin(tree.east)
    west_admin = chapter_admin(tree.west)

    assert list(persons_visible_to(east_admin)) == [person]
    assert list(memberships_visible_to(east_admin)) == [membership]
    assert list(persons_visible_to(west_admin)) == [person]  # their home chapter
    assert list(memberships_visible_to(west_admin)) == []


def test_a_person_with_several_memberships_in_scope_is_listed_once(tree):
    person = PersonFactory(chapter=tree.oslo)
    MembershipFactory(person=person, chapter=tree.oslo)
    MembershipFactory(person=person, chapter=tree.east)

    admin = chapter_admin(tree.east)

    assert list(persons_visible_to(admin)) == [person]
    assert persons_visible_to(admin).count() == 1


@pytest.mark.parametrize("make_user", [SuperUserFactory, StaffUserFactory])
def test_a_superuser_and_unassigned_staff_see_everything(tree, register, make_user):
    user = make_user()

    assert chapter_scope(user) is None
    assert set(persons_visible_to(user)) == set(Person.objects.all())
    assert set(organisations_visible_to(user)) == set(Organisation.objects.all())
    assert set(memberships_visible_to(user)) == set(Membership.objects.all())
    assert register.homeless_person in persons_visible_to(user)
    assert register.homeless_org in organisations_visible_to(user)
    assert persons_visible_to(user).count() == 11


def test_a_superuser_with_a_chapter_still_sees_everything(tree, register):
    user = SuperUserFactory()
    ChapterAdministrator.objects.create(user=user, chapter=tree.oslo)

    assert persons_visible_to(user).count() == 11


def test_the_scope_is_the_subtree(tree):
    admin = chapter_admin(tree.east)

    assert set(chapter_scope(admin)) == {tree.east, tree.oslo}
    assert set(chapter_scope(chapter_admin(tree.national))) == {
        tree.national,
        tree.east,
        tree.oslo,
        tree.west,
        tree.bergen,
    }


# --- Query counts do not grow with the data -------------------------------------------


def populate(tree, count):
    for n in range(count):
        chapter = (tree.oslo, tree.bergen, tree.east)[n % 3]
        person = PersonFactory(chapter=chapter if n % 2 else None)
        MembershipFactory(person=person, chapter=chapter)
        MembershipFactory(
            person=None,
            organisation=OrganisationFactory(chapter=chapter if n % 2 else None),
            chapter=chapter,
        )


SELECTORS = [persons_visible_to, organisations_visible_to, memberships_visible_to]


def queries_for(selector, user):
    with CaptureQueriesContext(connection) as captured:
        rows = list(selector(user))
    return len(captured), len(rows)


@pytest.mark.parametrize("selector", SELECTORS)
@pytest.mark.parametrize("who", ["chapter_admin", "superuser"])
def test_selector_query_count_does_not_grow_with_the_data(
    tree, selector, who, django_assert_num_queries
):
    def user():
        if who == "superuser":
            return get_user_model().objects.get(pk=superuser.pk)
        return chapter_admin(tree.east)

    superuser = SuperUserFactory()
    populate(tree, 3)
    small, small_rows = queries_for(selector, user())
    assert small <= 2

    populate(tree, 27)
    admin = user()
    with django_assert_num_queries(small):
        rows = list(selector(admin))

    assert len(rows) > small_rows


# --- In scope through a membership, through the home chapter, or not at all -----------


def test_in_scope_through_a_membership_or_the_home_chapter_only(tree):
    through_membership = PersonFactory(first_name="Member", chapter=tree.bergen)
    MembershipFactory(person=through_membership, chapter=tree.oslo)
    through_chapter = PersonFactory(first_name="Home", chapter=tree.oslo)
    MembershipFactory(person=through_chapter, chapter=tree.bergen)
    outside = PersonFactory(first_name="Outside", chapter=tree.west)
    MembershipFactory(person=outside, chapter=tree.bergen)
    org_through_membership = OrganisationFactory(name="Member AS", chapter=tree.west)
    MembershipFactory(
        person=None, organisation=org_through_membership, chapter=tree.oslo
    )
    org_through_chapter = OrganisationFactory(name="Home AS", chapter=tree.east)
    org_outside = OrganisationFactory(name="Outside AS", chapter=tree.bergen)
    MembershipFactory(person=None, organisation=org_outside, chapter=tree.west)

    admin = chapter_admin(tree.east)

    persons = persons_visible_to(admin).order_by("first_name")
    assert [person.first_name for person in persons] == ["Home", "Member"]
    assert persons.count() == 2
    assert not persons_visible_to(admin).filter(pk=outside.pk).exists()
    organisations = organisations_visible_to(admin).order_by("name")
    assert list(organisations) == [org_through_chapter, org_through_membership]
    assert organisations.count() == 2
