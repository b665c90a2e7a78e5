"""Billing admin: importing a bank file, the clerk's queue and the gift report."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from shop import billing
from shop.models import BankImport, BankTransaction, Gift, Order, Payment
from tests.factories import StaffUserFactory

from .factories import configure_seller, make_order
from .test_bankfiles import FNR, UNKNOWN_KID, ocr_file

pytestmark = pytest.mark.django_db
Outcome = BankTransaction.Outcome


def staff_with(*codenames):
    user = StaffUserFactory()
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="shop", codename=codename)
        )
    return user


@pytest.fixture
def admin_client(verified_client, superuser):
    return verified_client(superuser)


@pytest.fixture
def invoices(db):
    configure_seller()
    return [
        billing.invoice_issue(order=make_order(amount=amount))
        for amount in ("450.00", "300.00", "100.00")
    ]


def upload(content: bytes, name="OCR.20260302.txt"):
    return SimpleUploadedFile(name, content, content_type="text/plain")


def queue_import(invoices):
    exact, over, _ = invoices
    from shop.bankfiles import bank_file_import

    return bank_file_import(
        filename="ocr.txt",
        content=ocr_file(
            [(exact.kid, "450.00"), (over.kid, "350.00"), (UNKNOWN_KID, "100.00")]
        ),
    )


def test_import_shows_the_counts_per_outcome(admin_client, invoices):
    exact, over, _ = invoices
    content = ocr_file(
        [(exact.kid, "450.00"), (over.kid, "350.00"), (UNKNOWN_KID, "100.00")]
    )
    response = admin_client.post(reverse("shop_bank_import"), {"file": upload(content)})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<tr data-outcome="matched"><td>Paid in full</td><td>1</td></tr>' in page
    assert '<tr data-outcome="over"><td>Paid too much</td><td>1</td></tr>' in page
    assert (
        '<tr data-outcome="unmatched"><td>No invoice with this KID</td><td>1</td>'
        in page
    )
    assert "2 payments need attention" in page
    assert response.context["result"].total == Decimal("900.00")
    assert Order.objects.get(pk=exact.order_id).status == Order.Status.PAID
    assert BankImport.objects.get().imported_by == response.wsgi_request.user


def test_a_malformed_upload_shows_the_line_and_books_nothing(admin_client, invoices):
    content = ocr_file([(invoices[0].kid, "450.00")]).decode().splitlines()
    content[2] = content[2][:40] + "AB" + content[2][42:]
    response = admin_client.post(
        reverse("shop_bank_import"),
        {"file": upload(("\n".join(content) + "\n").encode())},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert errors[0].startswith("Line 3: it does not fit the layout")
    assert "Line 3:" in response.content.decode()
    assert BankImport.objects.count() == 0
    assert Payment.objects.count() == 0


def test_the_same_file_uploaded_twice_is_refused(admin_client, invoices):
    content = ocr_file([(invoices[0].kid, "450.00")])
    admin_client.post(reverse("shop_bank_import"), {"file": upload(content)})
    response = admin_client.post(
        reverse("shop_bank_import"), {"file": upload(content, "again.txt")}
    )
    assert "already imported on" in response.context["form"].errors["file"][0]
    assert Payment.objects.count() == 1


def test_the_queue_shows_what_needs_attention_by_default(admin_client, invoices):
    queue_import(invoices)
    url = reverse("shop_bank_transactions:index")
    response = admin_client.get(url)
    assert response.status_code == 200
    shown = {row.kid for row in response.context["object_list"]}
    assert shown == {invoices[1].kid, UNKNOWN_KID}

    everything = admin_client.get(url, {"show": "all"})
    assert len(everything.context["object_list"]) == 3
    matched = admin_client.get(url, {"show": "matched"})
    assert [r.kid for r in matched.context["object_list"]] == [invoices[0].kid]
    by_amount = admin_client.get(url, {"show": "all", "q": "350,00"})
    assert [r.kid for r in by_amount.context["object_list"]] == [invoices[1].kid]
    by_kid = admin_client.get(url, {"q": UNKNOWN_KID[-6:]})
    assert [r.kid for r in by_kid.context["object_list"]] == [UNKNOWN_KID]


def test_the_queue_exports_as_csv_and_xlsx(admin_client, invoices):
    queue_import(invoices)
    url = reverse("shop_bank_transactions:index")
    response = admin_client.get(url, {"export": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "No invoice with this KID" in body
    assert "350.00" in body
    assert "Paid in full" not in body  # filtered to what needs attention
    xlsx = admin_client.get(url, {"export": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )


def test_the_queue_is_read_only(admin_client, invoices):
    queue_import(invoices)
    row = BankTransaction.objects.get(kid=UNKNOWN_KID)
    response = admin_client.get(
        reverse("shop_bank_transactions:inspect", args=[row.pk])
    )
    assert response.status_code == 200
    assert reverse("shop_bank_transactions:resolve", args=[row.pk]) in (
        response.content.decode()
    )
    for view in ("add", "edit", "delete"):
        with pytest.raises(Exception):  # noqa: B017 - no such URL at all
            reverse(f"shop_bank_transactions:{view}", args=[row.pk])


def test_the_clerk_resolves_a_payment_on_an_invoice(verified_client, invoices):
    queue_import(invoices)
    clerk = staff_with("change_banktransaction")
    client = verified_client(clerk)
    row = BankTransaction.objects.get(kid=UNKNOWN_KID)
    url = reverse("shop_bank_transactions:resolve", args=[row.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"invoice": "F1999-000001", "note": "x"})
    assert "There is no invoice with the number or KID" in response.content.decode()
    response = client.post(url, {"invoice": invoices[2].display_number, "note": ""})
    assert response.context["form"].errors["note"]

    response = client.post(
        url, {"invoice": invoices[2].display_number, "note": "KID mistyped"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.outcome == Outcome.RESOLVED
    assert row.resolved_by == clerk
    assert row.payment.amount == Decimal("100.00")
    assert Order.objects.get(pk=invoices[2].order_id).status == Order.Status.PAID

    # The overpayment's 50.00 went back to the payer by bank transfer.
    over = BankTransaction.objects.get(kid=invoices[1].kid)
    url = reverse("shop_bank_transactions:resolve", args=[over.pk])
    response = client.post(url, {"invoice": invoices[0].kid, "note": "x"})
    assert "has nothing left to pay" in response.content.decode()
    client.post(url, {"invoice": "", "note": "Refunded 50.00 by bank transfer"})
    over.refresh_from_db()
    assert over.outcome == Outcome.RESOLVED
    assert over.resolution == "Refunded 50.00 by bank transfer"
    remaining = client.get(reverse("shop_bank_transactions:index"))
    assert list(remaining.context["object_list"]) == []


def test_the_gift_report_lists_and_downloads_the_year(admin_client):
    configure_seller()
    year = timezone.localdate().year
    invoice = billing.invoice_issue(
        order=make_order(
            amount="200.00", customer_name="Ingrid Hansen", customer_identifier=FNR
        ),
        open_amount=True,
    )
    from shop.bankfiles import bank_file_import

    bank_file_import(filename="ocr.txt", content=ocr_file([(invoice.kid, "700.00")]))
    Gift.objects.create(
        donor_name="Typo Person",
        donor_identifier="12345678901",
        amount=Decimal("100.00"),
        currency="NOK",
        received_on=timezone.localdate(),
    )
    url = reverse("shop_gift_report")
    page = admin_client.get(url, {"year": year})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ingrid Hansen" in html
    assert "500.00 NOK" in html
    assert "cannot be reported until it is corrected" in html
    csv = admin_client.get(url, {"year": year, "format": "csv"})
    assert csv["Content-Disposition"] == f'attachment; filename="gifts-{year}.csv"'
    lines = csv.content.decode().splitlines()
    assert lines == [
        "year;identifier_type;identifier;name;amount;currency",
        f"{year};F;{FNR};Ingrid Hansen;500.00;NOK",
    ]


def test_staff_without_the_permissions_are_turned_away(verified_client, invoices):
    queue_import(invoices)
    row = BankTransaction.objects.get(kid=UNKNOWN_KID)
    client = verified_client(StaffUserFactory())
    urls = [
        reverse("shop_bank_import"),
        reverse("shop_bank_transactions:index"),
        reverse("shop_bank_transactions:inspect", args=[row.pk]),
        reverse("shop_bank_transactions:resolve", args=[row.pk]),
        reverse("shop_gift_report"),
    ]
    for url in urls:
        assert client.get(url).status_code in (302, 403), url
    response = client.post(
        reverse("shop_bank_import"),
        {"file": upload(ocr_file([(invoices[2].kid, "100.00")]))},
    )
    assert response.status_code in (302, 403)
    response = client.post(
        reverse("shop_bank_transactions:resolve", args=[row.pk]),
        {"invoice": "", "note": "sneaky"},
    )
    assert response.status_code in (302, 403)
    row.refresh_from_db()
    assert row.outcome == Outcome.UNMATCHED
    assert BankImport.objects.count() == 1

    # Seeing the queue is not resolving it.
    viewer = verified_client(staff_with("view_banktransaction"))
    assert viewer.get(reverse("shop_bank_transactions:index")).status_code == 200
    refused = viewer.get(reverse("shop_bank_transactions:resolve", args=[row.pk]))
    assert refused.status_code in (302, 403)


def test_the_billing_menu_shows_each_entry_to_who_may_use_it(verified_client):
    client = verified_client(staff_with("add_bankimport", "view_gift"))
    page = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("shop_bank_import") in page
    assert reverse("shop_gift_report") in page
    assert reverse("shop_bank_transactions:index") not in page


def test_the_queue_costs_the_same_queries_however_long_it_is(admin_client, invoices):
    """Each row shows its invoice, file and payment without a query of its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shop.bankfiles import bank_file_import

    def queue_of(count: int, transmission: str) -> int:
        payments = [(invoice.kid, "10.00") for invoice in invoices]  # short: queued
        payments += [(UNKNOWN_KID, "5.00")] * (count - len(payments))
        bank_file_import(
            filename=f"ocr-{transmission}.txt",
            content=ocr_file(
                payments, transmission=transmission, assignment=transmission
            ),
        )
        url = reverse("shop_bank_transactions:index") + "?outcome=&outcome=short"
        admin_client.get(url)  # the session's first request costs one more
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse("shop_bank_transactions:index"))
        assert response.status_code == 200
        return len(queries)

    few = queue_of(4, "1000001")
    many = queue_of(20, "1000002")
    assert BankTransaction.objects.count() == 24
    assert many == few
