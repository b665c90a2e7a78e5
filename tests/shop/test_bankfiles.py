"""Bank OCR giro files: parsing, booking each payment once, the clerk's queue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import netsgiro
import pytest
from django.utils import timezone

from shop import billing
from shop.bankfiles import (
    AlreadyImported,
    BankFileError,
    bank_file_import,
    bank_transaction_resolve,
    import_inbox,
    parse_ocr,
)
from shop.gifts import PERSON, gift_report, gift_report_csv
from shop.models import (
    BankImport,
    BankTransaction,
    Gift,
    Invoice,
    Order,
    OrderStatusChange,
    Payment,
)
from tests.factories import UserFactory

from .factories import configure_seller, make_order

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "ocr"
Outcome = BankTransaction.Outcome
#: A valid test national identity number (checked in the test that uses it).
FNR = "01010012356"
UNKNOWN_KID = "99000000000000018"


def ocr_file(
    payments,
    *,
    transmission: str = "1000001",
    assignment: str = "0000001",
    agreement: str = "001008566",
    day: date | None = None,
) -> bytes:
    """An OCR giro file as Nets writes it, built with netsgiro's writer.

    ``payments``: (kid, amount) or (kid, amount, transaction number) or
    (kid, amount, number, sign) tuples; numbers run on from 1 when not given.
    """
    day = day or timezone.localdate()
    transmission_ = netsgiro.Transmission(
        number=transmission,
        data_transmitter="00008080",
        data_recipient="00010200",
        date=day,
    )
    assignment_ = transmission_.add_assignment(
        service_code=netsgiro.ServiceCode.OCR_GIRO,
        assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
        agreement_id=agreement,
        number=assignment,
        account="86011117947",
        date=day,
    )
    for position, payment in enumerate(payments, start=1):
        kid, amount, number, sign = (*payment, None, None)[:4]
        assignment_.transactions.append(
            netsgiro.Transaction(
                service_code=netsgiro.ServiceCode.OCR_GIRO,
                type=netsgiro.TransactionType.FROM_GIRO_DEBITED_ACCOUNT,
                number=number or position,
                date=day,
                amount=Decimal(amount),
                kid=kid,
                reference="099038562",
                text=None,
                centre_id="13",
                day_code=day.day,
                partial_settlement_number=1,
                partial_settlement_serial_number="01464",
                sign=sign or "0",
                form_number="9636827194",
                bank_date=day,
                debit_account="12345678903",
                filler=None,
            )
        )
    return (transmission_.to_ocr() + "\n").encode("iso-8859-1")


def issued(amount="450.00", *, open_amount=False, **kwargs) -> Invoice:
    return billing.invoice_issue(
        order=make_order(amount=amount, **kwargs), open_amount=open_amount
    )


def counts():
    return (
        Payment.objects.count(),
        BankTransaction.objects.count(),
        Gift.objects.count(),
        BankImport.objects.count(),
    )


@pytest.fixture(autouse=True)
def _seller(db):
    configure_seller()


# Parsing ---------------------------------------------------------------------------


def test_the_real_nets_sample_is_read_to_the_ore():
    parsed = parse_ocr((DATA / "ocr_giro_transactions.txt").read_text("iso-8859-1"))
    assert parsed.transmission_number == "0170031"
    assert len(parsed.records) == 20
    assert parsed.total == Decimal("51449.00")
    first = parsed.records[0]
    assert first.reference == "001008566-0000002-0000001"
    assert first.line == 3
    assert first.kid == "0000531"
    assert first.amount == Decimal("1020.00")
    assert first.date == date(1992, 1, 20)
    assert first.payer_account == "99990512341"
    # A "purchase with text" transaction takes three lines, so the next one is on 6.
    assert parsed.records[1].line == 6
    assert len({r.reference for r in parsed.records}) == 20


def test_the_real_sample_imports_as_unmatched_payments_for_the_clerk():
    result = bank_file_import(
        filename="ocr_giro_transactions.txt",
        content=(DATA / "ocr_giro_transactions.txt").read_bytes(),
    )
    assert result.counts == {Outcome.UNMATCHED: 20}
    assert result.total == Decimal("51449.00")
    assert result.bank_import.transmission_number == "0170031"
    assert Payment.objects.count() == 0


def test_an_avtalegiro_file_is_refused_as_the_wrong_kind_of_file():
    with pytest.raises(BankFileError, match="AvtaleGiro"):
        bank_file_import(
            filename="agreements.txt",
            content=(DATA / "avtalegiro_agreements.txt").read_bytes(),
        )
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\n  \n", "The file is empty."),
        (b"name;amount\nKari;450\n", "not an OCR giro file"),
    ],
)
def test_empty_and_foreign_files_are_refused(content, message):
    with pytest.raises(BankFileError, match=message):
        bank_file_import(filename="x.txt", content=content)
    assert counts() == (0, 0, 0, 0)


def _break_line(content: bytes, number: int, make) -> bytes:
    lines = content.decode("iso-8859-1").splitlines()
    lines[number - 1] = make(lines[number - 1])
    return ("\n".join(lines) + "\n").encode("iso-8859-1")


@pytest.mark.parametrize(
    ("line", "make", "problem"),
    [
        (4, lambda line: line[:6] + "55" + line[8:], "“55” is not a record type"),
        # The amount of the second payment (line 5) with a letter in it.
        (5, lambda line: line[:40] + "4O" + line[42:], "does not fit the layout"),
        (4, lambda line: line[:79], "79 characters long"),
    ],
)
def test_a_malformed_file_names_the_line_and_books_nothing(line, make, problem):
    first, second = issued("450.00"), issued("300.00")
    good = ocr_file([(first.kid, "450.00"), (second.kid, "300.00")])
    with pytest.raises(BankFileError) as refused:
        bank_file_import(filename="broken.txt", content=_break_line(good, line, make))
    assert refused.value.line == line
    assert refused.value.messages[0].startswith(f"Line {line}: ")
    assert problem in refused.value.messages[0]
    assert counts() == (0, 0, 0, 0)
    first.order.refresh_from_db()
    assert first.order.status == Order.Status.OPEN


def test_a_file_whose_totals_do_not_add_up_is_refused():
    invoice = issued("450.00")
    good = ocr_file([(invoice.kid, "450.00")])
    lines = good.decode().splitlines()
    # Drop the payment's two lines: the assignment end still says one payment.
    cut = "\n".join(lines[:2] + lines[4:]).encode()
    with pytest.raises(
        BankFileError,
        match="Line 3: the assignment end gives the number of payments as 1, but the file has 0",
    ):
        bank_file_import(filename="cut.txt", content=cut)
    assert counts() == (0, 0, 0, 0)


# Booking ---------------------------------------------------------------------------


def test_matched_unmatched_over_and_duplicate_are_each_booked_once():
    exact = issued("450.00")
    over = issued("300.00")
    short = issued("200.00")
    first = bank_file_import(
        filename="OCR.20260302.txt",
        content=ocr_file(
            [(exact.kid, "450.00"), (UNKNOWN_KID, "100.00"), (over.kid, "350.00")],
            transmission="1000001",
        ),
    )
    assert first.counts == {
        Outcome.MATCHED: 1,
        Outcome.UNMATCHED: 1,
        Outcome.OVER: 1,
    }
    assert first.total == Decimal("900.00")
    assert first.duplicates == 0
    bank_import = BankImport.objects.get()
    assert bank_import.transmission_number == "1000001"
    assert bank_import.transactions_count == 3
    assert bank_import.total == Decimal("900.00")

    exact.refresh_from_db()
    assert exact.status == Invoice.Status.PAID
    assert exact.order.status == Order.Status.PAID
    payment = exact.payments.get()
    assert payment.state == Payment.State.CONFIRMED
    assert payment.provider == "invoice"
    assert payment.amount == Decimal("450.00")
    assert payment.gateway_id == "001008566-0000001-0000001"
    assert OrderStatusChange.objects.filter(
        order=exact.order, to_status=Order.Status.PAID
    ).exists()

    # Overpaid: the invoice is paid, the 50.00 too much waits for the clerk.
    over.refresh_from_db()
    assert over.order.status == Order.Status.PAID
    assert over.payments.get().amount == Decimal("300.00")
    row = BankTransaction.objects.get(kid=over.kid)
    assert row.outcome == Outcome.OVER
    assert row.amount == Decimal("350.00")
    assert row.payment.amount == Decimal("300.00")

    unmatched = BankTransaction.objects.get(kid=UNKNOWN_KID)
    assert unmatched.outcome == Outcome.UNMATCHED
    assert unmatched.payment is None and unmatched.invoice is None
    assert unmatched.line_number == 5

    # The bank sends the overpayment again in a later transmission, with a new one.
    second = bank_file_import(
        filename="OCR.20260303.txt",
        content=ocr_file(
            [(over.kid, "350.00", 3), (short.kid, "120.00", 4)],
            transmission="1000002",
        ),
    )
    assert second.duplicates == 1
    assert second.counts == {Outcome.SHORT: 1}
    assert second.total == Decimal("120.00")
    assert BankTransaction.objects.count() == 4
    assert Payment.objects.filter(state=Payment.State.CONFIRMED).count() == 3
    assert over.payments.count() == 1
    assert set(
        BankTransaction.objects.filter(
            outcome__in=BankTransaction.NEEDS_ATTENTION
        ).values_list("kid", flat=True)
    ) == {UNKNOWN_KID, over.kid, short.kid}


def test_the_same_file_twice_changes_nothing():
    invoice = issued("450.00")
    content = ocr_file([(invoice.kid, "450.00"), (UNKNOWN_KID, "10.00")])
    bank_file_import(filename="ocr.txt", content=content)
    before = counts()
    with pytest.raises(AlreadyImported) as refused:
        bank_file_import(filename="ocr-copy.txt", content=content)
    message = refused.value.messages[0]
    assert message.startswith("This file was already imported on ")
    assert "ocr.txt" in message
    assert counts() == before == (1, 2, 0, 1)
    assert invoice.payments.get().amount == Decimal("450.00")


def test_a_short_payment_is_kept_and_the_rest_stays_outstanding():
    invoice = issued("450.00")
    result = bank_file_import(
        filename="ocr.txt", content=ocr_file([(invoice.kid, "200.00")])
    )
    assert result.counts == {Outcome.SHORT: 1}
    order = Order.objects.get(pk=invoice.order_id)
    assert order.status == Order.Status.OPEN
    assert billing.order_paid_amount(order) == Decimal("200.00")
    assert billing.order_outstanding(order) == Decimal("250.00")
    assert BankTransaction.objects.get().payment.amount == Decimal("200.00")

    # The rest arrives in the next file: now the order is paid.
    bank_file_import(
        filename="ocr2.txt",
        content=ocr_file(
            [(invoice.kid, "250.00")], transmission="1000002", assignment="0000002"
        ),
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert billing.order_paid_amount(order) == Decimal("450.00")


def test_an_overpayment_on_an_open_amount_invoice_is_a_gift_in_the_report():
    from stdnum.no import fodselsnummer

    assert fodselsnummer.is_valid(FNR)
    invoice = issued(
        "500.00",
        open_amount=True,
        customer_name="Ingrid Hansen",
        customer_identifier=FNR,
    )
    day = timezone.localdate()
    result = bank_file_import(
        filename="ocr.txt", content=ocr_file([(invoice.kid, "750.50")], day=day)
    )
    assert result.counts == {Outcome.GIFT: 1}
    assert result.queued == 0
    invoice.refresh_from_db()
    assert invoice.order.status == Order.Status.PAID
    assert invoice.payments.get().amount == Decimal("500.00")
    gift = Gift.objects.get()
    assert gift.amount == Decimal("250.50")
    assert gift.received_on == day
    assert gift.donor_identifier == FNR
    assert gift.payment == invoice.payments.get()

    (row,) = gift_report(day.year)
    assert (row.donor_name, row.identifier, row.kind) == ("Ingrid Hansen", FNR, PERSON)
    assert row.total == Decimal("250.50")
    assert f"{day.year};F;{FNR};Ingrid Hansen;250.50;NOK" in gift_report_csv(day.year)


def test_a_pending_invoice_attempt_is_the_payment_that_is_confirmed():
    invoice = issued("450.00")
    attempt = billing.payment_create(
        order=invoice.order, provider="invoice", invoice=invoice
    )
    billing.payment_pending(payment=attempt)
    bank_file_import(filename="ocr.txt", content=ocr_file([(invoice.kid, "450.00")]))
    attempt.refresh_from_db()
    assert attempt.state == Payment.State.CONFIRMED
    assert attempt.amount == Decimal("450.00")
    assert attempt.gateway_id == "001008566-0000001-0000001"
    assert Payment.objects.count() == 1
    assert BankTransaction.objects.get().payment == attempt
    assert Order.objects.get(pk=invoice.order_id).status == Order.Status.PAID


def test_two_part_payments_in_one_file_pay_the_order_after_a_pending_attempt():
    """The first part completes the payer's pending "invoice" attempt, the second is
    a new payment; together they pay the order."""
    invoice = issued("450.00")
    attempt = billing.payment_create(
        order=invoice.order, provider="invoice", invoice=invoice
    )
    billing.payment_pending(payment=attempt)
    result = bank_file_import(
        filename="ocr.txt",
        content=ocr_file([(invoice.kid, "200.00"), (invoice.kid, "250.00")]),
    )
    assert result.counts == {Outcome.SHORT: 1, Outcome.MATCHED: 1}
    assert sorted(p.amount for p in Payment.objects.all()) == [
        Decimal("200.00"),
        Decimal("250.00"),
    ]
    order = Order.objects.get(pk=invoice.order_id)
    assert order.status == Order.Status.PAID
    assert billing.order_outstanding(order) == Decimal("0.00")


def test_paying_twice_in_one_file_books_the_first_and_queues_the_second():
    invoice = issued("450.00")
    result = bank_file_import(
        filename="ocr.txt",
        content=ocr_file([(invoice.kid, "450.00"), (invoice.kid, "450.00")]),
    )
    assert result.counts == {Outcome.MATCHED: 1, Outcome.ALREADY_PAID: 1}
    assert Payment.objects.get().amount == Decimal("450.00")


def test_a_payment_on_a_credited_or_paid_invoice_books_nothing():
    credited = issued("450.00")
    billing.credit_note_issue(invoice=credited, reason="Wrong member")
    paid = issued("300.00")
    billing.payment_record_manual(
        order=paid.order, amount=Decimal("300.00"), note="Cash at the AGM", by=None
    )
    result = bank_file_import(
        filename="ocr.txt",
        content=ocr_file([(credited.kid, "450.00"), (paid.kid, "300.00")]),
    )
    assert result.counts == {Outcome.ALREADY_PAID: 2}
    assert Payment.objects.count() == 1  # only the cash payment


def test_money_taken_back_is_queued_and_books_nothing():
    invoice = issued("450.00")
    result = bank_file_import(
        filename="ocr.txt", content=ocr_file([(invoice.kid, "450.00", 1, "-")])
    )
    assert result.counts == {Outcome.UNMATCHED: 1}
    assert BankTransaction.objects.get().amount == Decimal("-450.00")
    assert Payment.objects.count() == 0


# The clerk's queue -------------------------------------------------------------------


def test_the_clerk_books_an_unmatched_payment_on_the_right_invoice():
    clerk = UserFactory()
    invoice = issued("100.00")
    bank_file_import(filename="ocr.txt", content=ocr_file([(UNKNOWN_KID, "100.00")]))
    row = BankTransaction.objects.get()
    with pytest.raises(BankFileError, match="Write a note"):
        bank_transaction_resolve(transaction=row, by=clerk, note="  ", invoice=invoice)

    bank_transaction_resolve(
        transaction=row, by=clerk, note="KID mistyped; member 1234", invoice=invoice
    )
    row.refresh_from_db()
    assert row.outcome == Outcome.RESOLVED
    assert row.resolved_by == clerk and row.resolved_at is not None
    assert row.resolution == "KID mistyped; member 1234"
    assert row.invoice == invoice
    assert row.payment.amount == Decimal("100.00")
    assert row.payment.state == Payment.State.CONFIRMED
    assert Order.objects.get(pk=invoice.order_id).status == Order.Status.PAID

    with pytest.raises(BankFileError, match="already resolved"):
        bank_transaction_resolve(transaction=row, by=clerk, note="again")
    assert Payment.objects.count() == 1


def test_the_excess_of_an_overpayment_is_booked_elsewhere_or_noted():
    clerk = UserFactory()
    over = issued("300.00")
    other = issued("50.00")
    small = issued("20.00")
    bank_file_import(filename="ocr.txt", content=ocr_file([(over.kid, "350.00")]))
    row = BankTransaction.objects.get()

    with pytest.raises(BankFileError, match="more than the 20.00 NOK owed"):
        bank_transaction_resolve(transaction=row, by=clerk, note="x", invoice=small)
    bank_transaction_resolve(
        transaction=row, by=clerk, note="Paid her husband's dues too", invoice=other
    )
    row.refresh_from_db()
    assert row.outcome == Outcome.RESOLVED
    assert row.payment.amount == Decimal("300.00")  # the first booking stays
    excess = other.payments.get()
    assert excess.amount == Decimal("50.00")
    assert excess.note == "Paid her husband's dues too"
    assert Order.objects.get(pk=other.order_id).status == Order.Status.PAID


def test_a_short_payment_is_resolved_with_a_note_only():
    clerk = UserFactory()
    invoice = issued("450.00")
    bank_file_import(filename="ocr.txt", content=ocr_file([(invoice.kid, "400.00")]))
    row = BankTransaction.objects.get()
    with pytest.raises(BankFileError, match="Nothing of this payment is left"):
        bank_transaction_resolve(transaction=row, by=clerk, note="x", invoice=invoice)
    bank_transaction_resolve(transaction=row, by=clerk, note="Reminder sent for 50")
    row.refresh_from_db()
    assert row.outcome == Outcome.RESOLVED
    assert Payment.objects.get().amount == Decimal("400.00")


def test_a_matched_payment_needs_no_resolution():
    invoice = issued("450.00")
    bank_file_import(filename="ocr.txt", content=ocr_file([(invoice.kid, "450.00")]))
    with pytest.raises(BankFileError, match="needs no attention"):
        bank_transaction_resolve(
            transaction=BankTransaction.objects.get(), by=None, note="x"
        )


# The inbox -------------------------------------------------------------------------


def test_the_inbox_imports_good_files_and_sets_bad_ones_aside(tmp_path, settings):
    settings.GUILDHALL_OCR_INBOX = tmp_path
    invoice = issued("450.00")
    good = ocr_file([(invoice.kid, "450.00")])
    (tmp_path / "OCR.0001.txt").write_bytes(good)
    (tmp_path / "OCR.0002.txt").write_bytes(
        (DATA / "avtalegiro_agreements.txt").read_bytes()
    )
    (tmp_path / "OCR.0003.txt.part").write_bytes(b"NY00")

    from shop.tasks import import_ocr_inbox

    summary = import_ocr_inbox.delay(min_age_seconds=0).get()
    assert summary == {"imported": 1, "already_imported": 0, "failed": 1}
    assert (tmp_path / "imported" / "OCR.0001.txt").read_bytes() == good
    assert (tmp_path / "failed" / "OCR.0002.txt").exists()
    error = (tmp_path / "failed" / "OCR.0002.txt.error.txt").read_text()
    assert "AvtaleGiro" in error
    assert (tmp_path / "OCR.0003.txt.part").exists()  # still being uploaded
    assert Order.objects.get(pk=invoice.order_id).status == Order.Status.PAID

    # Running again finds nothing new; the bank dropping the same file again
    # books nothing and files it with the imported ones.
    assert import_inbox(tmp_path) == []
    (tmp_path / "OCR.0001.txt").write_bytes(good)
    (entry,) = import_inbox(tmp_path)
    assert "already imported" in entry.error
    assert (tmp_path / "imported" / "OCR.0001-2.txt").exists()
    assert counts() == (1, 1, 0, 1)
