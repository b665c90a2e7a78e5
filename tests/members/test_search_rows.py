"""The search rows (``members_personsearch``, PostgreSQL): kept by the database's
triggers whatever writes the persons, matching exactly as the admin's search does,
and answering the persons list's plain searches (members.search.search_rows_page)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members import search
from members.admin_views import person_search_q
from members.demo import seed_register
from members.models import Chapter, Person
from members.search import SEARCH_ROWS, search_rows_page
from tests.members.admin_helpers import chapter_admin_of, staff_in
from tests.members.factories import PersonFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the search rows are PostgreSQL's"
    ),
]


def search_row(person_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_name, first_name, archived, member_number, words, phones, "
            "chapter_id, membership_chapters FROM members_personsearch "
            "WHERE person_id = %s",
            [person_id],
        )
        return cursor.fetchone()


def search_row_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {SEARCH_ROWS}")  # noqa: S608
        return cursor.fetchone()[0]


# --- Kept by the database ---------------------------------------------------------


def test_a_new_person_has_a_search_row_and_changes_follow():
    person = PersonFactory(
        first_name="Åse",
        last_name="Kvalheim",
        email="ase@fjordpost.example",
        email_secondary="",
        phone="+47 22 33 44 55",
        phone_mobile="",
        member_number=4711,
    )
    assert search_row(person.pk)[:6] == (
        "Kvalheim",
        "Åse",
        False,
        4711,
        "ÅSE KVALHEIM ASE@FJORDPOST.EXAMPLE ",
        "+47 22 33 44 55 ",
    )

    person.last_name = "Kvalheim-Berg"
    person.archived_at = timezone.now()
    person.save()
    row = search_row(person.pk)
    assert row[0] == "Kvalheim-Berg"
    assert row[2] is True
    assert "KVALHEIM-BERG" in row[4]


def test_bulk_writes_and_deletes_are_followed():
    Person.objects.bulk_create(
        Person(first_name=f"P{n}", last_name="Bulk", email=f"p{n}@example.org")
        for n in range(5)
    )
    assert search_row_count() == 5
    Person.objects.filter(last_name="Bulk").update(last_name="Bulked")
    assert {search_row(p.pk)[0] for p in Person.objects.all()} == {"Bulked"}
    Person.objects.filter(first_name="P0").delete()
    assert search_row_count() == 4


def test_emptying_the_register_empties_the_search_rows():
    PersonFactory()
    with connection.cursor() as cursor:
        # As Django's flush between transactional tests does, in a transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE members_person CASCADE")
    assert search_row_count() == 0


def test_memberships_give_the_chapters_a_chapter_admins_scope_is_decided_by():
    from tests.members.factories import ChapterFactory, MembershipFactory

    home = ChapterFactory(name="Home", code="home")
    other = ChapterFactory(name="Other", code="other")
    person = PersonFactory(chapter=home)
    membership = MembershipFactory(person=person, chapter=other)
    assert search_row(person.pk)[6:] == (home.pk, [other.pk])

    membership.chapter = home
    membership.save()
    assert search_row(person.pk)[6:] == (home.pk, [home.pk])
    membership.delete()
    assert search_row(person.pk)[6:] == (home.pk, [])
    person.chapter = other
    person.save()
    assert search_row(person.pk)[6] == other.pk


def test_a_big_load_fills_the_search_rows_once_at_the_end(monkeypatch):
    from members import demo

    monkeypatch.setattr(demo, "REBUILD_INDEXES_FROM", 10)
    seed_register(40)

    assert search_row_count() == Person.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {SEARCH_ROWS} s WHERE membership_chapters <> "  # noqa: S608
            "ARRAY(SELECT DISTINCT chapter_id FROM members_membership m "
            "WHERE m.person_id = s.person_id ORDER BY 1)::bigint[]"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE %s AND tgenabled = 'O'",
            ["members_%_search_sync"],
        )
        assert cursor.fetchone()[0] == 2  # switched on again
    new = PersonFactory(last_name="Etterpå")
    assert search_row(new.pk)[0] == "Etterpå"


# --- Matching as the admin does -----------------------------------------------------

TERMS = [
    "kvalh",
    "ola",
    "OLSEN",
    "ødegå",
    "kari olsen",
    "4711",
    "12",
    "22 33",
    "example",
    "@gmail",
    "100%",
    "a_b",
    "x\\y",
    "ingrid kval",
    "e",
]


@pytest.fixture
def register():
    seed_register(250)
    PersonFactory(first_name="Ingrid", last_name="Kvalheim", member_number=4711)
    PersonFactory(first_name="Ola", last_name="Ødegård", email="ola@gmail.example")
    PersonFactory(first_name="Kari", last_name="Olsen", phone="+47 22 33 12 12")
    PersonFactory(first_name="Hundre", last_name="100% Sikker", email="a_b@x.example")
    PersonFactory(first_name="Skrå", last_name="Strek", email="x\\y@x.example")
    archived = PersonFactory(first_name="Ola", last_name="Arkivert")
    archived.archived_at = timezone.now()
    archived.save()


@pytest.mark.parametrize("query", TERMS)
def test_the_search_rows_find_what_the_admins_search_finds_in_its_order(
    register, query
):
    expected = Person.objects.filter(archived_at__isnull=True)
    for term in query.split():
        expected = expected.filter(person_search_q(term))
    expected = list(
        expected.order_by("last_name", "first_name", "pk").values_list("pk", flat=True)
    )

    ids, total = search_rows_page(query, 0, 50)
    assert total == len(expected)
    assert ids == expected[:50]
    if total > 50:
        assert search_rows_page(query, 50, 50)[0] == expected[50:100]


def test_past_the_last_match_there_is_nothing_and_still_a_count(register):
    total = search_rows_page("kvalh", 0, 50)[1]
    assert total >= 1
    assert search_rows_page("kvalh", 1000, 50) == ([], total)
    assert search_rows_page("zzzqx", 0, 50) == ([], 0)


# --- The persons list answers from them when it may ------------------------------------


@pytest.fixture
def officer_client(verified_client):
    return verified_client(staff_in("Membership officers", email="o@example.org"))


def _listed(client, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("register_persons:index_results"), params)
    assert response.status_code == 200
    used_rows = any(
        SEARCH_ROWS in q["sql"] and "OVER ()" in q["sql"]
        for q in queries.captured_queries
    )
    return [p.pk for p in response.context["object_list"]], used_rows, response


def test_a_plain_search_is_answered_from_the_search_rows(officer_client, register):
    expected = list(
        Person.objects.filter(archived_at__isnull=True)
        .filter(person_search_q("ola"))
        .order_by("last_name", "first_name", "pk")
        .values_list("pk", flat=True)
    )

    listed, used_rows, response = _listed(officer_client, {"q": "ola"})

    assert used_rows
    assert listed == expected[:50]
    assert response.context["paginator"].count == len(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "ola", "archived": "all"},
        {"q": "ola", "ordering": "-last_name"},
        {"q": "ola", "ordering": "email"},
    ],
)
def test_other_lists_are_answered_from_the_persons(officer_client, register, params):
    listed, used_rows, _response = _listed(officer_client, params)
    assert not used_rows
    assert listed  # and still found


def test_a_filtered_search_is_answered_from_the_persons(officer_client, register):
    chapter = Chapter.objects.filter(depth__gt=1).first()
    listed, used_rows, _response = _listed(
        officer_client, {"q": "a", "chapter": chapter.pk}
    )
    assert not used_rows


@pytest.mark.parametrize("query", ["a", "sen", "12", "e n"])
def test_a_chapter_admins_search_is_answered_within_their_scope(
    verified_client, register, query, monkeypatch
):
    from members.models import Membership
    from members.selectors import persons_visible_to

    # Whatever share of this small register matches: the scope is what is tested.
    monkeypatch.setattr(search, "SEARCH_ROWS_UP_TO", 1.0)
    local = Membership.objects.filter(person__isnull=False, chapter__depth=3).first()
    region = local.chapter.get_parent()
    admin = chapter_admin_of(region, email="ca@example.org")
    expected = persons_visible_to(admin).filter(archived_at__isnull=True)
    for term in query.split():
        expected = expected.filter(person_search_q(term))
    expected = list(
        expected.order_by("last_name", "first_name", "pk").values_list("pk", flat=True)
    )
    everyone = Person.objects.filter(archived_at__isnull=True)
    for term in query.split():
        everyone = everyone.filter(person_search_q(term))
    assert 0 < len(expected) < everyone.count()  # the scope leaves some out

    listed, used_rows, response = _listed(verified_client(admin), {"q": query})

    assert used_rows
    assert listed == expected[:50]
    assert response.context["paginator"].count == len(expected)


def test_a_common_word_walks_the_name_index_instead(
    officer_client, register, monkeypatch
):
    monkeypatch.setattr(search, "SEARCH_ROWS_UP_TO", 0.0)
    monkeypatch.setattr(search, "WALK_NAME_INDEX_ABOVE", 0.0)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {SEARCH_ROWS}")  # noqa: S608 - a constant
        cursor.execute("ANALYZE members_person")
    listed, used_rows, _response = _listed(officer_client, {"q": "e"})
    assert not used_rows
    assert len(listed) == 50
