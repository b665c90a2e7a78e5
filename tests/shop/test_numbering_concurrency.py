"""Invoice numbers are gapless per series and year, even when many clerks, tasks and
webhooks issue at the same moment, and a number is never burnt by a transaction that
rolls back.

The threaded tests need a database with real row locks and concurrent connections
(PostgreSQL); SQLite serialises writers on the whole file, so they are skipped there.
"""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from shop import billing
from shop.models import Invoice, InvoiceNumberCounter, InvoiceSeries, Order

from .factories import configure_seller, make_order

THREADS = 8
YEAR = timezone.localdate().year


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "Needs concurrent connections with row locks (PostgreSQL); SQLite "
            "locks the whole file for every writer."
        )


@pytest.fixture
def series(postgresql_only):
    """A series of its own (the migration's default one may have been flushed by an
    earlier transactional test), and the seller, made before any thread starts."""
    configure_seller()
    return InvoiceSeries.objects.create(name="Concurrency", prefix="K", kid_prefix=42)


def run_together(targets):
    """Run each callable in its own thread (own database connection), all released
    at the same moment; return their results and errors."""
    barrier = threading.Barrier(len(targets))
    results, errors = [], []

    def worker(target):
        try:
            barrier.wait(timeout=20)
            results.append(target())
        except Exception as error:  # reported by the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def numbers_in(series):
    return sorted(
        Invoice.objects.filter(series=series, year=YEAR).values_list(
            "number", flat=True
        )
    )


def issuer(order, series):
    def issue():
        invoice = billing.invoice_issue(order=order, series=series)
        return invoice.number, invoice.kid

    return issue


@pytest.mark.django_db(transaction=True)
def test_eight_invoices_issued_at_once_get_numbers_one_to_eight(series):
    orders = [make_order(amount="450.00") for _ in range(THREADS)]

    results, errors = run_together([issuer(order, series) for order in orders])

    assert errors == []
    assert sorted(number for number, _kid in results) == list(range(1, THREADS + 1))
    assert numbers_in(series) == list(range(1, THREADS + 1))
    kids = [kid for _number, kid in results]
    assert len(set(kids)) == THREADS
    assert InvoiceNumberCounter.objects.get(series=series, year=YEAR).last_number == 8
    assert Order.objects.filter(invoices__isnull=False).distinct().count() == THREADS


@pytest.mark.django_db(transaction=True)
def test_invoices_and_credit_notes_issued_together_share_one_gapless_sequence(series):
    issued = [
        billing.invoice_issue(order=make_order(amount="100.00"), series=series)
        for _ in range(THREADS // 2)
    ]
    new_orders = [make_order(amount="200.00") for _ in range(THREADS // 2)]

    def crediting(invoice):
        def credit():
            note = billing.credit_note_issue(invoice=invoice, reason="Duplicate")
            return note.number, note.kid

        return credit

    results, errors = run_together(
        [crediting(invoice) for invoice in issued]
        + [issuer(order, series) for order in new_orders]
    )

    assert errors == []
    assert sorted(number for number, _kid in results) == list(
        range(THREADS // 2 + 1, THREADS + THREADS // 2 + 1)
    )
    assert numbers_in(series) == list(range(1, THREADS + THREADS // 2 + 1))
    assert Invoice.objects.filter(series=series, kind="credit_note").count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_issue_does_not_burn_the_number_a_waiting_issuer_gets(series):
    billing.invoice_issue(order=make_order(), series=series)  # number 1, committed
    doomed, waiting = make_order(), make_order()
    taken = threading.Event()
    rolled_back_at, waiter_done_at, results, errors = [], [], [], []

    def issue_then_roll_back():
        try:
            with transaction.atomic():
                invoice = billing.invoice_issue(order=doomed, series=series)
                results.append(("doomed", invoice.number))
                taken.set()
                time.sleep(1.0)  # the waiter is now blocked on the counter row
                rolled_back_at.append(time.monotonic())
                raise RuntimeError("the e-mail could not be queued")
        except RuntimeError:
            pass
        except Exception as error:
            errors.append(error)
        finally:
            taken.set()
            connection.close()

    def issue_after_it():
        try:
            taken.wait(timeout=20)
            invoice = billing.invoice_issue(order=waiting, series=series)
            waiter_done_at.append(time.monotonic())
            results.append(("waiting", invoice.number))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=issue_then_roll_back),
        threading.Thread(target=issue_after_it),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [("doomed", 2), ("waiting", 2)]
    assert waiter_done_at[0] >= rolled_back_at[0]  # it waited for the lock
    assert numbers_in(series) == [1, 2]
    assert not doomed.invoices.exists()
    assert waiting.invoices.get().number == 2
    assert InvoiceNumberCounter.objects.get(series=series, year=YEAR).last_number == 2


@pytest.mark.django_db
def test_a_number_taken_in_a_rolled_back_transaction_is_given_again():
    """Any database: the counter row changes in the same transaction as the invoice."""
    configure_seller()
    series = InvoiceSeries.objects.create(name="Rollback", prefix="R", kid_prefix=43)
    billing.invoice_issue(order=make_order(), series=series)
    doomed = make_order()

    with pytest.raises(RuntimeError), transaction.atomic():
        assert billing.invoice_issue(order=doomed, series=series).number == 2
        raise RuntimeError("rolled back")

    invoice = billing.invoice_issue(order=make_order(), series=series)
    assert invoice.number == 2
    assert invoice.display_number == f"R{YEAR}-000002"
    assert numbers_in(series) == [1, 2]
    assert not doomed.invoices.exists()
