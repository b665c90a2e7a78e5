"""Finer statistics for the three most searched expressions, so PostgreSQL estimates
better how many persons a search matches.

``members.search.persons_matching`` decides from PostgreSQL's estimate of a search's
matches whether to walk the name index or to sort the matches (see bench/README.md).
ANALYZE keeps statistics of an index's expression (here ``UPPER(column::text)``) with
the index; raising their target from the default 100 to 1,000 values makes that
estimate much closer for the names and e-mail addresses staff search most. It takes
effect at the next ANALYZE of the table (autovacuum, or ``seed_demo``'s own).

PostgreSQL only: on SQLite (development, tests) this migration does nothing.
"""

from django.db import migrations

#: The trigram indexes of migration 0007 whose expression gets finer statistics.
INDEXES = (
    "members_person_first_name_trgm",
    "members_person_last_name_trgm",
    "members_person_email_trgm",
)
STATISTICS_TARGET = 1000


def _set_statistics(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(
            f'ALTER INDEX "{name}" ALTER COLUMN 1 SET STATISTICS {int(target)}'
        )


def raise_statistics(apps, schema_editor):
    _set_statistics(schema_editor, STATISTICS_TARGET)


def default_statistics(apps, schema_editor):
    # -1: back to the server's default_statistics_target.
    _set_statistics(schema_editor, -1)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0008_roles_for_relations"),
    ]

    operations = [
        migrations.RunPython(raise_statistics, default_statistics, elidable=False),
    ]
