"""Benchmark of the bank OCR giro import at national scale.

Run from the project folder, against PostgreSQL (by hand; not part of the tests):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/ocr.py --records 100000

It works in its own database ``guildhall_bench_ocr`` on the server DATABASE_URL
names (created and migrated if missing; its shop tables are emptied on each run). It
creates ``--records`` open orders with an issued invoice each (bulk inserts of rows
as ``billing.invoice_issue`` makes them: frozen seller and buyer, invoice lines, a
gapless number and its KID), writes an OCR giro file of as many payments with
netsgiro (most paying exactly, some too little, some too much, some gifts on
open-amount invoices, some with an unknown KID, a few paid twice), and times
``shop.bankfiles.bank_file_import`` on it: wall time, payments per second, queries,
and the process's peak memory (tracemalloc with ``--tracemalloc``, which slows
Python down; the resident set size always). Then it imports the same file again
(refused at once) and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "guildhall_bench_ocr"
BATCH = 5000


def note(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def bench_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{DATABASE}"))


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


def setup(url: str) -> None:
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guildhall.settings.test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def empty_shop() -> None:
    from django.db import connection

    tables = [
        "shop_banktransaction",
        "shop_bankimport",
        "shop_gift",
        "shop_refund",
        "shop_payment",
        "shop_reminder",
        "shop_invoicecomment",
        "shop_invoiceline",
        "shop_invoice",
        "shop_invoicenumbercounter",
        "shop_orderstatuschange",
        "shop_orderline",
        "shop_order",
        "shop_gatewayevent",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")  # noqa: S608


def seed(count: int, rng: random.Random, open_amount_share: float) -> list[tuple]:
    """``count`` open orders with an issued invoice each; returns (kid, total,
    open_amount) per invoice."""
    from django.db import transaction
    from django.utils import timezone

    from shop import billing
    from shop.models import (
        BillingSettings,
        Invoice,
        InvoiceLine,
        InvoiceNumberCounter,
        Order,
        OrderLine,
        OrderStatusChange,
    )

    billing_settings = BillingSettings.load()
    billing_settings.seller_name = "Bench Guild"
    billing_settings.organisation_number = "974760673"
    billing_settings.bank_account = "86011117947"
    billing_settings.save()
    series = billing.default_series()
    seller = billing_settings.frozen()
    now = timezone.now()
    today = timezone.localdate(now)
    fees = [Decimal(v) for v in ("450.00", "300.00", "650.00", "125.50", "990.00")]
    invoices = []
    with transaction.atomic():
        counter, _ = InvoiceNumberCounter.objects.get_or_create(
            series=series, year=today.year
        )
        number = counter.last_number
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            orders = [
                Order(
                    customer_name=f"Member {start + i:06d}",
                    customer_email=f"member{start + i}@bench.example",
                    billing_address="Storgata 1\n0155 Oslo",
                    customer_identifier="01010012356",
                    currency="NOK",
                    total=rng.choice(fees),
                )
                for i in range(size)
            ]
            Order.objects.bulk_create(orders)
            lines = []
            for order in orders:
                line = OrderLine(
                    order=order,
                    description="Membership dues",
                    quantity=Decimal(1),
                    unit_price=order.total,
                )
                line.total = order.total
                lines.append(line)
            OrderLine.objects.bulk_create(lines)
            OrderStatusChange.objects.bulk_create(
                OrderStatusChange(order=order, to_status=Order.Status.OPEN)
                for order in orders
            )
            batch = []
            for order in orders:
                number += 1
                batch.append(
                    Invoice(
                        order=order,
                        series=series,
                        year=today.year,
                        number=number,
                        kid=billing._kid_for(series, today.year, number),
                        issued_at=now,
                        issue_date=today,
                        due_date=today + timedelta(days=14),
                        currency="NOK",
                        total=order.total,
                        vat_total=Decimal("0.00"),
                        seller=seller,
                        buyer_name=order.customer_name,
                        buyer_email=order.customer_email,
                        buyer_address=order.billing_address,
                        open_amount=rng.random() < open_amount_share,
                    )
                )
            Invoice.objects.bulk_create(batch)
            InvoiceLine.objects.bulk_create(
                InvoiceLine(
                    invoice=invoice,
                    description="Membership dues",
                    quantity=Decimal(1),
                    unit_price=invoice.total,
                    vat_rate=Decimal("0.00"),
                    total=invoice.total,
                    vat_amount=Decimal("0.00"),
                )
                for invoice in batch
            )
            invoices.extend((i.kid, i.total, i.open_amount) for i in batch)
        counter.last_number = number
        counter.save(update_fields=["last_number"])
    return invoices


def write_ocr(invoices: list[tuple], rng: random.Random) -> tuple[str, dict]:
    """An OCR giro file paying ``invoices``: 96 % exactly, 1 % too little, 1 % too
    much, 1 % with an unknown KID, 1 % the same invoice paid a second time."""
    import netsgiro
    from django.utils import timezone

    day = timezone.localdate()
    transmission = netsgiro.Transmission(
        number="0000001",
        data_transmitter="00008080",
        data_recipient="00010200",
        date=day,
    )
    assignment = transmission.add_assignment(
        service_code=netsgiro.ServiceCode.OCR_GIRO,
        assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
        agreement_id="001008566",
        number="0000001",
        account="86011117947",
        date=day,
    )
    mix = {"exact": 0, "short": 0, "over": 0, "unknown_kid": 0, "second_payment": 0}
    paid_kids = []
    for number, (kid, total, _open) in enumerate(invoices, start=1):
        draw = rng.random()
        amount = total
        if draw < 0.01:
            mix["short"] += 1
            amount = total - Decimal("100.00")
        elif draw < 0.02:
            mix["over"] += 1
            amount = total + Decimal("50.00")
        elif draw < 0.03:
            mix["unknown_kid"] += 1
            kid = "9" + kid[1:]
        elif draw < 0.04 and paid_kids:
            mix["second_payment"] += 1
            kid, amount = rng.choice(paid_kids)
        else:
            mix["exact"] += 1
            paid_kids.append((kid, total))
        assignment.transactions.append(
            netsgiro.Transaction(
                service_code=netsgiro.ServiceCode.OCR_GIRO,
                type=netsgiro.TransactionType.FROM_GIRO_DEBITED_ACCOUNT,
                number=number,
                date=day,
                amount=amount,
                kid=kid,
                reference="099038562",
                text=None,
                centre_id="13",
                day_code=day.day,
                partial_settlement_number=1,
                partial_settlement_serial_number="01464",
                sign="0",
                form_number="9636827194",
                bank_date=day,
                debit_account="12345678903",
                filler=None,
            )
        )
    return transmission.to_ocr() + "\n", mix


class QueryCounter:
    """Counts the queries and keeps the slowest (time, start of the SQL)."""

    def __init__(self):
        self.count = 0
        self.timings: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timings.append((time.monotonic() - started, sql[:120]))

    def slowest(self, n=8) -> list[str]:
        ordered = sorted(self.timings, reverse=True)[:n]
        return [f"{seconds:.2f} s {sql}" for seconds, sql in ordered]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--profile", type=Path, help="write cProfile stats here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (see the docstring).")
    setup(bench_url(url))
    from django.db import connection

    from shop.bankfiles import AlreadyImported, bank_file_import, parse_ocr
    from shop.models import BankTransaction, Gift, Order, Payment

    rng = random.Random(args.seed)  # noqa: S311 - test data, not secrets
    figures = {"records": args.records}
    empty_shop()
    started = time.monotonic()
    invoices = seed(args.records, rng, open_amount_share=0.3)
    figures["seed_s"] = round(time.monotonic() - started, 1)
    note(f"{len(invoices)} orders with invoices in {figures['seed_s']} s")

    started = time.monotonic()
    text, mix = write_ocr(invoices, rng)
    content = text.encode("iso-8859-1")
    figures["write_ocr_s"] = round(time.monotonic() - started, 1)
    figures["file_mb"] = round(len(content) / 1e6, 1)
    figures["mix"] = mix
    note(f"OCR file of {figures['file_mb']} MB in {figures['write_ocr_s']} s: {mix}")

    started = time.monotonic()
    parse_ocr(text)
    figures["parse_s"] = round(time.monotonic() - started, 1)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.tracemalloc:
        tracemalloc.start()
    counter = QueryCounter()
    started = time.monotonic()
    cpu_started = time.process_time()
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    with connection.execute_wrapper(counter):
        result = bank_file_import(filename="bench.ocr", content=content)
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    if args.tracemalloc:
        figures["tracemalloc_peak_mb"] = round(
            tracemalloc.get_traced_memory()[1] / 1e6, 1
        )
        tracemalloc.stop()
    figures.update(
        import_s=round(wall, 1),
        import_cpu_s=round(cpu, 1),
        load_average=os.getloadavg()[0],
        cpus=os.cpu_count(),
        records_per_s=round(args.records / wall),
        queries=counter.count,
        queries_s=round(sum(t for t, _sql in counter.timings), 1),
        slowest_queries=counter.slowest(),
        max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        max_rss_before_import_mb=round(rss_before / 1024),
        counts={str(k): v for k, v in sorted(result.counts.items())},
        duplicates=result.duplicates,
        total=str(result.total),
    )
    started = time.monotonic()
    try:
        bank_file_import(filename="bench-again.ocr", content=content)
    except AlreadyImported:
        figures["second_import_refused_ms"] = round((time.monotonic() - started) * 1000)
    figures["paid_orders"] = Order.objects.filter(status=Order.Status.PAID).count()
    figures["confirmed_payments"] = Payment.objects.filter(
        state=Payment.State.CONFIRMED
    ).count()
    figures["bank_transactions"] = BankTransaction.objects.count()
    figures["gifts"] = Gift.objects.count()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
