"""``seed_demo --members N``: a believable register, quickly, and never twice."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from stdnum.no import orgnr

from members.demo import (
    DEMO_KEY,
    REGIONS,
    RegisterGenerator,
    ensure_chapters,
    ensure_function_classifications,
    ensure_membership_types,
    norwegian_orgnr,
    seed_register,
    seeded_organisations,
    seeded_persons,
)
from members.models import (
    Chapter,
    Employment,
    Membership,
    MembershipStatusChange,
    MembershipType,
    Organisation,
    Person,
)

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def register_counts() -> dict:
    return {
        "persons": Person.objects.count(),
        "organisations": Organisation.objects.count(),
        "memberships": Membership.objects.count(),
        "employments": Employment.objects.count(),
        "status changes": MembershipStatusChange.objects.count(),
        "chapters": Chapter.objects.count(),
        "types": MembershipType.objects.count(),
        "person history": Person.history.count(),
        "membership history": Membership.history.count(),
    }


def test_members_option_fills_the_register():
    output = seed("--members", "200")

    assert "200 seeded persons" in output
    assert "Demo content is ready." in output  # the site is seeded as before
    persons = seeded_persons()
    assert persons.count() == Person.objects.count() == 200
    # Everyone holds at least one membership; some an earlier, ended one too.
    assert not persons.filter(memberships__isnull=True).exists()
    per_person = Membership.objects.filter(person__isnull=False).count()
    assert 200 <= per_person <= 240
    numbers = list(
        persons.exclude(member_number=None).values_list("member_number", flat=True)
    )
    assert len(numbers) == len(set(numbers)) > 150
    assert seeded_organisations().count() == 2
    statuses = set(Membership.objects.values_list("status", flat=True))
    assert {"active", "ended"} <= statuses


def test_the_register_looks_real():
    seed_register(300)
    today = timezone.localdate()

    national = Chapter.objects.get(depth=1, code="no")
    assert national.get_children().count() == len(REGIONS) >= 10
    assert Chapter.objects.filter(level=Chapter.Level.LOCAL).count() == 5 * len(REGIONS)
    assert {t.kind for t in MembershipType.objects.all()} >= {
        "individual",
        "organisation",
        "employee",
        "branch",
    }
    assert all(isinstance(t.fee, Decimal) for t in MembershipType.objects.all())
    assert MembershipType.objects.get(name="Lifetime").period == "lifetime"

    for person in seeded_persons():
        assert person.first_name and person.last_name
        assert person.email.endswith(".example"), "never a real address"
        assert len(person.postal_postcode) == 4 and person.postal_postcode.isdigit()
        assert person.chapter.level == Chapter.Level.LOCAL
        assert date(1930, 1, 1) < person.birth_date < today
        assert person.extra[DEMO_KEY]

    for membership in Membership.objects.select_related("type"):
        assert membership.end is None or membership.end >= membership.start
        if membership.status == "active":
            assert membership.start <= today
            assert membership.end is None or membership.end >= today
        if membership.status == "ended":
            assert membership.end_reason and membership.end < today
    ended_years = {
        m.end.year for m in Membership.objects.filter(status="ended", end__isnull=False)
    }
    assert len(ended_years) > 3, "memberships ended over the years"
    # Every membership has its path of status changes, the last one its status.
    changes = Membership.objects.annotate(n=Count("status_changes"))
    assert not changes.filter(n=0).exists()
    for membership in Membership.objects.all()[:50]:
        last = membership.status_changes.order_by("changed_at", "pk").last()
        assert last.to_status == membership.status

    for organisation in seeded_organisations():
        assert orgnr.is_valid(organisation.organisation_number)
    assert Employment.objects.filter(person__in=seeded_persons()).exists() or (
        seeded_organisations().count() < 5
    )


def test_running_again_does_not_duplicate():
    seed("--members", "200")
    before = register_counts()

    output = seed("--members", "200")

    assert register_counts() == before
    assert "+0 persons" in output


def test_a_bigger_number_tops_up_with_new_member_numbers():
    seed_register(60)
    first_numbers = set(
        seeded_persons()
        .exclude(member_number=None)
        .values_list("member_number", flat=True)
    )

    report = seed_register(150)

    assert report.persons_created == 90
    assert seeded_persons().count() == 150
    numbers = list(
        Person.objects.exclude(member_number=None).values_list(
            "member_number", flat=True
        )
    )
    assert len(numbers) == len(set(numbers))
    assert first_numbers < set(numbers)


def test_numbers_follow_those_already_given():
    person = Person.objects.create(
        first_name="Ada", last_name="Aas", member_number=9000
    )

    seed_register(20)

    lowest = (
        seeded_persons().exclude(member_number=None).order_by("member_number").first()
    )
    assert 9001 <= lowest.member_number <= 9005
    person.refresh_from_db()
    assert person.member_number == 9000


def test_seeded_records_have_a_created_history_row():
    seed_register(40)

    for person in seeded_persons():
        rows = list(person.history.all())
        assert [row.history_type for row in rows] == ["+"]
        assert rows[0].last_name == person.last_name
        assert rows[0].postal_street == person.postal_street
    assert Membership.history.count() == Membership.objects.count()


def test_history_can_be_left_out():
    seed_register(30, history=False)

    assert seeded_persons().count() == 30
    assert Person.history.count() == 0


def test_without_the_option_the_register_is_left_alone():
    seed()

    assert Person.objects.count() == 0
    assert Membership.objects.count() == 0


def test_the_same_seed_makes_the_same_people():
    def people(seed):
        generator = RegisterGenerator(
            seed=seed,
            today=date(2026, 6, 1),
            locals_=ensure_chapters(),
            types=ensure_membership_types(),
            classifications=ensure_function_classifications(),
        )
        return [
            (p.first_name, p.last_name, p.email, p.birth_date)
            for p in generator.persons(0, 30, 1)
        ]

    assert people(7) == people(7)
    assert people(7) != people(8)


def test_organisation_numbers_are_valid_and_distinct():
    numbers = [norwegian_orgnr(index) for index in range(2000)]

    assert len(set(numbers)) == len(numbers)
    assert all(orgnr.is_valid(number) for number in numbers)


def test_a_negative_number_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        seed("--members", "-1")
