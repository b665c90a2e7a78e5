"""Benchmark of invoice PDFs: how long ``shop.pdf.render`` takes per invoice.

Run from the project folder:

    .venv/bin/python bench/invoice_pdf.py                 # SQLite in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench_pdf \\
        .venv/bin/python bench/invoice_pdf.py             # PostgreSQL (created if missing)

It migrates the database, issues ``--invoices`` invoices (200 by default; three lines
each, with VAT) through ``shop.billing`` unless enough are there already, renders one
untimed to warm the process (fonts, templates, imports), then renders each invoice
once, timed, in this one process: the way a Celery worker sending invoices does.
It prints the median, 95th percentile and mean milliseconds per PDF and the PDF
sizes. ``--logo`` gives the site a logo first; ``--json FILE`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAYER = "Bench payer"


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    if not os.environ.get("DATABASE_URL"):
        path = Path(tempfile.gettempdir()) / "guildhall_bench_pdf.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guildhall.settings.test")
    os.environ.setdefault("GUILDHALL_EMBEDDED_SCHEDULER", "0")
    _create_postgres_database(os.environ["DATABASE_URL"])
    import django

    django.setup()


def _create_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _prepare(count: int, with_logo: bool) -> list:
    from django.core.management import call_command

    from shop import billing
    from shop.billing import LineSpec
    from shop.models import BillingSettings, Invoice

    call_command("migrate", verbosity=0, interactive=False)
    seller = BillingSettings.load()
    seller.seller_name = "Makers' Guild"
    seller.organisation_number = "974760673"
    seller.vat_registered = True
    seller.bank_account = "86011117947"
    seller.address = "Postboks 1\n0101 Oslo"
    seller.email = "billing@guild.example"
    seller.invoice_footer = "Makers' Guild · Storgata 1 · 0155 Oslo"
    seller.save()
    if with_logo:
        _give_logo()

    have = Invoice.objects.filter(buyer_name__startswith=PAYER).count()
    for n in range(have, count):
        order = billing.order_create(
            customer_name=f"{PAYER} {n:04d}",
            customer_email=f"payer{n}@example.org",
            billing_address=f"Storgata {n % 90 + 1}\n0155 Oslo",
            language="nb" if n % 2 else "en",
            lines=[
                LineSpec(description="Membership 2027", unit_price=Decimal("450.00")),
                LineSpec(
                    description="Annual journal",
                    unit_price=Decimal("125.00"),
                    vat_rate=Decimal("12"),
                ),
                LineSpec(
                    description="Course seat",
                    unit_price=Decimal("800.00"),
                    quantity=Decimal(2),
                    vat_rate=Decimal("25"),
                ),
            ],
        )
        billing.invoice_issue(order=order)
    return list(
        Invoice.objects.filter(buyer_name__startswith=PAYER).order_by("pk")[:count]
    )


def _give_logo() -> None:
    import io

    from django.core.files.images import ImageFile
    from PIL import Image as PILImage
    from wagtail.images import get_image_model
    from wagtail.models import Site

    from home.models import SiteSettings

    site = Site.objects.get(is_default_site=True)
    settings = SiteSettings.for_site(site)
    if settings.logo_id:
        return
    buffer = io.BytesIO()
    PILImage.new("RGB", (600, 200), "#1d4e89").save(buffer, "PNG")
    image = get_image_model().objects.create(
        title="Bench logo", file=ImageFile(buffer, name="bench-logo.png")
    )
    settings.logo = image
    settings.save()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--logo", action="store_true", help="give the site a logo")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    _setup_django()
    from django.db import connection

    from shop import pdf

    invoices = _prepare(args.invoices, args.logo)
    pdf.render(invoices[0])  # warm-up, untimed

    times, sizes = [], []
    for invoice in invoices:
        started = time.perf_counter()
        content = pdf.render(invoice)
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(content))

    times_sorted = sorted(times)
    p95 = times_sorted[max(0, round(0.95 * len(times_sorted)) - 1)]
    figures = {
        "database": connection.vendor,
        "invoices": len(invoices),
        "logo": args.logo,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "mean_ms": round(statistics.mean(times), 1),
        "max_ms": round(max(times), 1),
        "median_kb": round(statistics.median(sizes) / 1024, 1),
        "max_kb": round(max(sizes) / 1024, 1),
        "pdfs_per_minute": round(60000 / statistics.mean(times)),
    }
    print(
        f"{figures['invoices']} invoice PDFs on {figures['database']}"
        f"{' with logo' if args.logo else ''}: "
        f"median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms, "
        f"mean {figures['mean_ms']} ms, max {figures['max_ms']} ms per PDF; "
        f"size median {figures['median_kb']} KB (max {figures['max_kb']} KB); "
        f"about {figures['pdfs_per_minute']} PDFs a minute in one process."
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
