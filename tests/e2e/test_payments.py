"""A payer's journeys in a real browser: paying through the sandbox, choosing to pay
by invoice and fetching its PDF, and the reminder that follows an unpaid invoice."""

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shop import billing
from shop.models import Invoice, Order, Reminder
from shop.paylinks import pay_path
from shop.reminders import reminders_run
from tests.factories import TEST_PASSWORD, SuperUserFactory, totp_token
from tests.shop.factories import configure_seller, make_order
from tests.shop.test_pdf import pdf_text

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for_mail(outbox, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return outbox


def test_payer_pays_through_the_sandbox(page, transactional_db):
    configure_seller()
    order = make_order(amount="450.00")

    page.goto(pay_path(order))
    expect(
        page.get_by_role("heading", level=1, name=f"Order {order.code}")
    ).to_be_visible()
    page.get_by_label("Test payment (sandbox)").check()
    page.get_by_role("button", name="Pay 450.00 NOK").click()

    expect(page.get_by_text("TEST ONLY — no money moves.")).to_be_visible()
    page.get_by_role("button", name="Approve the payment").click()

    expect(
        page.get_by_text("Thank you! Your payment has been received.")
    ).to_be_visible()
    expect(page.get_by_text("This order is paid. Thank you!")).to_be_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_payer_chooses_invoice_downloads_the_pdf_and_is_reminded(
    page, new_page, transactional_db, mailoutbox
):
    configure_seller()
    order = make_order(amount="450.00", by_post=False)

    page.goto(pay_path(order))
    page.get_by_label("Invoice").check()
    page.get_by_role("button", name="Pay 450.00 NOK").click()

    invoice = Invoice.objects.get(order=order)
    expect(
        page.get_by_role("heading", level=1, name=f"Invoice {invoice.display_number}")
    ).to_be_visible()
    expect(page.locator(".kid")).to_have_text(invoice.kid)

    # The PDF link on the page serves the invoice as a PDF.
    link = page.get_by_role("link", name="Download the invoice (PDF)")
    href = link.get_attribute("href")
    assert href.endswith(f"/invoices/{invoice.pk}.pdf")
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        f'filename="{invoice.display_number}.pdf"'
        in (response.headers["content-disposition"])
    )
    text = pdf_text(response.body())
    assert invoice.kid in text
    assert "450.00" in text
    assert "8601.11.17947" in text

    # The pay page lists the invoice with its PDF.
    page.goto(pay_path(order))
    expect(
        page.get_by_role("link", name=f"PDF of {invoice.display_number}")
    ).to_be_visible()

    # Unpaid after the due date: the daily run reminds once, by e-mail.
    day = invoice.due_date + timedelta(days=15)
    assert reminders_run(today=day).emailed == 1
    assert reminders_run(today=day).emailed == 0
    wait_for_mail(mailoutbox, 1)
    assert len(mailoutbox) == 1
    reminder_mail = mailoutbox[0]
    assert reminder_mail.to == ["kari@example.org"]
    assert reminder_mail.subject.startswith(
        f"Reminder: invoice {invoice.display_number}"
    )
    assert "450.00 NOK" in reminder_mail.body
    assert Reminder.objects.filter(invoice=invoice).count() == 1

    # Its pay link opens the order in the payer's browser.
    link = re.search(r"https?://[^/\s]+(/shop/pay/\S+/)", reminder_mail.body).group(1)
    payer = new_page()
    payer.goto(link)
    expect(
        payer.get_by_role("heading", level=1, name=f"Order {order.code}")
    ).to_be_visible()
    expect(payer.locator(".invoice-list")).to_contain_text(invoice.kid)


def test_clerk_finds_the_reminder_letter_to_post(page, transactional_db):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    configure_seller()
    order = make_order(
        amount="450.00", customer_name="Ola Brev", customer_email="", by_post=True
    )
    invoice = billing.invoice_issue(order=order)
    assert invoice.delivery == Invoice.Delivery.POST
    assert reminders_run(today=invoice.due_date + timedelta(days=15)).letters == 1

    clerk = SuperUserFactory()
    device = TOTPDevice.objects.create(user=clerk, name="Phone", confirmed=True)
    page.goto("/admin/login/")
    page.get_by_label("E-mail").fill(clerk.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(totp_token(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))

    page.goto("/admin/billing/letters/")
    expect(page.get_by_role("heading", name="Letters to post")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=invoice.display_number)
    expect(row).to_contain_text("Reminder 1")
    expect(row).to_contain_text("Ola Brev")

    pdf_href = row.get_by_role("link", name=f"PDF of {invoice.display_number}")
    response = page.request.get(pdf_href.get_attribute("href"))
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body())
    assert "Payment reminder" in text and invoice.kid in text

    row.get_by_role("button", name="Mark as posted").click()
    expect(
        page.get_by_text(
            f"The letter for {invoice.display_number} is marked as posted."
        )
    ).to_be_visible()
    expect(page.get_by_text("No letters are waiting to be posted.")).to_be_visible()
