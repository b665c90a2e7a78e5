"""Billing admin: invoice PDFs, sending again, letters to post and dispute threads."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from shop import billing
from shop.disputes import invoice_comment_add
from shop.models import Invoice, InvoiceComment
from tests.factories import StaffUserFactory, visible_text

from .factories import configure_seller, make_order
from .test_pdf import pdf_text

pytestmark = pytest.mark.django_db


def staff_with(*codenames):
    user = StaffUserFactory()
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="shop", codename=codename)
        )
    return user


@pytest.fixture
def invoice(db):
    configure_seller()
    return billing.invoice_issue(order=make_order(amount="450.00"))


@pytest.fixture
def letter(db):
    configure_seller()
    return billing.invoice_issue(
        order=make_order(customer_name="Ola Brev", by_post=True)
    )


@pytest.fixture
def clerk_client(verified_client):
    return verified_client(staff_with("view_invoice", "change_invoice"))


def urls_for(invoice):
    return {
        "get": [
            reverse("shop_invoice_pdf", args=[invoice.pk]),
            reverse("shop_invoice_thread", args=[invoice.pk]),
            reverse("shop_letters_to_post"),
            reverse("shop_disputes"),
            reverse("shop_disputes:index_results"),
            reverse("shop_disputes") + "?export=csv",
        ],
        "post": [
            reverse("shop_invoice_resend", args=[invoice.pk]),
            reverse("shop_letter_posted", args=[invoice.pk]),
            reverse("shop_invoice_thread", args=[invoice.pk]),
        ],
    }


def test_staff_without_invoice_permissions_are_refused(verified_client, invoice):
    client = verified_client(StaffUserFactory())
    urls = urls_for(invoice)
    for url in urls["get"]:
        assert client.get(url).status_code == 403, url
    for url in urls["post"]:
        assert client.post(url, {"body": "x"}).status_code == 403, url
    assert mail.outbox == []
    assert not InvoiceComment.objects.exists()


def test_viewers_may_look_but_not_send_post_or_answer(
    verified_client, invoice, django_capture_on_commit_callbacks
):
    client = verified_client(staff_with("view_invoice"))
    for url in urls_for(invoice)["get"]:
        assert client.get(url).status_code == 200, url
    with django_capture_on_commit_callbacks(execute=True):
        for url in urls_for(invoice)["post"]:
            assert client.post(url, {"body": "x"}).status_code == 403, url
    assert mail.outbox == []
    assert not InvoiceComment.objects.exists()
    thread = client.get(reverse("shop_invoice_thread", args=[invoice.pk]))
    assert "Send answer" not in thread.text


def test_anonymous_visitors_are_sent_to_sign_in(client, invoice):
    response = client.get(reverse("shop_invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_clerk_downloads_the_pdf(clerk_client, invoice):
    response = clerk_client.get(reverse("shop_invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.display_number}.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert invoice.kid in text and "450.00" in text


def test_clerk_sends_an_invoice_again(
    clerk_client, invoice, django_capture_on_commit_callbacks
):
    url = reverse("shop_invoice_resend", args=[invoice.pk])
    ask = clerk_client.get(url)
    assert ask.status_code == 200
    assert (
        f"E-mail {invoice.display_number} with its PDF and pay link to kari@example.org?"
        in visible_text(ask)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(url, follow=True)

    assert response.status_code == 200
    assert (
        f"Invoice {invoice.display_number} is being e-mailed to kari@example.org."
        in response.text
    )
    [message] = mail.outbox
    assert message.to == ["kari@example.org"]
    assert message.attachments[0][0] == f"{invoice.display_number}.pdf"
    invoice.refresh_from_db()
    assert invoice.sent_at is not None


def test_resend_returns_to_a_safe_next_page_only(
    clerk_client, invoice, django_capture_on_commit_callbacks
):
    url = reverse("shop_invoice_resend", args=[invoice.pk])
    with django_capture_on_commit_callbacks(execute=True):
        inside = clerk_client.post(url + "?next=/admin/billing/letters/")
        outside = clerk_client.post(url + "?next=https://evil.example/")
    assert inside.url == "/admin/billing/letters/"
    assert outside.url == reverse("shop_invoice_thread", args=[invoice.pk])


def test_letters_to_post_are_listed_printed_and_marked_posted(
    clerk_client, letter, invoice
):
    page = clerk_client.get(reverse("shop_letters_to_post"))
    text = visible_text(page)
    assert letter.display_number in text and "Ola Brev" in text
    assert invoice.display_number not in text  # e-mailed invoices are not letters
    pdf_url = reverse("shop_invoice_pdf", args=[letter.pk])
    assert pdf_url in page.text
    assert letter.kid in pdf_text(clerk_client.get(pdf_url).content)

    posted = clerk_client.post(
        reverse("shop_letter_posted", args=[letter.pk]), follow=True
    )
    assert f"The letter for {letter.display_number} is marked as posted." in posted.text
    assert "No letters are waiting to be posted." in posted.text
    letter.refresh_from_db()
    assert letter.sent_at is not None


def test_the_billing_menu_offers_letters_and_disputes(clerk_client):
    response = clerk_client.get("/admin/")
    assert reverse("shop_letters_to_post") in response.text
    assert reverse("shop_disputes") in response.text


@pytest.fixture
def threads(superuser):
    """Three invoices with threads (one awaiting an answer, one answered, one
    question without a dispute) and one invoice nobody wrote about."""
    configure_seller()
    answered = billing.invoice_issue(
        order=make_order(customer_name="Answered Anna", amount="300.00")
    )
    waiting = billing.invoice_issue(
        order=make_order(
            customer_name="Waiting Will", customer_email="will@example.org"
        )
    )
    question = billing.invoice_issue(order=make_order(customer_name="Curious Cora"))
    billing.invoice_issue(order=make_order(customer_name="Quiet Quentin"))
    invoice_comment_add(
        invoice=waiting, author=None, body="Too much!", from_staff=False, disputes=True
    )
    invoice_comment_add(
        invoice=answered, author=None, body="Wrong", from_staff=False, disputes=True
    )
    invoice_comment_add(invoice=answered, author=superuser, body="No", from_staff=True)
    invoice_comment_add(
        invoice=question, author=None, body="Can I pay later?", from_staff=False
    )
    return {"answered": answered, "waiting": waiting, "question": question}


def listed(client, **params):
    response = client.get(reverse("shop_disputes"), params)
    assert response.status_code == 200
    return [invoice.pk for invoice in response.context["object_list"]]


def test_disputes_list_puts_open_disputes_first(verified_client, superuser, threads):
    response = verified_client(superuser).get(reverse("shop_disputes"))
    text = visible_text(response)

    assert text.index("Waiting Will") < text.index("Answered Anna")
    assert "Quiet Quentin" not in text
    assert "Disputed, awaiting answer" in text
    assert "300.00 NOK" in text
    thread_url = reverse("shop_invoice_thread", args=[threads["waiting"].pk])
    assert f'href="{thread_url}"' in response.text
    assert reverse("shop_disputes:index") == reverse("shop_disputes")


def test_an_empty_disputes_list_says_so(clerk_client, invoice):
    text = visible_text(clerk_client.get(reverse("shop_disputes")))
    assert "No invoice has any messages." in text


def test_disputes_are_found_by_buyer_number_or_kid(clerk_client, threads):
    waiting = threads["waiting"]

    assert listed(clerk_client, q="waiting will") == [waiting.pk]
    assert listed(clerk_client, q="will@example") == [waiting.pk]
    assert listed(clerk_client, q=waiting.display_number) == [waiting.pk]
    assert listed(clerk_client, q=waiting.kid) == [waiting.pk]
    assert listed(clerk_client, q="Quiet Quentin") == []


def test_disputes_are_filtered_by_state_and_date_of_last_message(clerk_client, threads):
    assert listed(clerk_client, state="open") == [threads["waiting"].pk]
    assert set(listed(clerk_client, state="answered")) == {
        threads["answered"].pk,
        threads["question"].pk,
    }
    assert len(listed(clerk_client)) == 3

    InvoiceComment.objects.filter(invoice=threads["question"]).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert threads["question"].pk not in listed(
        clerk_client, last_message_at_from=since
    )
    assert len(listed(clerk_client, last_message_at_from=since)) == 2
    assert listed(clerk_client, state="answered", last_message_at_to=since) == [
        threads["question"].pk
    ]


def test_disputes_export_csv_and_xlsx(clerk_client, threads):
    index = reverse("shop_disputes")

    response = clerk_client.get(index, {"export": "csv", "state": "answered"})
    assert response["Content-Disposition"] == 'attachment; filename="disputes.csv"'
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    )
    by_number = {row["Invoice"]: row for row in rows}
    assert set(by_number) == {
        threads["answered"].display_number,
        threads["question"].display_number,
    }
    answered = by_number[threads["answered"].display_number]
    assert answered["Buyer"] == "Answered Anna"
    assert answered["Total"] == "300.00"
    assert answered["Messages"] == "2"
    assert answered["State"] == "Answered"

    xlsx = clerk_client.get(index, {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    header, *rows = list(sheet.values)
    assert len(rows) == 3
    first = rows[0]  # the list's order: the open dispute first
    assert first[header.index("Invoice")] == threads["waiting"].display_number
    assert first[header.index("State")] == "Disputed, awaiting answer"
    assert first[header.index("Messages")] == 1
    assert first[header.index("KID")] == threads["waiting"].kid


def test_disputes_list_query_count_does_not_grow_with_the_number_of_threads(
    clerk_client,
):
    configure_seller()

    def add(n):
        for _ in range(n):
            invoice = billing.invoice_issue(order=make_order())
            invoice_comment_add(
                invoice=invoice, author=None, body="Why?", from_staff=False
            )

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = clerk_client.get(reverse("shop_disputes"))
        assert response.status_code == 200
        return len(queries), len(response.context["object_list"])

    add(3)
    clerk_client.get(reverse("shop_disputes"))  # warm up: session, content types
    with_three, listed_three = count_queries()
    add(12)
    with_fifteen, listed_fifteen = count_queries()
    assert (listed_three, listed_fifteen) == (3, 15)
    assert with_fifteen == with_three
    assert Invoice.objects.count() == 15


def test_clerk_answers_in_the_thread(
    clerk_client, invoice, django_capture_on_commit_callbacks
):
    invoice_comment_add(
        invoice=invoice,
        author=None,
        body="I was not a member last year.",
        from_staff=False,
        disputes=True,
    )
    url = reverse("shop_invoice_thread", args=[invoice.pk])
    page = clerk_client.get(url)
    assert "I was not a member last year." in page.text
    assert "Reminders wait until you answer." in page.text

    with django_capture_on_commit_callbacks(execute=True):
        response = clerk_client.post(
            url, {"body": "You joined in March; see the receipt."}, follow=True
        )

    assert "Your answer is saved and e-mailed to Kari Nordmann." in response.text
    assert "You joined in March; see the receipt." in response.text
    assert "Reminders wait until you answer." not in response.text
    [message] = mail.outbox
    assert message.to == ["kari@example.org"]
    assert "You joined in March; see the receipt." in message.body


def test_an_empty_answer_is_refused_with_a_message(clerk_client, invoice):
    url = reverse("shop_invoice_thread", args=[invoice.pk])
    response = clerk_client.post(url, {"body": "   "})
    assert response.status_code == 200
    assert "The answer could not be saved. See below." in response.text
    assert "This field is required." in response.text
    assert not InvoiceComment.objects.exists()


def test_unknown_invoice_is_not_found(clerk_client):
    assert (
        clerk_client.get(reverse("shop_invoice_pdf", args=[999999])).status_code == 404
    )
