"""Finding persons by part of a word, fast at national scale.

The back office's persons search (``members.admin_views.person_search_q``, run through
``persons_matching`` by the persons list and the person chooser) matches any part of
a first name, last name or e-mail address with ``icontains``, and a member number
exactly. PostgreSQL runs ``icontains`` as ``UPPER("column"::text) LIKE UPPER('%term%')``;
migration ``0007_search_indexes`` gives every searched column a trigram GIN index on
exactly that expression, so PostgreSQL finds the matches from the indexes instead of
reading the whole register. A search must keep to that form (``icontains`` on those
columns) for the indexes to serve it; ``search_plan_indexes`` shows which indexes
PostgreSQL picks for a query.

Finding the matches is half of it. The register lists persons by name, and there is a
B-tree index in that order, so for "the first 50 matches by name" PostgreSQL may walk
that index from A and test every person until it has 50 — quick when matches are
spread over the alphabet ("kari"), but when they cluster under one letter
("kvalheim": every match is under K) it reads most of the register (0.5 s and more at
500,000 persons). ``persons_matching`` avoids that walk unless PostgreSQL expects the
matches to be common: then it takes the matches from the trigram indexes and sorts
just those.

Sorting thousands of matches still reads a table page or so per match. The persons
list's plain searches read the search rows instead (``search_rows_page``): a narrow
copy of the searched fields, the sort key and what a chapter admin's scope is decided
by, kept by database triggers, where the same sort reads a twentieth of the pages.
See bench/README.md for the figures.
"""

from __future__ import annotations

import json

from django.db import connections
from django.db.models import Count, F, Func, OrderBy, QuerySet, TextField, Window

#: Above this share of the table, matches are common enough that walking the name
#: index finds a page of them quickly; below it, sorting the matches is cheaper.
WALK_NAME_INDEX_ABOVE = 0.08


def persons_matching(queryset: QuerySet, query: str) -> QuerySet:
    """Persons of ``queryset`` matching every word of ``query``, as the admin searches.

    Each word matches part of a first name, last name or e-mail address (any case),
    or, if it is a number, a member number exactly or part of a phone number. The
    queryset's order is kept; on PostgreSQL its first key may be rewritten to an
    equivalent expression so that rare matches are sorted rather than searched for
    along the name index (same rows, same order).
    """
    from .admin_views import person_search_q

    terms = query.split()
    if not terms:
        return queryset
    for term in terms:
        queryset = queryset.filter(person_search_q(term))
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset
    share = estimated_share(queryset)
    if share is not None and share > WALK_NAME_INDEX_ABOVE:
        return queryset
    return sort_matches_not_index(queryset)


class _SameOrderNoIndex(Func):
    """``(column || '')``: sorts exactly like a text column, but no index provides it,
    so PostgreSQL sorts the rows the WHERE clause found instead of walking an index."""

    template = "(%(expressions)s || '')"
    output_field = TextField()


def sort_matches_not_index(queryset: QuerySet) -> QuerySet:
    """The queryset with its first ordering key (a text field) wrapped so that no
    B-tree index serves the order; other orderings are returned unchanged."""
    query = queryset.query
    ordering = list(query.order_by)
    if not ordering and query.default_ordering:
        ordering = list(queryset.model._meta.ordering)
    if not ordering or not isinstance(ordering[0], str):
        return queryset
    name = ordering[0].lstrip("-")
    if "__" in name or name in ("?", "pk"):
        return queryset
    try:
        field = queryset.model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - an annotation or unknown name: leave as is
        return queryset
    if field.get_internal_type() not in ("CharField", "TextField", "EmailField"):
        return queryset
    key = _SameOrderNoIndex(F(name))
    ordering[0] = key.desc() if ordering[0].startswith("-") else key.asc()
    return queryset.order_by(*ordering)


def sorts_every_match(queryset: QuerySet) -> bool:
    """Whether ``sort_matches_not_index`` rewrote the queryset's order: PostgreSQL then
    reads every match to sort them, so counting them on the way costs nothing more."""
    ordering = queryset.query.order_by
    return bool(ordering) and (
        isinstance(ordering[0], OrderBy)
        and isinstance(ordering[0].expression, _SameOrderNoIndex)
    )


def page_and_count(queryset: QuerySet, offset: int, limit: int) -> tuple[list, int]:
    """The rows ``offset`` to ``offset + limit`` of ``queryset`` and how many rows it
    has, in one pass over the matches rather than a count and then a page.

    For a queryset whose matches are sorted (``sorts_every_match``): the first query
    sorts just the ids of the matches and counts them as it goes (a window count,
    narrow rows, so it stays in memory); the second fetches the page's rows by id.
    """
    found = list(
        queryset.annotate(_matches=Window(Count("pk"))).values_list("pk", "_matches")[
            offset : offset + limit
        ]
    )
    if not found:
        return [], (queryset.order_by().count() if offset else 0)
    return rows_in_order(queryset, [pk for pk, _total in found]), found[0][1]


def rows_in_order(queryset: QuerySet, ids: list) -> list:
    """The rows of ``queryset`` with these ids, in the ids' order (one query)."""
    if not ids:
        return []
    rows = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]


def estimated_share(queryset: QuerySet) -> float | None:
    """PostgreSQL's estimate of the share of the table's rows the queryset matches."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        total = cursor.fetchone()[0]
        if not total or total <= 0:
            return None  # never analysed: no estimate to go by
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = _plan(cursor.fetchone()[0])
    return plan["Plan"]["Plan Rows"] / total


def search_plan_indexes(queryset: QuerySet) -> set[str]:
    """The names of the indexes PostgreSQL's plan for ``queryset`` reads (empty set on
    other databases)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return set()
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = _plan(cursor.fetchone()[0])
    names: set[str] = set()

    def walk(node):
        if "Index Name" in node:
            names.add(node["Index Name"])
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan["Plan"])
    return names


def _plan(value) -> dict:
    if isinstance(value, str):
        value = json.loads(value)
    return value[0]


# --- The search rows (PostgreSQL): a narrow copy of what the search reads ------------

#: Kept by triggers on the persons and memberships tables (migration
#: 0017_person_search_rows).
SEARCH_ROWS = "members_personsearch"
#: Up to this share of the register, the search rows sort a search's matches (about
#: 1 µs a match: 50 ms for 10 % of 500,000); above it the first page is quicker found
#: along the persons' name index, and the count is capped.
SEARCH_ROWS_UP_TO = 0.10
_INT_MAX = 2**31 - 1


def in_name_order(queryset: QuerySet) -> bool:
    """Whether the queryset is in the register's name order: last name, first name,
    id (the first key perhaps rewritten by ``sort_matches_not_index``)."""
    ordering = list(queryset.query.order_by)
    if len(ordering) != 3 or ordering[1:] != ["first_name", "pk"]:
        return False
    first = ordering[0]
    if first == "last_name":
        return True
    if isinstance(first, OrderBy) and isinstance(first.expression, _SameOrderNoIndex):
        (source,) = first.expression.get_source_expressions()
        return not first.descending and getattr(source, "name", None) == "last_name"
    return False


def _search_rows_where(query: str, scope: list[int] | None = None) -> tuple[str, list]:
    """The WHERE clause over the search rows matching every word of ``query`` as
    ``person_search_q`` does, archived persons left out; with ``scope`` (chapter
    ids) only persons at home in one of them or holding a membership in one, as
    ``members.selectors.persons_visible_to``."""
    connection = connections["default"]
    conditions, params = [], []
    for term in query.split():
        like = f"%{connection.ops.prep_for_like_query(term)}%"
        condition = ["words LIKE UPPER(%s)"]
        params.append(like)
        if term.isdigit():
            condition.append("phones LIKE UPPER(%s)")
            params.append(like)
            if int(term) <= _INT_MAX:
                condition.append("member_number = %s")
                params.append(int(term))
        conditions.append("(" + " OR ".join(condition) + ")")
    if not conditions:
        raise ValueError("a search of the search rows needs a word")
    if scope is not None:
        conditions.append(
            "(chapter_id = ANY(%s::bigint[]) OR membership_chapters && %s::bigint[])"
        )
        params += [list(scope), list(scope)]
    return "NOT archived AND " + " AND ".join(conditions), params


def search_rows_share(query: str) -> float | None:
    """PostgreSQL's estimate of the share of the search rows matching ``query``."""
    where, params = _search_rows_where(query)
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [SEARCH_ROWS]
        )
        total = cursor.fetchone()[0]
        if not total or total <= 0:
            return None
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {SEARCH_ROWS} WHERE {where}",  # noqa: S608
            params,
        )
        plan = _plan(cursor.fetchone()[0])
    return plan["Plan"]["Plan Rows"] / total


def search_rows_fit(query: str) -> bool:
    """Whether the search rows are the quicker way to a page of ``query``'s matches
    in name order: PostgreSQL expects at most ``SEARCH_ROWS_UP_TO`` of them."""
    share = search_rows_share(query)
    return share is None or share <= SEARCH_ROWS_UP_TO


def search_rows_page(
    query: str, offset: int, limit: int, *, scope: list[int] | None = None
) -> tuple[list[int], int]:
    """The ids of the persons, not archived, at ``offset`` to ``offset + limit`` of
    all matching every word of ``query`` in name order, and how many match; with
    ``scope`` (a chapter admin's chapter ids) only those the admin may see.

    Matches exactly as ``person_search_q`` (part of a first or last name or e-mail
    address, any case; a number also part of a phone number or a member number
    exactly), from the narrow search rows instead of the persons: sorting 20,000
    matches there reads some 500 pages rather than 10,000. PostgreSQL only.
    """
    where, params = _search_rows_where(query, scope)
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT person_id, COUNT(*) OVER () FROM {SEARCH_ROWS} "  # noqa: S608
            f"WHERE {where} ORDER BY last_name, first_name, person_id "
            "LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        found = cursor.fetchall()
        if found or not offset:
            return [pk for pk, _total in found], (found[0][1] if found else 0)
        cursor.execute(
            f"SELECT COUNT(*) FROM {SEARCH_ROWS} WHERE {where}",  # noqa: S608
            params,
        )
        return [], cursor.fetchone()[0]
