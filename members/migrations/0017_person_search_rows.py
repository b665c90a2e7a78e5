"""A narrow copy of what the persons search reads, kept by the database itself.

The persons list sorts a search's matches by name. For a term with thousands of
matches ("johansen", "berg") PostgreSQL reads every matching person's row to sort
them, one table page per match or so: most of the search's time at 500,000 persons.
``members_personsearch`` holds only what the search and the sort need, one short row
per person (about half the size of the persons table): the name to sort by, whether
the person is archived, the member number, the searched text, upper-cased once, with
one trigram index instead of one per column, and what a chapter admin's scope is
decided by (the home chapter, and the chapters of the person's memberships).
``members.search.search_rows_page`` reads it for the list's plain searches (see there
for when).

Triggers keep it: on ``members_person`` every insert, delete and change of a searched
column, and on ``members_membership`` every membership added, moved or removed; bulk
writes and raw SQL included, and a TRUNCATE of either table. A big load may switch
the row triggers off and call ``members_personsearch_refill()`` once at the end
(``members.demo.seed_register`` does).

PostgreSQL only: on SQLite (development, tests) this migration does nothing and the
search reads the persons table as before.
"""

from django.db import migrations

#: One person's row: what the search matches (first and last name, e-mail addresses,
#: phones), upper-cased as ``icontains`` compares, fields apart by a space (a
#: searched word never holds one, so no word matches across two fields).
ROW = """
    {p}.id,
    {p}.last_name,
    {p}.first_name,
    {p}.archived_at IS NOT NULL,
    {p}.member_number,
    UPPER({p}.first_name || ' ' || {p}.last_name || ' ' || {p}.email || ' '
          || {p}.email_secondary),
    UPPER({p}.phone || ' ' || {p}.phone_mobile),
    {p}.chapter_id,
    {chapters}
"""

#: The chapters of one person's memberships, for the scope of chapter admins.
CHAPTERS_OF = """ARRAY(
        SELECT DISTINCT m.chapter_id FROM members_membership m
        WHERE m.person_id = {person} ORDER BY 1
    )"""

COLUMNS = (
    "person_id, last_name, first_name, archived, member_number, words, phones, "
    "chapter_id, membership_chapters"
)


def membership_chapters_update(person: str) -> str:
    return (
        f"UPDATE members_personsearch SET membership_chapters = "
        f"{CHAPTERS_OF.format(person=person)} WHERE person_id = {person}"
    )


def row(p: str) -> str:
    return ROW.format(p=p, chapters=CHAPTERS_OF.format(person=f"{p}.id"))


FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE TABLE members_personsearch (
        person_id bigint PRIMARY KEY,
        last_name varchar(100) NOT NULL,
        first_name varchar(100) NOT NULL,
        archived boolean NOT NULL,
        member_number integer NULL,
        words text NOT NULL,
        phones text NOT NULL,
        chapter_id bigint NULL,
        membership_chapters bigint[] NOT NULL
    )
    """,
    f"""
    CREATE FUNCTION members_personsearch_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM members_personsearch WHERE person_id = OLD.id;
            RETURN NULL;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
            DELETE FROM members_personsearch WHERE person_id = OLD.id;
        END IF;
        INSERT INTO members_personsearch ({COLUMNS})
        VALUES ({row("NEW")})
        ON CONFLICT (person_id) DO UPDATE SET
            last_name = EXCLUDED.last_name,
            first_name = EXCLUDED.first_name,
            archived = EXCLUDED.archived,
            member_number = EXCLUDED.member_number,
            words = EXCLUDED.words,
            phones = EXCLUDED.phones,
            chapter_id = EXCLUDED.chapter_id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION members_personsearch_empty() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE members_personsearch;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION members_personsearch_memberships() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.person_id IS NOT NULL THEN
            {membership_chapters_update("OLD.person_id")};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.person_id IS NOT NULL THEN
            {membership_chapters_update("NEW.person_id")};
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION members_personsearch_no_memberships() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE members_personsearch SET membership_chapters = '{}'
        WHERE membership_chapters <> '{}';
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER members_person_search_sync
    AFTER INSERT OR DELETE OR UPDATE OF
        id, first_name, last_name, email, email_secondary, phone, phone_mobile,
        member_number, archived_at, chapter_id
    ON members_person
    FOR EACH ROW EXECUTE FUNCTION members_personsearch_sync()
    """,
    """
    CREATE TRIGGER members_membership_search_sync
    AFTER INSERT OR DELETE OR UPDATE OF person_id, chapter_id
    ON members_membership
    FOR EACH ROW EXECUTE FUNCTION members_personsearch_memberships()
    """,
    """
    CREATE TRIGGER members_membership_search_empty
    AFTER TRUNCATE ON members_membership
    FOR EACH STATEMENT EXECUTE FUNCTION members_personsearch_no_memberships()
    """,
    """
    CREATE TRIGGER members_person_search_empty
    AFTER TRUNCATE ON members_person
    FOR EACH STATEMENT EXECUTE FUNCTION members_personsearch_empty()
    """,
    f"""
    CREATE FUNCTION members_personsearch_refill() RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE members_personsearch;
        INSERT INTO members_personsearch ({COLUMNS})
        SELECT {row("p")} FROM members_person p;
    END
    $$
    """,
    "SELECT members_personsearch_refill()",
    "CREATE INDEX members_personsearch_words_trgm ON members_personsearch "
    "USING gin (words gin_trgm_ops)",
    "CREATE INDEX members_personsearch_phones_trgm ON members_personsearch "
    "USING gin (phones gin_trgm_ops)",
    "CREATE INDEX members_personsearch_member_number ON members_personsearch "
    "(member_number)",
    # Finer statistics for the searched text: the planner's estimate of a search's
    # share (members.search.search_rows_share) samples them.
    "ALTER TABLE members_personsearch ALTER COLUMN words SET STATISTICS 1000",
    "ANALYZE members_personsearch",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS members_membership_search_empty ON members_membership",
    "DROP TRIGGER IF EXISTS members_membership_search_sync ON members_membership",
    "DROP FUNCTION IF EXISTS members_personsearch_no_memberships()",
    "DROP FUNCTION IF EXISTS members_personsearch_memberships()",
    "DROP TRIGGER IF EXISTS members_person_search_empty ON members_person",
    "DROP TRIGGER IF EXISTS members_person_search_sync ON members_person",
    "DROP FUNCTION IF EXISTS members_personsearch_empty()",
    "DROP FUNCTION IF EXISTS members_personsearch_refill()",
    "DROP FUNCTION IF EXISTS members_personsearch_sync()",
    "DROP TABLE IF EXISTS members_personsearch",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0016_inquiry_notify"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
