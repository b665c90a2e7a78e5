"""Invoice, credit note and reminder PDFs: what the payer reads on them."""

import re
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
import qrcode
from django.utils import formats, translation
from wagtail.models import Site

from shop import billing, pdf
from shop.models import Invoice, InvoiceSeries, Reminder, ReminderStep
from shop.paylinks import pay_path, pay_token
from tests.factories import make_image

from .factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    """The text of a PDF as poppler's pdftotext reads it (reading order, no layout)."""
    assert content.startswith(b"%PDF-"), content[:20]
    result = subprocess.run(
        ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def pdf_images(content: bytes) -> int:
    result = subprocess.run(
        ["pdfimages", "-list", "-"], input=content, capture_output=True, check=True
    )
    # Two header lines, then one line per image.
    return len(result.stdout.decode().strip().splitlines()) - 2


def pdf_pages(content: bytes) -> int:
    result = subprocess.run(
        ["pdfinfo", "-"], input=content, capture_output=True, check=True
    )
    for line in result.stdout.decode().splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise AssertionError("pdfinfo gave no page count")


def issued(**kwargs) -> Invoice:
    return billing.invoice_issue(order=make_order(**kwargs))


def short_date(value: date, language: str = "en") -> str:
    with translation.override(language):
        return formats.date_format(value, "SHORT_DATE_FORMAT")


def test_invoice_pdf_carries_everything_needed_to_pay(client):
    configure_seller(vat_registered=True, invoice_footer="Thank you for your support.")
    invoice = issued(amount="450.00", vat_rate="25")

    text = pdf_text(pdf.render(invoice))

    assert invoice.display_number in text
    assert invoice.kid in text
    assert "450.00" in text
    assert "8601.11.17947" in text  # account, formatted as on a giro
    assert short_date(invoice.due_date) in text
    assert "Kari Nordmann" in text and "0155 Oslo" in text
    assert "Makers' Guild" in text
    assert "974760673 MVA" in text
    assert "Thank you for your support." in text
    # VAT: 25 % of 450 gross is 90; net 360.
    assert "90.00" in text and "360.00" in text
    # The giro: kroner and øre apart, the KID, the payer.
    assert "CUSTOMER IDENTIFICATION (KID)" in text.upper()
    lines = [line.strip() for line in text.splitlines()]
    assert "450" in lines and "00" in lines
    # The pay link printed (and in the QR code) opens the order's pay page.
    printed = re.search(r"http://testserver(/shop/pay/[^/]+/)", text.replace("\n", ""))
    page = client.get(printed.group(1))
    assert page.status_code == 200
    assert invoice.order.code in page.text and "450.00" in page.text


def test_seller_without_vat_registration_has_no_mva():
    configure_seller(vat_registered=False)
    text = pdf_text(pdf.render(issued()))
    assert "974760673" in text
    assert "MVA" not in text


def test_norwegian_order_gets_norwegian_numbers_and_dates():
    configure_seller()
    invoice = issued(amount="1250.50", language="nb")
    text = pdf_text(pdf.render(invoice))
    assert "250,50" in text  # 1 250,50 with a (non-breaking) space as thousands sep.
    assert "1250.50" not in text and "1,250.50" not in text
    assert invoice.due_date.strftime("%d.%m.%Y") in text
    lines = [line.strip() for line in text.splitlines()]
    assert "1250" in lines and "50" in lines  # the giro's kroner and øre boxes


def test_credit_note_names_the_invoice_it_credits_and_why():
    configure_seller()
    invoice = issued(amount="450.00")
    note = billing.credit_note_issue(invoice=invoice, reason="Joined twice by mistake")

    text = pdf_text(pdf.render(note))

    assert "Credit note" in text
    assert note.display_number in text
    assert f"cancels invoice {invoice.display_number}" in text
    assert "Joined twice by mistake" in text
    assert "-450.00" in text
    # Nothing to pay: no giro, no KID.
    assert "CUSTOMER IDENTIFICATION (KID)" not in text.upper()
    assert "Please pay" not in text


def test_paid_invoice_says_so_instead_of_asking_for_money():
    configure_seller()
    invoice = issued()
    billing.payment_record_manual(
        order=invoice.order, amount=Decimal("450.00"), note="Cash", by=None
    )
    text = pdf_text(pdf.render(invoice))
    assert "Paid. Thank you!" in text
    assert "Please pay" not in text


def test_partly_paid_invoice_asks_for_the_rest():
    configure_seller()
    invoice = issued(amount="450.00")
    billing.payment_record_manual(
        order=invoice.order, amount=Decimal("200.00"), note="Cash", by=None
    )
    text = pdf_text(pdf.render(invoice))
    assert "Please pay 250.00 NOK" in text


def test_many_lines_flow_onto_a_second_page():
    configure_seller()
    order = billing.order_create(
        customer_name="Big Buyer AS",
        customer_email="buyer@example.org",
        lines=[
            billing.LineSpec(description=f"Course seat {n}", unit_price=Decimal("10"))
            for n in range(60)
        ],
    )
    invoice = billing.invoice_issue(order=order)
    content = pdf.render(invoice)
    assert pdf_pages(content) >= 2
    text = pdf_text(content)
    assert "Course seat 59" in text and "600.00" in text


def test_logo_and_name_come_from_the_site_settings(home_page):
    from home.models import SiteSettings

    configure_seller()
    settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    settings.name = "The Test Association"
    settings.logo = make_image(title="Logo", size=(300, 100))
    settings.primary_colour = "#8a1538"
    settings.save()

    content = pdf.render(issued())

    assert pdf_images(content) == 1
    assert pdf.branding("x").colour == "#8a1538"
    assert pdf.branding("x").logo.startswith("data:image/")


def test_without_a_logo_the_seller_name_stands_in():
    configure_seller(seller_name="Choir of Bergen")
    content = pdf.render(issued())
    assert pdf_images(content) == 0
    assert pdf_text(content).splitlines()[0].strip() == "Choir of Bergen"


def test_the_renderer_never_goes_online():
    with pytest.raises(ValueError, match="disallowed protocol"):
        pdf._fetcher.fetch("https://example.org/logo.png")
    with pytest.raises(ValueError, match="disallowed protocol"):
        pdf._fetcher.fetch("file:///etc/passwd")


def test_giro_amount_boxes_and_account_format():
    assert pdf.kroner_ore(Decimal("1250.05")) == ("1250", "05")
    assert pdf.kroner_ore(Decimal("450")) == ("450", "00")
    assert pdf.format_account("86011117947") == "8601.11.17947"
    assert pdf.format_account("8601 11 17947") == "8601.11.17947"


def test_qr_code_shows_exactly_the_modules_of_the_pay_link():
    url = "http://testserver/shop/pay/VBKE7ZQ7WV:1xVaZY:dEp2-XY0pbAJpR9IEzUMM/"
    svg = pdf.qr_svg(url)
    assert svg.startswith("<svg") and "<path" in svg
    drawn = {
        (int(x) + i, int(y))
        for x, y, width in re.findall(r"M(\d+),(\d+)h(\d+)v1h-\d+z", svg)
        for i in range(int(width))
    }
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    dark = {
        (x, y)
        for y, row in enumerate(code.get_matrix())
        for x, value in enumerate(row)
        if value
    }
    assert drawn == dark


def test_reminder_letter_asks_for_the_amount_with_the_fee():
    configure_seller()
    series = InvoiceSeries.objects.create(name="Dues", prefix="D", kid_prefix=7)
    ReminderStep.objects.create(
        series=series, days_after_due=14, fee=Decimal("35.00"), new_due_days=14
    )
    order = make_order(amount="450.00")
    invoice = billing.invoice_issue(order=order, series=series)
    from shop.reminders import reminders_run

    today = invoice.due_date + timedelta(days=15)
    reminders_run(today=today)
    reminder = Reminder.objects.get(invoice=invoice)

    text = pdf_text(pdf.render_reminder(reminder))

    assert "Payment reminder" in text
    assert invoice.display_number in text and invoice.kid in text
    assert "Please pay 485.00 NOK" in text
    assert "35.00" in text
    assert short_date(today + timedelta(days=14)) in text  # the new due date
    assert short_date(invoice.due_date) in text  # the original one


def test_payer_downloads_the_pdf_through_the_pay_link(client):
    configure_seller()
    invoice = issued()
    url = f"/shop/pay/{pay_token(invoice.order)}/invoices/{invoice.pk}.pdf"

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.display_number}.pdf"' in response["Content-Disposition"]
    assert invoice.kid in pdf_text(response.content)
    # The pay page links to it (under the page's own, newer, token).
    page = client.get(pay_path(invoice.order))
    assert re.search(rf'href="/shop/pay/[^/"]+/invoices/{invoice.pk}\.pdf"', page.text)


def test_another_orders_link_or_a_forged_one_gets_no_pdf(client):
    configure_seller()
    invoice = issued()
    other = make_order(customer_name="Someone Else")
    assert (
        client.get(
            f"/shop/pay/{pay_token(other)}/invoices/{invoice.pk}.pdf"
        ).status_code
        == 404
    )
    response = client.get(f"/shop/pay/{invoice.order.code}:x/invoices/{invoice.pk}.pdf")
    assert response.status_code == 404
    assert "This pay link does not work" in response.text
