"""The demo billing seed_demo adds: every state once per four customers, never twice."""

from decimal import Decimal

import pytest

from shop.demo import DemoCustomer, seed_billing
from shop.models import BillingSettings, Invoice, Order, Reminder

pytestmark = pytest.mark.django_db


def customers(count):
    return [
        DemoCustomer(
            name=f"Demo Person {n}",
            email=f"demo{n}@example.org",
            address=f"Gate {n}\n0150 Oslo",
        )
        for n in range(count)
    ]


def test_demo_billing_shows_every_state_and_is_not_made_twice(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        made = seed_billing(customers(4))
    assert made == {"paid": 1, "open": 1, "overdue": 1, "credited": 1}
    assert BillingSettings.load().bank_account == "86011117947"
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "open", "open", "paid"]
    assert all(order.total == Decimal("575.00") for order in Order.objects.all())
    overdue = Invoice.objects.get(reminder_level=1)
    assert Reminder.objects.get().invoice == overdue
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        again = seed_billing(customers(4))
    assert again == {
        "paid": 0,
        "open": 0,
        "overdue": 0,
        "credited": 0,
    }
    assert Order.objects.count() == 4
    assert Reminder.objects.count() == 1
