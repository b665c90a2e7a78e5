"""Inserting many rows fast: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

For runs that write hundreds of thousands of rows (the dues run, the demo register).
On PostgreSQL the primary keys are taken from the table's sequence first, so that
rows written next can point at them, then the rows are streamed with ``COPY``,
several times faster than ``bulk_create``'s INSERT. Either way every concrete field
is written from the instance (``auto_now``/``auto_now_add`` fields get ``when``),
and the instances come back saved, with their keys. No signals are sent and
``save()`` is not called, as with ``bulk_create``.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import JSONField
from django.utils import timezone


def column_getter(field):
    """A function reading ``field``'s value from an instance as COPY takes it."""
    attname = field.attname
    if isinstance(field, JSONField):
        from psycopg.types.json import Jsonb

        return lambda obj: Jsonb(getattr(obj, attname))
    return lambda obj: getattr(obj, attname)


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    """Stream ``rows`` (sequences in the order of ``columns``) into ``table``."""
    names = ", ".join(f'"{column}"' for column in columns)
    # wrap_database_errors: a duplicate raises Django's IntegrityError, as elsewhere.
    with (
        connection.wrap_database_errors,
        cursor.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)


def objects_insert(model, objs: list, *, when: datetime | None = None) -> list:
    """Insert unsaved ``objs`` of ``model``; returns them with their primary keys."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=2000)
    when = when or timezone.now()
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias
        fields = list(meta.concrete_fields)
        for field in fields:
            if getattr(field, "auto_now", False) or getattr(
                field, "auto_now_add", False
            ):
                for obj in objs:
                    setattr(obj, field.attname, when)
        getters = [column_getter(field) for field in fields]
        copy_rows(
            cursor,
            meta.db_table,
            [field.column for field in fields],
            ([get(obj) for get in getters] for obj in objs),
        )
    return objs


def rows_insert(model, rows: list[dict], *, when: datetime | None = None) -> int:
    """Insert ``rows`` (attribute name → value) of ``model`` without making model
    instances, for rows nobody needs back (order lines, history rows). A field a
    row leaves out takes its default, worked out once per call, so a field whose
    default differs per row (a UUID, a code) must be given; ``auto_now`` and
    ``auto_now_add`` fields get ``when``. Returns how many rows were inserted."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_create((model(**row) for row in rows), batch_size=2000)
        return len(rows)
    when = when or timezone.now()
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    defaults = {}
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.attname] = when
        else:  # the default, else "" for text and None for the rest, as Django
            defaults[field.attname] = field.get_default()
    names = [field.attname for field in fields]
    json_names = {field.attname for field in fields if isinstance(field, JSONField)}
    if json_names:
        from psycopg.types.json import Jsonb
    with connection.cursor() as cursor:
        copy_rows(
            cursor,
            meta.db_table,
            [field.column for field in fields],
            (
                [
                    Jsonb(row.get(name, defaults[name]))
                    if name in json_names
                    else row.get(name, defaults[name])
                    for name in names
                ]
                for row in rows
            ),
        )
    return len(rows)
