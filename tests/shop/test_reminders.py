"""The daily reminder run: once per step, with its fee, until staff take over."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail

from shop import billing
from shop.disputes import invoice_comment_add
from shop.models import Invoice, InvoiceSeries, OrderLine, Reminder, ReminderStep
from shop.notifications import letter_mark_posted, letter_reminder, letters_to_post
from shop.reminders import reminders_run
from shop.tasks import send_reminders
from tests.factories import StaffUserFactory

from .factories import configure_seller, make_order
from .test_pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def series(db):
    configure_seller()
    series = InvoiceSeries.objects.create(
        name="Dues", prefix="K", kid_prefix=5, is_default=True
    )
    ReminderStep.objects.create(
        series=series, days_after_due=14, fee=Decimal("35.00"), new_due_days=14
    )
    ReminderStep.objects.create(
        series=series, days_after_due=28, fee=Decimal("0.00"), new_due_days=10
    )
    ReminderStep.objects.create(
        series=series, days_after_due=42, action=ReminderStep.Action.STAFF
    )
    return series


def issued(series, **kwargs) -> Invoice:
    return billing.invoice_issue(order=make_order(**kwargs), series=series)


def run(day, capture):
    with capture(execute=True):
        return reminders_run(today=day)


def test_first_reminder_goes_out_once_with_its_fee(
    series, client, django_capture_on_commit_callbacks
):
    invoice = issued(series, amount="450.00")
    due = invoice.due_date

    early = run(due + timedelta(days=13), django_capture_on_commit_callbacks)
    assert early.reminded == 0 and mail.outbox == []

    first = run(due + timedelta(days=15), django_capture_on_commit_callbacks)
    again = run(due + timedelta(days=15), django_capture_on_commit_callbacks)

    assert (first.emailed, again.emailed) == (1, 0)
    assert len(mail.outbox) == 1
    reminder = Reminder.objects.get(invoice=invoice)
    assert reminder.level == 1
    assert reminder.channel == Reminder.Channel.EMAIL
    assert reminder.fee == Decimal("35.00")
    assert reminder.new_due_date == due + timedelta(days=15 + 14)
    invoice.refresh_from_db()
    assert invoice.reminder_level == 1
    assert invoice.total == Decimal("450.00")  # the issued invoice is never edited
    order = invoice.order
    order.refresh_from_db()
    assert order.total == Decimal("485.00")
    fee = order.lines.get(kind=OrderLine.Kind.REMINDER_FEE)
    assert fee.total == Decimal("35.00")
    assert fee.description == f"Reminder fee (invoice {invoice.display_number})"
    assert billing.order_outstanding(order) == Decimal("485.00")

    message = mail.outbox[0]
    assert message.to == ["kari@example.org"]
    assert message.subject.startswith(f"Reminder: invoice {invoice.display_number}")
    assert "485.00 NOK" in message.body
    assert "including a reminder fee of 35.00 NOK" in message.body
    [(filename, content, mimetype)] = message.attachments
    assert (
        filename == f"{invoice.display_number}-1.pdf" and mimetype == "application/pdf"
    )
    assert "Please pay 485.00 NOK" in pdf_text(content)
    link = message.body.split("http://testserver", 1)[1].split()[0]
    page = client.get(link)
    assert page.status_code == 200 and "485.00" in page.text


def test_the_whole_schedule_ends_with_staff(
    series, settings, django_capture_on_commit_callbacks
):
    invoice = issued(series, amount="450.00")
    due = invoice.due_date

    run(due + timedelta(days=15), django_capture_on_commit_callbacks)
    second = run(due + timedelta(days=29), django_capture_on_commit_callbacks)
    assert second.emailed == 1
    handover = run(due + timedelta(days=43), django_capture_on_commit_callbacks)
    assert handover.handed_over == 1
    after = run(due + timedelta(days=60), django_capture_on_commit_callbacks)
    assert after.checked == 0

    invoice.refresh_from_db()
    assert invoice.handed_to_staff_at is not None
    assert invoice.reminder_level == 3
    assert list(invoice.reminders.values_list("level", "channel", "fee")) == [
        (1, "email", Decimal("35.00")),
        (2, "email", Decimal("0.00")),
        (3, "staff", Decimal("0.00")),
    ]
    invoice.order.refresh_from_db()
    assert invoice.order.total == Decimal("485.00")  # the second step has no fee
    assert [m.to for m in mail.outbox] == [
        ["kari@example.org"],
        ["kari@example.org"],
        ["billing@guild.example"],
    ]
    staff_mail = mail.outbox[2]
    assert invoice.display_number in staff_mail.subject
    assert "handed over to staff" in staff_mail.subject
    assert "485.00" in staff_mail.body
    assert f"/admin/billing/invoices/{invoice.pk}/thread/" in staff_mail.body


def test_a_late_run_takes_one_step_at_a_time(
    series, django_capture_on_commit_callbacks
):
    invoice = issued(series)
    summary = run(
        invoice.due_date + timedelta(days=50), django_capture_on_commit_callbacks
    )
    assert summary.emailed == 1
    invoice.refresh_from_db()
    assert invoice.reminder_level == 1


def test_paid_credited_and_not_yet_due_invoices_are_not_reminded(
    series, django_capture_on_commit_callbacks
):
    paid = issued(series, customer_name="Paid")
    billing.payment_record_manual(
        order=paid.order, amount=paid.total, note="Cash", by=None
    )
    credited = issued(series, customer_name="Credited")
    billing.credit_note_issue(invoice=credited, reason="Cancelled")
    summary = run(
        paid.due_date + timedelta(days=15), django_capture_on_commit_callbacks
    )
    assert summary.checked == 0
    assert not Reminder.objects.exists()
    assert mail.outbox == []
    paid.order.refresh_from_db()
    assert paid.order.total == Decimal("450.00")


def test_a_disputed_invoice_waits_until_staff_answer(
    series, django_capture_on_commit_callbacks
):
    invoice = issued(series)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_comment_add(
            invoice=invoice,
            author=None,
            body="I cancelled my membership in December.",
            from_staff=False,
            disputes=True,
        )
    mail.outbox.clear()
    day = invoice.due_date + timedelta(days=15)

    paused = run(day, django_capture_on_commit_callbacks)
    assert paused.disputed == 1 and paused.reminded == 0
    assert not Reminder.objects.exists()
    assert mail.outbox == []

    clerk = StaffUserFactory()
    clerk.user_permissions.add(Permission.objects.get(codename="change_invoice"))
    with django_capture_on_commit_callbacks(execute=True):
        invoice_comment_add(
            invoice=invoice,
            author=clerk,
            body="We have no cancellation on file; the invoice stands.",
            from_staff=True,
        )
    resumed = run(day, django_capture_on_commit_callbacks)
    assert resumed.emailed == 1
    assert Reminder.objects.filter(invoice=invoice, level=1).exists()


def test_letter_invoices_get_reminder_letters_to_post(
    series, django_capture_on_commit_callbacks
):
    invoice = issued(series, by_post=True)
    letter_mark_posted(invoice=invoice)  # the invoice itself was posted
    assert list(letters_to_post()) == []

    summary = run(
        invoice.due_date + timedelta(days=15), django_capture_on_commit_callbacks
    )

    assert summary.letters == 1 and summary.emailed == 0
    assert mail.outbox == []
    reminder = Reminder.objects.get(invoice=invoice)
    assert reminder.channel == Reminder.Channel.LETTER
    assert list(letters_to_post()) == [invoice]
    assert letter_reminder(invoice) == reminder
    assert letter_mark_posted(invoice=invoice) is True
    assert list(letters_to_post()) == []


def test_series_without_a_schedule_sends_nothing(django_capture_on_commit_callbacks):
    configure_seller()
    quiet = InvoiceSeries.objects.create(name="Shop", prefix="S", kid_prefix=9)
    invoice = billing.invoice_issue(order=make_order(), series=quiet)
    summary = run(
        invoice.due_date + timedelta(days=100), django_capture_on_commit_callbacks
    )
    assert summary.checked == 0 and not Reminder.objects.exists()


def test_the_default_series_charges_70_at_the_second_reminder_then_staff(
    django_capture_on_commit_callbacks,
):
    configure_seller()
    invoice = billing.invoice_issue(order=make_order())
    assert invoice.series.prefix == "F"
    for days in (14, 28, 42):
        run(invoice.due_date + timedelta(days=days), django_capture_on_commit_callbacks)
    invoice.refresh_from_db()
    assert invoice.reminder_level == 3
    assert invoice.handed_to_staff_at is not None
    invoice.order.refresh_from_db()
    assert invoice.order.total == Decimal("520.00")  # 450.00 + the 70.00 fee
    assert [r.fee for r in invoice.reminders.all()] == [
        Decimal("0.00"),
        Decimal("70.00"),
        Decimal("0.00"),
    ]


def test_the_daily_task_reports_what_it_did(series, django_capture_on_commit_callbacks):
    invoice = issued(series)
    Invoice.objects.filter(pk=invoice.pk).update(
        due_date=invoice.due_date - timedelta(days=60)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = send_reminders()
    assert result == {
        "checked": 1,
        "emailed": 1,
        "letters": 0,
        "handed_over": 0,
        "disputed": 0,
        "failed": 0,
    }
    assert len(mail.outbox) == 1
