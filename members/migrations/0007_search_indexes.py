"""Trigram indexes so the register finds part of a word fast at national scale.

The back office searches with Django's ``icontains``, which PostgreSQL runs as
``UPPER("column"::text) LIKE UPPER('%term%')``. A GIN index with ``gin_trgm_ops`` on
exactly that expression lets PostgreSQL answer such a search from the index instead of
reading every row (see members/search.py and bench/README.md). Each searched column
needs one: the search ORs its columns together, and one column without an index makes
PostgreSQL read the whole table.

PostgreSQL only: on SQLite (development, tests) this migration does nothing.
"""

from django.db import migrations

# table -> columns the back office searches with icontains (members/admin_views.py).
TRIGRAM_INDEXES = {
    "members_person": (
        "first_name",
        "last_name",
        "email",
        "email_secondary",
        "phone",
        "phone_mobile",
    ),
    "members_organisation": (
        "name",
        "email",
        "billing_email",
        "organisation_number",
    ),
}


def index_name(table, column):
    return f"{table}_{column}_trgm"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in TRIGRAM_INDEXES.items():
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{index_name(table, column)}" '
                f'ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in TRIGRAM_INDEXES.items():
        for column in columns:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(table, column)}"')


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_selections"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
