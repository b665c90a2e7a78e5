"""Demo billing for ``seed_demo``: a seller, and a few orders in every state, so the
Billing back office and the pay pages have something to show on a fresh site.

Everything goes through ``shop.billing`` as real orders would. Safe to run again:
customers who already have a demo order are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from . import billing
from .models import BillingSettings, Order
from .reminders import reminders_run

DEMO_NOTE = "Demo order (seed_demo)"


@dataclass(frozen=True)
class DemoCustomer:
    """Who a demo order is for; ``record`` is the register's row it belongs to."""

    name: str
    email: str
    address: str
    record: object | None = None


def seller_configure() -> BillingSettings:
    """The demo association as seller, unless staff have already filled it in."""
    settings = BillingSettings.load()
    if not settings.bank_account:
        settings.seller_name = "Makers' Guild"
        settings.organisation_number = "974760673"
        settings.address = "Postboks 1921 Sentrum\n0102 Oslo"
        settings.email = "billing@guildhall.example"
        settings.bank_account = "86011117947"
        settings.invoice_footer = "Thank you for supporting the guild."
        settings.save()
    return settings


@transaction.atomic
def seed_billing(customers: list[DemoCustomer]) -> dict[str, int]:
    """For each customer in turn: an order paid through the sandbox, an open invoice
    with KID, an overdue invoice that has had its first reminder, a credited one."""
    seller_configure()
    today = timezone.localdate()
    made = {"paid": 0, "open": 0, "overdue": 0, "credited": 0}
    kinds = list(made)
    for index, customer in enumerate(customers):
        if Order.objects.filter(note=DEMO_NOTE, customer_email=customer.email).exists():
            continue
        kind = kinds[index % len(kinds)]
        order = billing.order_create(
            customer=customer.record,
            customer_name=customer.name,
            customer_email=customer.email,
            billing_address=customer.address,
            lines=[
                billing.LineSpec(
                    description=f"Membership {today.year}",
                    unit_price=Decimal("450.00"),
                ),
                billing.LineSpec(
                    description="Guild yearbook",
                    unit_price=Decimal("125.00"),
                    vat_rate=Decimal("0"),
                ),
            ],
            note=DEMO_NOTE,
        )
        if kind == "paid":
            payment = billing.payment_create(order=order, provider="sandbox")
            billing.payment_confirm(payment=payment, raw={"sandbox": "demo"})
        elif kind == "open":
            billing.invoice_issue(order=order)
        elif kind == "overdue":
            billing.invoice_issue(order=order, due_date=today - timedelta(days=20))
        else:
            invoice = billing.invoice_issue(order=order)
            billing.credit_note_issue(invoice=invoice, reason="Registered twice")
        made[kind] += 1
    # The overdue ones get their first reminder, as the nightly job would send it.
    transaction.on_commit(lambda: reminders_run(today=today))
    return made
