"""Finding persons by part of a word: the trigram indexes and ``persons_matching``.

The admin's own search is tested in test_admin.py; here: that the search indexes exist
and serve the query the admin runs (PostgreSQL), that ``persons_matching`` finds the
same persons in the same order, and that the record page's query count does not grow
with the register.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members import admin_views, search
from members.admin_views import person_search_q
from members.demo import seed_register, seeded_persons
from members.models import Person
from members.search import (
    persons_matching,
    search_plan_indexes,
    sort_matches_not_index,
)
from tests.members.admin_helpers import staff_in
from tests.members.factories import PersonFactory

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's"
)

PERSON_TRIGRAM_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "email_secondary",
    "phone",
    "phone_mobile",
)


@pytest.fixture
def people():
    return {
        "ingrid": PersonFactory(
            first_name="Ingrid",
            last_name="Kvalheim",
            email="ingrid.k@fjordpost.example",
            member_number=4711,
        ),
        "ola": PersonFactory(
            first_name="Ola",
            last_name="Karlsson",
            email="ola@example.org",
            member_number=47110,
        ),
        "kari": PersonFactory(
            first_name="Kari",
            last_name="Olsen",
            email="kari.olsen@gmail.example",
            member_number=12,
        ),
    }


def found(query, queryset=None) -> set[str]:
    queryset = Person.objects.all() if queryset is None else queryset
    return {p.first_name for p in persons_matching(queryset, query)}


def as_the_admin(queryset, query):
    for term in query.split():
        queryset = queryset.filter(person_search_q(term))
    return queryset


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ngri", {"Ingrid"}),  # part of a first name
        ("KVALH", {"Ingrid"}),  # part of a last name, any case
        ("ols", {"Kari"}),  # Olsen, and her e-mail address; not Karlsson
        ("arlss", {"Ola"}),
        ("fjordpost", {"Ingrid"}),  # part of an e-mail address
        ("olsen@gm", {"Kari"}),
        ("4711", {"Ingrid"}),  # a member number matches exactly
        ("471", set()),
        ("kari ols", {"Kari"}),  # every word must match
        ("", {"Ingrid", "Ola", "Kari"}),
        ("100%", set()),  # LIKE wildcards are matched literally
        ("k_", set()),
    ],
)
def test_persons_matching_finds_part_of_a_word(people, query, expected):
    assert found(query) == expected


def test_persons_matching_finds_what_the_admin_finds_in_the_same_order():
    seed_register(300)
    base = Person.objects.select_related("chapter").order_by(
        "last_name", "first_name", "pk"
    )
    for query in ("han", "olsen", "kari", "ingrid kval", "gmail", "1", "sen"):
        expected = list(as_the_admin(base, query).values_list("pk", flat=True))
        got = list(persons_matching(base, query).values_list("pk", flat=True))
        assert got == expected, query
    descending = base.order_by("-last_name", "-first_name", "-pk")
    assert list(persons_matching(descending, "an").values_list("pk", flat=True)) == (
        list(as_the_admin(descending, "an").values_list("pk", flat=True))
    )


def test_sorting_matches_keeps_the_order_but_not_the_index():
    seed_register(120)
    base = Person.objects.order_by("last_name", "first_name", "pk")

    resorted = sort_matches_not_index(base)

    assert list(resorted.values_list("pk", flat=True)) == list(
        base.values_list("pk", flat=True)
    )
    assert "|| ''" in str(resorted.query)
    # Orderings it cannot rewrite are left as they are.
    by_number = Person.objects.order_by("member_number")
    assert sort_matches_not_index(by_number).query.order_by == ("member_number",)


@on_postgresql
def test_the_search_indexes_exist():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
            [Person._meta.db_table],
        )
        definitions = dict(cursor.fetchall())
    for column in PERSON_TRIGRAM_COLUMNS:
        definition = definitions[f"members_person_{column}_trgm"]
        assert "gin" in definition
        assert f"upper(({column})::text) gin_trgm_ops" in definition


@on_postgresql
@pytest.mark.parametrize("query", ["kvalh", "olsen@gm", "4711", "kari ols"])
def test_the_admin_search_can_use_the_trigram_indexes(people, query):
    seed_register(200)
    search = as_the_admin(Person.objects.filter(archived_at__isnull=True), query)
    with connection.cursor() as cursor:
        # A small table is read whole (or along any index) anyway; forbid that to
        # see what the planner does with a big one: it can only search the indexes
        # if every OR-ed column has one that fits the query's expression.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        used = search_plan_indexes(search)
    trigram = {name for name in used if name.endswith("_trgm")}
    assert {
        "members_person_first_name_trgm",
        "members_person_last_name_trgm",
        "members_person_email_trgm",
    } <= trigram, used
    if query.isdigit():
        assert "members_person_member_number_key" in used or any(
            "member_number" in name for name in used
        )


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite only")
def test_the_index_migration_does_nothing_on_sqlite():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE %s",
            ["%_trgm"],
        )
        assert cursor.fetchall() == []


def test_record_page_query_count_does_not_grow_with_the_register(verified_client):
    client = verified_client(staff_in("Membership officers", email="o@example.org"))
    seed_register(5)
    person = seeded_persons().order_by("pk").first()
    url = reverse("register_persons:edit", args=[person.pk])

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    client.get(url)  # caches warmed alike for both counts
    small = count_queries()
    seed_register(50)
    assert seeded_persons().count() == 50

    assert count_queries() == small


def _statistics_targets() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attstattarget FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname LIKE 'members_person_%%_trgm' AND a.attnum = 1"
        )
        return dict(cursor.fetchall())


@on_postgresql
def test_the_most_searched_expressions_have_finer_statistics():
    targets = _statistics_targets()
    for column in ("first_name", "last_name", "email"):
        assert targets[f"members_person_{column}_trgm"] == 1000
    assert targets["members_person_phone_trgm"] in (-1, None)


@on_postgresql
def test_a_big_seed_rebuilds_the_indexes_with_their_statistics(monkeypatch):
    from members import demo

    monkeypatch.setattr(demo, "REBUILD_INDEXES_FROM", 10)
    seed_register(30)

    assert _statistics_targets()["members_person_last_name_trgm"] == 1000


# --- The admin's persons list searches through persons_matching ----------------------


@pytest.fixture
def officer_client(verified_client):
    return verified_client(staff_in("Membership officers", email="o@example.org"))


def listed(client, query) -> list[int]:
    response = client.get(reverse("register_persons:index"), {"q": query})
    assert response.status_code == 200
    return [person.pk for person in response.context["object_list"]]


@pytest.mark.parametrize("query", ["an sen", "kari ols", "4711", "ingrid kval", "e"])
def test_the_admin_list_finds_what_persons_matching_finds_in_its_order(
    officer_client, people, query
):
    seed_register(120)
    base = Person.objects.filter(archived_at__isnull=True).order_by(
        "last_name", "first_name", "pk"
    )
    expected = list(persons_matching(base, query).values_list("pk", flat=True)[:50])
    assert expected == list(as_the_admin(base, query).values_list("pk", flat=True))[:50]

    assert listed(officer_client, query) == expected
    if query == "4711":
        assert expected == [people["ingrid"].pk]


@on_postgresql
def test_the_admin_list_sorts_rare_matches_rather_than_walking_the_name_index(
    officer_client, people, monkeypatch
):
    # As for a list the search rows do not answer (tests/members/test_search_rows.py).
    monkeypatch.setattr(admin_views, "search_rows_fit", lambda query: False)
    with CaptureQueriesContext(connection) as queries:
        assert listed(officer_client, "kvalheim") == [people["ingrid"].pk]

    sql = [query["sql"] for query in queries.captured_queries]
    # persons_matching asked PostgreSQL for its estimate of the matches, then (a
    # never-analysed test table gives none) sorted the matches by (last_name || '').
    assert any(statement.startswith("EXPLAIN") for statement in sql)
    assert any(
        "kvalheim" in s.lower() and "|| ''" in s for s in sql if "ORDER BY" in s
    ), sql


def _hansens(count: int) -> None:
    Person.objects.bulk_create(
        Person(first_name=f"Per{n:04}", last_name="Hansen", email=f"p{n}@example.org")
        for n in range(count)
    )
    PersonFactory(first_name="Nils", last_name="Nilsen")


def test_a_search_with_more_than_a_thousand_matches_says_so_and_pages_through_them(
    officer_client,
):
    _hansens(1005)
    if connection.vendor == "postgresql":
        # Nearly every person matches: PostgreSQL's estimate says so, and the list
        # walks the name index and counts up to the cap.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE members_person")
            cursor.execute("ANALYZE members_personsearch")

    response = officer_client.get(reverse("register_persons:index"), {"q": "hansen"})

    text = response.content.decode()
    assert "More than 1,000 matches" in text
    assert "add a word to narrow the search" in text
    assert "There are 1,000 matches" not in text
    assert "Page 1 of 20" in text
    assert len(response.context["object_list"]) == 50
    last = officer_client.get(
        reverse("register_persons:index"), {"q": "hansen", "p": 20}
    )
    assert [p.first_name for p in last.context["object_list"]][-1] == "Per0999"


def test_a_search_with_fewer_matches_counts_them_exactly(officer_client, people):
    response = officer_client.get(reverse("register_persons:index"), {"q": "ols"})

    text = response.content.decode()
    assert "There is 1 match" in text
    assert "More than" not in text


@on_postgresql
def test_a_search_whose_matches_are_sorted_counts_them_on_the_way_exactly(
    officer_client, monkeypatch
):
    """Matches PostgreSQL sorts (here: always, whatever autovacuum has analysed) give
    the page and the number of matches from one query over them."""
    monkeypatch.setattr(search, "WALK_NAME_INDEX_ABOVE", 2.0)
    monkeypatch.setattr(admin_views, "search_rows_fit", lambda query: False)
    _hansens(1005)
    url = reverse("register_persons:index_results")

    with CaptureQueriesContext(connection) as queries:
        response = officer_client.get(url, {"q": "hansen"})

    text = response.content.decode()
    assert "There are 1,005 matches" in text
    assert "More than" not in text
    assert "Page 1 of 21" in text
    listed_names = [p.first_name for p in response.context["object_list"]]
    assert listed_names == [f"Per{n:04}" for n in range(50)]
    over_matches = [
        q["sql"]
        for q in queries.captured_queries
        if "hansen" in q["sql"].lower() and not q["sql"].startswith("EXPLAIN")
    ]
    # One pass that sorts and counts, then the page's 50 rows by id; no separate
    # count.
    assert len(over_matches) == 2
    assert "OVER ()" in over_matches[0]
    assert "OVER ()" not in over_matches[1]
    assert "LIMIT" not in over_matches[1]

    last = officer_client.get(url, {"q": "hansen", "p": 21})
    assert [p.first_name for p in last.context["object_list"]] == [
        f"Per{n:04}" for n in range(1000, 1005)
    ]
    # Past the end: Wagtail shows the last page, as for any list.
    beyond = officer_client.get(url, {"q": "hansen", "p": 99})
    assert beyond.context["page_obj"].number == 21
    assert (
        officer_client.get(url, {"q": "hansen", "p": "x"}).context["page_obj"].number
        == 1
    )


@on_postgresql
def test_a_sorted_search_with_no_match_says_so(officer_client, people):
    response = officer_client.get(
        reverse("register_persons:index_results"), {"q": "zzzqx"}
    )
    assert response.status_code == 200
    assert list(response.context["object_list"]) == []
    assert "No persons match your query." in response.content.decode()
    assert response.context["paginator"].count == 0


@on_postgresql
def test_page_and_count_keeps_the_order_and_scope(people, monkeypatch):
    from members.search import page_and_count, sorts_every_match

    monkeypatch.setattr(search, "WALK_NAME_INDEX_ABOVE", 2.0)
    _hansens(7)
    base = Person.objects.filter(archived_at__isnull=True).order_by(
        "last_name", "first_name", "pk"
    )
    matches = persons_matching(base, "hansen")
    assert sorts_every_match(matches)
    rows, total = page_and_count(matches, 2, 3)
    assert total == 7
    assert [p.first_name for p in rows] == ["Per0002", "Per0003", "Per0004"]
    assert page_and_count(matches, 50, 3) == ([], 7)
    assert page_and_count(persons_matching(base, "zzzqx"), 0, 3) == ([], 0)
