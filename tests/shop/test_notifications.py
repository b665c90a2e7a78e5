"""Sending invoices: by e-mail with the PDF and the pay link, or as a letter to post."""

import re

import pytest
from celery.exceptions import Retry
from django.core import mail

from shop import billing
from shop.models import BillingSettings, Invoice
from shop.notifications import (
    invoice_send,
    letter_mark_posted,
    letters_to_post,
    notify_staff,
    staff_recipients,
)
from shop.tasks import invoice_email

from .factories import configure_seller, make_order
from .test_pdf import pdf_text

pytestmark = pytest.mark.django_db


def issued(**kwargs) -> Invoice:
    return billing.invoice_issue(order=make_order(**kwargs))


def test_invoice_email_goes_out_once_after_commit_with_pdf_and_pay_link(
    client, django_capture_on_commit_callbacks
):
    configure_seller()
    invoice = issued(amount="450.00")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_send(invoice=invoice)
    assert mail.outbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["kari@example.org"]
    assert message.reply_to == ["billing@guild.example"]
    assert message.subject == f"Invoice {invoice.display_number} from Makers' Guild"
    assert "450.00 NOK" in message.body
    assert invoice.kid in message.body
    [(filename, content, mimetype)] = message.attachments
    assert filename == f"{invoice.display_number}.pdf"
    assert mimetype == "application/pdf"
    text = pdf_text(content)
    assert invoice.kid in text and "450.00" in text
    invoice.refresh_from_db()
    assert invoice.sent_at is not None

    # The pay link in the e-mail opens the order's pay page.
    link = re.search(r"http://testserver(/shop/pay/\S+/)", message.body).group(1)
    page = client.get(link)
    assert page.status_code == 200
    assert invoice.order.code in page.text
    assert "450.00" in page.text


def test_norwegian_buyer_gets_norwegian_amounts(django_capture_on_commit_callbacks):
    configure_seller()
    invoice = issued(amount="450.00", language="nb")
    with django_capture_on_commit_callbacks(execute=True):
        invoice_send(invoice=invoice)
    assert "450,00 NOK" in mail.outbox[0].body
    assert invoice.due_date.strftime("%d.%m.%Y") in mail.outbox[0].body


def test_credit_note_email_says_which_invoice_it_cancels(
    django_capture_on_commit_callbacks,
):
    configure_seller()
    invoice = issued()
    note = billing.credit_note_issue(invoice=invoice, reason="Duplicate")
    with django_capture_on_commit_callbacks(execute=True):
        invoice_send(invoice=note)
    message = mail.outbox[0]
    assert message.subject.startswith(f"Credit note {note.display_number}")
    assert f"cancels invoice {invoice.display_number}" in message.body
    assert "Duplicate" in message.body
    assert "/shop/pay/" not in message.body  # nothing to pay


def test_a_mail_server_failure_is_retried_a_bounded_number_of_times(
    monkeypatch, django_capture_on_commit_callbacks
):
    configure_seller()
    invoice = issued()
    attempts = []

    def refuse(self, *args, **kwargs):
        attempts.append(1)
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    # The first failure schedules a retry …
    with (
        pytest.raises(Retry),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invoice_send(invoice=invoice)
    # … and after the fifth retry the task gives up with the server's error.
    with pytest.raises(ConnectionRefusedError):
        invoice_email.apply(args=[invoice.pk], retries=5)
    assert len(attempts) == 2
    invoice.refresh_from_db()
    assert invoice.sent_at is None


def test_invoice_without_email_address_is_refused_with_a_clear_message():
    configure_seller()
    invoice = issued()
    Invoice.objects.filter(pk=invoice.pk).update(buyer_email="")
    invoice.refresh_from_db()
    with pytest.raises(billing.BillingError) as error:
        invoice_send(invoice=invoice)
    assert error.value.messages == [
        f"Invoice {invoice.display_number} has no e-mail address to send it to."
    ]


def test_letters_wait_to_be_posted_until_marked_posted(
    django_capture_on_commit_callbacks,
):
    configure_seller()
    letter = issued(by_post=True)
    emailed = issued(customer_name="Ola Nordmann")
    assert letter.delivery == Invoice.Delivery.POST

    assert list(letters_to_post()) == [letter]

    assert letter_mark_posted(invoice=letter) is True
    assert list(letters_to_post()) == []
    assert letter_mark_posted(invoice=letter) is False  # already posted

    # Sending again puts it back in the pile; no e-mail is sent for a letter.
    with django_capture_on_commit_callbacks(execute=True):
        invoice_send(invoice=letter)
    assert list(letters_to_post()) == [letter]
    assert mail.outbox == []
    assert emailed not in letters_to_post()


def test_paid_letters_are_not_posted_but_credit_notes_are():
    configure_seller()
    paid = issued(by_post=True)
    billing.payment_record_manual(
        order=paid.order, amount=paid.total, note="Cash", by=None
    )
    credited = issued(by_post=True, customer_name="Per")
    note = billing.credit_note_issue(invoice=credited, reason="Wrong person")
    assert list(letters_to_post()) == [note]


def test_staff_notices_go_to_the_billing_address(
    settings, django_capture_on_commit_callbacks
):
    configure_seller(email="accounts@guild.example")
    with django_capture_on_commit_callbacks(execute=True):
        notify_staff("Something to look at", "Details")
    assert [m.to for m in mail.outbox] == [["accounts@guild.example"]]
    assert mail.outbox[0].subject == "Something to look at"


def test_staff_notices_fall_back_to_admins_then_the_sender(settings):
    billing_settings = BillingSettings.load()
    billing_settings.email = ""
    billing_settings.save()
    settings.ADMINS = [("Boss", "boss@guild.example")]
    assert staff_recipients() == ["boss@guild.example"]
    settings.ADMINS = []
    settings.DEFAULT_FROM_EMAIL = "site@guild.example"
    assert staff_recipients() == ["site@guild.example"]
