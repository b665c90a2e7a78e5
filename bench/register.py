"""Benchmark of the member register at national scale (issue 3, item 13).

Run from the project folder, against PostgreSQL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench \\
        .venv/bin/python bench/register.py --members 500000

It measures two registers: the large one in DATABASE_URL (created, migrated and
seeded with ``seed_demo``'s register generator if it is not there yet) and a small one
in a sibling database named ``<name>_small`` (``--small`` members, 1,000 by default).
For each it times, through the real admin URLs with a signed-in, second-factor-verified
superuser (django.test.Client):

* the persons list searched for ~30 parts of words (names, e-mail addresses, member
  and phone numbers) as the admin does it (through ``members.search
  .persons_matching``): the results the list's search box fetches as staff type
  (``…/results/?q=``), and the whole page opened with ``?q=``; plus the same searches
  as raw queries (the count and first page the list runs), with ``persons_matching``
  and without it (plain filters);
* the same search box as the chapter admin of the region with the most members;
* the persons list without a search;
* the record (edit) page of 20 persons: time and number of queries;
* the pages that choose a person (membership edit, employment add) and the person
  chooser itself, opened and searched: time, size and number of queries.

and prints a table. ``--json FILE`` also writes the figures as JSON. Each register is
measured in its own process (``--worker``), so the settings point at one database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

#: What staff type to find someone: parts of last names (common and rare), first
#: names, a first and a last name, pieces of e-mail addresses, member numbers and a
#: piece of a phone number.
SEARCH_TERMS = [
    "kvalh",
    "myklebu",
    "ødegå",
    "strand",
    "solberg",
    "tveit",
    "nordby",
    "johansen",
    "nilsen",
    "hansen",
    "olsen",
    "berg",
    "haug",
    "kari",
    "ingrid",
    "torbj",
    "ole-m",
    "sigrid",
    "håkon",
    "øyvind",
    "kari olsen",
    "ingrid kval",
    "per hansen",
    "kari.hansen",
    "solberg@",
    "olsen72",
    "hotmail",
    "12345",
    "400017",
    "41234",
]

#: Not part of the figures above: one- and two-letter searches and pieces found in a
#: third or more of the register, which no index can make cheap to count.
STRESS_TERMS = ["an", "e", "sen", "gmail"]

RECORD_PAGES = 20
#: Pages that choose a person (a chooser since 2026-11-23; a select of every person
#: before), and the person chooser itself.
FORM_PAGES = [
    ("membership_edit", "membership edit page (person chooser)"),
    ("employment_add", "employment add page (person chooser)"),
    ("chooser_open", "person chooser, opened"),
    ("chooser_search", "person chooser, searched for 'kvalh'"),
]
#: The "capped count" variant counts at most this many matches (then "1,000+").
COUNT_CAP = 1000
BENCH_USER = "bench-admin@guildhall.example"
BENCH_CHAPTER_ADMIN = "bench-region@guildhall.example"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[rank]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": statistics.median(values) if values else float("nan"),
        "p95": percentile(values, 0.95),
        "max": max(values) if values else float("nan"),
    }


# --- The orchestrating process -----------------------------------------------------------


def small_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_small"))


def run_worker(url: str, members: int, args) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--members",
        str(members),
        "--rounds",
        str(args.rounds),
    ]
    env = {**os.environ, "DATABASE_URL": url}
    env.setdefault("DJANGO_SETTINGS_MODULE", "guildhall.settings.test")
    done = subprocess.run(  # noqa: S603 - our own script, same interpreter
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise SystemExit(f"The benchmark of {members} members failed.")
    for line in done.stderr.splitlines():
        if line.startswith("bench: "):
            print(line)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(results: list[dict]) -> None:
    header = f"{'measure':<44}" + "".join(
        f"{r['members']:>12,} members".replace(",", " ") for r in results
    )
    print()
    print(header)
    print("-" * len(header))

    def row(label, key, field, unit="ms"):
        cells = []
        for r in results:
            value = r[key][field] if key in r else None
            cells.append(
                f"{'–':>20}"
                if value is None
                else f"{value:>17.1f} {unit}"
                if isinstance(value, float)
                else f"{value:>20}"
            )
        print(f"{label:<44}" + "".join(cells))

    for key, title in (
        ("search_box", "search as staff type it (the results the box fetches)"),
        ("search_box_region", "  the same as a region's chapter admin"),
        ("admin_search", "search, the whole list page opened with ?q="),
        ("raw_search", "search, raw queries without persons_matching"),
        ("raw_search_matching", "search, raw queries with persons_matching"),
        (
            "raw_search_matching_capped",
            f"  the same, counting at most {COUNT_CAP} matches",
        ),
        ("raw_stress", "stress terms (an, e, sen, gmail), raw, matching"),
        ("list_page", "persons list without a search"),
        ("record_page", "record (edit) page of a person"),
        *((f"form_{key}", label) for key, label in FORM_PAGES),
    ):
        if not any(key in r for r in results):
            continue
        print(title)
        for field in ("p50", "p95", "max"):
            row(f"  {field}", key, field)
        if any("queries" in r.get(key, {}) for r in results):
            row("  queries per request", key, "queries", unit="")
        if any("kb" in r.get(key, {}) for r in results):
            row("  size of the page", key, "kb", unit="KB")
    large = results[-1]
    print(f"\nSlowest search terms at {large['members']} members (median ms):")
    print(
        f"  {'term':<14}{'matches':>9}{'box':>9}{'page':>9}{'raw':>9}{'raw+pm':>9}"
        f"{'capped':>9}"
    )
    slowest = sorted(
        (t for t in large["terms"].items() if "raw_search" in t[1]),
        key=lambda item: -item[1]["search_box"],
    )[:8]
    for term, f in slowest:
        print(
            f"  {term:<14}{f['matches']:>9}{f['search_box']:>9.1f}"
            f"{f['admin_search']:>9.1f}"
            f"{f['raw_search']:>9.1f}"
            f"{f['raw_search_matching']:>9.1f}{f['raw_search_matching_capped']:>9.1f}"
        )
    print()
    for r in results:
        print(
            f"{r['members']} members: matches per search term (min–max) "
            f"{r['matches_min']}–{r['matches_max']}; trigram indexes in the plans: "
            f"{', '.join(sorted(r['indexes_used'])) or 'none'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs per term")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = Worker(args).run()
        print(json.dumps(result))
        return

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "Set DATABASE_URL to a PostgreSQL database (see the docstring)."
        )
    started = time.monotonic()
    results = [
        run_worker(small_url(url), args.small, args),
        run_worker(url, args.members, args),
    ]
    print_table(results)
    if results[-1].get("explain"):
        print(f"\nThe count of a search for 'kvalh' at {args.members} members:")
        print(results[-1]["explain"])
    print(f"\n(benchmark took {time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


# --- A worker: one register, one database ------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    with psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"]))
            )


def note(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Worker:
    def __init__(self, args):
        self.members = args.members
        self.rounds = args.rounds

    def setup(self) -> None:
        url = os.environ["DATABASE_URL"]
        if url.startswith(("postgres://", "postgresql://")):
            ensure_database(url)
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guildhall.settings.test")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)

    def run(self) -> dict:
        self.setup()
        from members.demo import seed_register, seeded_persons

        have = seeded_persons().count()
        if have < self.members:
            note(f"seeding {self.members - have} persons (have {have})…")
            report = seed_register(self.members)
            note(report.summary())
        client = self.client()
        result = {"members": self.members}
        result.update(self.searches(client))
        result["list_page"] = self.list_page(client)
        result["record_page"] = self.record_pages(client)
        result.update(self.form_pages(client))
        return result

    # Signing in ------------------------------------------------------------------------
    def client(self):
        from django.contrib.auth import get_user_model

        User = get_user_model()
        user = User.objects.filter(email=BENCH_USER).first()
        if user is None:
            user = User.objects.create_superuser(email=BENCH_USER, password=None)
        self.user = user
        return self.signed_in(user)

    @staticmethod
    def signed_in(user):
        from django.test import Client
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device, _created = TOTPDevice.objects.get_or_create(
            user=user, name="Bench", defaults={"confirmed": True}
        )
        client = Client()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    def chapter_admin_client(self):
        """Signed in as the admin of the region with the most members."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from members.models import Chapter, ChapterAdministrator, Membership

        region = max(
            Chapter.objects.filter(depth=2),
            key=lambda chapter: Membership.objects.filter(
                chapter__path__startswith=chapter.path
            ).count(),
        )
        User = get_user_model()
        user, created = User.objects.get_or_create(
            email=BENCH_CHAPTER_ADMIN, defaults={"is_staff": True}
        )
        if created:
            user.groups.add(Group.objects.get(name="Chapter admins"))
        ChapterAdministrator.objects.get_or_create(user=user, chapter=region)
        return self.signed_in(user), region

    # Measuring -------------------------------------------------------------------------
    @staticmethod
    def timed_get(client, url, params=None) -> tuple[float, int, int]:
        """Milliseconds, status, and (in a second, untimed request) query count."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        began = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = (time.perf_counter() - began) * 1000
        with CaptureQueriesContext(connection) as queries:
            client.get(url, params or {})
        return elapsed, response.status_code, len(queries)

    def repeat(self, client, url, params=None) -> tuple[list[float], int]:
        client.get(url, params or {})  # warm up
        times, query_counts = [], set()
        for _round in range(self.rounds):
            elapsed, status, queries = self.timed_get(client, url, params)
            assert status == 200, (url, params, status)
            times.append(elapsed)
            query_counts.add(queries)
        return times, query_counts

    def searches(self, client) -> dict:
        from django.db import connection
        from django.urls import reverse

        from members.admin_views import person_search_q
        from members.search import persons_matching, search_plan_indexes
        from members.selectors import persons_visible_to

        url = reverse("register_persons:index")
        results_url = reverse("register_persons:index_results")
        base = (
            persons_visible_to(self.user)
            .select_related("chapter")
            .filter(archived_at__isnull=True)
            .order_by("last_name", "first_name", "pk")
        )

        def as_the_admin(query):
            queryset = base
            for term in query.split():
                queryset = queryset.filter(person_search_q(term))
            return queryset

        def matching(query):
            return persons_matching(base, query)

        def raw(make, query, capped=False) -> float:
            """The two queries of a search: the count (all of it, or up to
            COUNT_CAP + 1 rows) and the first page of 50."""
            began = time.perf_counter()
            queryset = make(query)
            if capped:
                queryset.order_by()[: COUNT_CAP + 1].count()
            else:
                queryset.count()
            list(queryset[:50])
            return (time.perf_counter() - began) * 1000

        figures = {"terms": {term: {} for term in SEARCH_TERMS}}

        def time_terms(key, client, url, label=None):
            """Every search term through ``url``: the summary under ``key``, each
            term's median under ``figures["terms"][term][key]``."""
            times, counts = [], set()
            for term in SEARCH_TERMS:
                term_times, term_counts = self.repeat(client, url, {"q": term})
                times += term_times
                counts |= term_counts
                figures["terms"][term][key] = statistics.median(term_times)
            figures[key] = summary(times) | {"queries": _span(counts)}
            note(f"{self.members}: {label or key} p95 {figures[key]['p95']:.1f} ms")

        time_terms("admin_search", client, url)
        # What the list's search box fetches as staff type: the results alone.
        time_terms("search_box", client, results_url)
        # The same as a region's chapter admin, who sees only the region's persons.
        region_client, region = self.chapter_admin_client()
        figures["region"] = region.name
        time_terms(
            "search_box_region",
            region_client,
            results_url,
            label=f"search_box_region ({region.name})",
        )

        matches, indexes = [], set()
        for key, make, terms, capped in (
            ("raw_search", as_the_admin, SEARCH_TERMS, False),
            ("raw_search_matching", matching, SEARCH_TERMS, False),
            ("raw_search_matching_capped", matching, SEARCH_TERMS, True),
            ("raw_stress", matching, STRESS_TERMS, False),
        ):
            times = []
            for term in terms:
                raw(make, term, capped)
                term_times = [raw(make, term, capped) for _round in range(self.rounds)]
                times += term_times
                figures["terms"].setdefault(term, {})[key] = statistics.median(
                    term_times
                )
                if key == "raw_search":
                    figures["terms"][term]["matches"] = as_the_admin(term).count()
                    matches.append(figures["terms"][term]["matches"])
                    indexes |= {
                        name
                        for name in search_plan_indexes(as_the_admin(term).order_by())
                        if name.endswith("_trgm")
                    }
            figures[key] = summary(times)
        figures["matches_min"] = min(matches)
        figures["matches_max"] = max(matches)
        figures["indexes_used"] = sorted(indexes)
        if connection.vendor == "postgresql":
            figures["explain"] = explain_analyze(as_the_admin("kvalh").order_by())
        return figures

    def list_page(self, client) -> dict:
        from django.urls import reverse

        times, counts = self.repeat(client, reverse("register_persons:index"))
        return summary(times) | {"queries": _span(counts)}

    def sample_persons(self) -> list[int]:
        """Persons spread evenly over the register, each with a membership."""
        from django.db.models import Max, Min

        from members.models import Person

        holders = Person.objects.filter(memberships__isnull=False)
        bounds = holders.aggregate(low=Min("pk"), high=Max("pk"))
        span = max(bounds["high"] - bounds["low"], 1)
        ids = []
        for step in range(RECORD_PAGES):
            pk = (
                holders.filter(pk__gte=bounds["low"] + span * step // RECORD_PAGES)
                .order_by("pk")
                .values_list("pk", flat=True)
                .first()
            )
            if pk not in ids:
                ids.append(pk)
        return ids

    def record_pages(self, client) -> dict:
        from django.urls import reverse

        times, counts = [], set()
        for pk in self.sample_persons():
            page_times, page_counts = self.repeat(
                client, reverse("register_persons:edit", args=[pk])
            )
            times += page_times
            counts |= page_counts
        return summary(times) | {"queries": _span(counts)}

    def form_pages(self, client) -> dict:
        """The pages that choose a person, and the person chooser: time, queries and
        size (they rendered a select of every person before the chooser)."""
        from django.urls import reverse

        from members.models import Membership

        membership = Membership.objects.filter(person__isnull=False).first()
        chooser = reverse("register_person_chooser:choose")
        pages = {
            "membership_edit": (
                reverse("register_memberships:edit", args=[membership.pk]),
                None,
            ),
            "employment_add": (reverse("register_employments:add"), None),
            "chooser_open": (chooser, None),
            "chooser_search": (
                reverse("register_person_chooser:choose_results"),
                {"q": "kvalh"},
            ),
        }
        figures = {}
        for key, (url, params) in pages.items():
            times, counts = self.repeat(client, url, params)
            size = len(client.get(url, params or {}).content)
            figures[f"form_{key}"] = summary(times) | {
                "queries": _span(counts),
                "kb": size / 1000,
            }
        return figures


def _span(counts: set[int]) -> str:
    return str(min(counts)) if len(counts) == 1 else f"{min(counts)}–{max(counts)}"


def explain_analyze(queryset) -> str:
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # The SQL is Django's own, compiled from the queryset; values stay parameters.
        cursor.execute(
            f"EXPLAIN (ANALYZE, COSTS OFF) SELECT COUNT(*) FROM ({sql}) q",  # noqa: S608
            params,
        )
        return "\n".join(row[0] for row in cursor.fetchall())


if __name__ == "__main__":
    main()
