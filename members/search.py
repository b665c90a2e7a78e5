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
just those. See bench/README.md for the figures.
"""

from __future__ import annotations

import json

from django.db import connections
from django.db.models import F, Func, QuerySet, TextField

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
