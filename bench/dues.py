"""Benchmark of the yearly dues run: orders, invoices and KIDs for every membership due.

Run from the project folder:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench_dues \\
        .venv/bin/python bench/dues.py --members 500000

It creates the database if missing, migrates it, seeds the demo register up to
``--members`` persons (``seed_demo --members``; topped up, never duplicated), clears
what an earlier run of this benchmark made (renewals, orders, invoices), and then runs
one dues run for the periods ending by 31 December of the current year, in this
process, as the Celery worker would (``members.dues.dues_run_execute``). E-mails are
queued (Celery's in-memory broker), not sent, and no PDF is rendered. It prints the
memberships due, invoices made, the wall time, invoices per second and the peak
memory, and checks that running again makes nothing. ``--json FILE`` writes them.
Without ``DATABASE_URL`` it uses SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    if not os.environ.get("DATABASE_URL"):
        path = Path(tempfile.gettempdir()) / "guildhall_bench_dues.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guildhall.settings.test")
    os.environ.setdefault("GUILDHALL_EMBEDDED_SCHEDULER", "0")
    from invoice_pdf import _create_postgres_database

    _create_postgres_database(os.environ["DATABASE_URL"])
    import django

    django.setup()


def _clear_earlier_runs() -> None:
    """Remove what an earlier run of this benchmark made, so this one starts fresh."""
    from django.db import connection, transaction

    from members.models import DuesRun, Renewal
    from shop.models import (
        Invoice,
        InvoiceLine,
        InvoiceNumberCounter,
        Order,
        OrderLine,
        OrderStatusChange,
    )

    tables = [
        model._meta.db_table
        for model in (
            Renewal,
            DuesRun,
            InvoiceLine,
            Invoice,
            InvoiceNumberCounter,
            OrderLine,
            OrderStatusChange,
        )
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Everything that points at orders goes with them (payments, reminders).
            cursor.execute(
                "TRUNCATE {} CASCADE".format(", ".join([*tables, Order._meta.db_table]))
            )
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our own names
            Order.objects.all().delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    _setup_django()

    from django.core.management import call_command
    from django.db import connection

    from guildhall.celery import app
    from members.dues import dues_run_execute, memberships_due
    from members.models import DuesRun, Membership
    from shop.models import BillingSettings

    app.conf.task_always_eager = False  # queue the e-mails, do not send them
    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    call_command("seed_demo", members=args.members, seed=1, verbosity=0)
    seeded_s = time.perf_counter() - started
    seller = BillingSettings.load()
    seller.seller_name = seller.seller_name or "Makers' Guild"
    seller.organisation_number = seller.organisation_number or "974760673"
    seller.bank_account = seller.bank_account or "86011117947"
    seller.save()
    _clear_earlier_runs()

    ends_by = date(date.today().year, 12, 31)
    memberships = Membership.objects.count()
    due = memberships_due(ends_by).count()
    run = DuesRun.objects.create(ends_by=ends_by)
    started = time.perf_counter()
    run = dues_run_execute(run_id=run.pk, chunk_size=args.chunk)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    again = DuesRun.objects.create(ends_by=ends_by)
    again_started = time.perf_counter()
    again = dues_run_execute(run_id=again.pk, chunk_size=args.chunk)
    again_s = time.perf_counter() - again_started

    figures = {
        "database": connection.vendor,
        "members_seeded": args.members,
        "memberships": memberships,
        "due": due,
        "invoiced": run.invoiced,
        "free": run.free,
        "by_email": run.by_email,
        "by_post": run.by_post,
        "amount": str(run.amount),
        "run_seconds": round(elapsed, 1),
        "invoices_per_second": round(run.invoiced / elapsed) if elapsed else None,
        "peak_rss_mb": round(peak_mb),
        "second_run_invoiced": again.invoiced,
        "second_run_seconds": round(again_s, 2),
        "seed_seconds": round(seeded_s, 1),
        "chunk": args.chunk,
    }
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if again.invoiced == 0 and run.invoiced + run.free == due else 1


if __name__ == "__main__":
    sys.exit(main())
