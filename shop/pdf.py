"""Invoice, credit note and reminder letter PDFs.

``render(invoice)`` is the one way an invoice or credit note becomes a PDF; the
e-mail, the letters to post, the admin download and the payer's link all call it.
``render_reminder(reminder)`` makes the letter for a reminder.

The PDF is built with WeasyPrint from a Django template, in the order's language.
Nothing is fetched from the network: the only resources a document may load are
``data:`` URIs (the logo is embedded as one, the QR code is inline SVG).
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import qrcode
import qrcode.image.svg
from django.apps import apps
from django.template.loader import render_to_string
from django.utils import translation
from stdnum.no import kontonr
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from .billing import order_outstanding, order_paid_amount
from .models import Invoice, Reminder
from .money import ZERO, money
from .paylinks import pay_url

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "shop" / "pdf"
DEFAULT_COLOUR = "#1d4e89"

#: Only embedded resources: a template can never make the renderer go online.
_fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)


@dataclass(frozen=True)
class Branding:
    """The association's name, logo (a data URI or "") and primary colour."""

    name: str
    logo: str
    colour: str


def branding(fallback_name: str) -> Branding:
    """The default site's branding from ``home.SiteSettings``, if that app is installed.

    ``shop`` does not import ``home``; it asks the app registry. Without settings
    (or without ``home``) the seller's name stands alone, in the default colour.
    """
    if not apps.is_installed("home"):
        return Branding(fallback_name, "", DEFAULT_COLOUR)
    try:
        SiteSettings = apps.get_model("home", "SiteSettings")
    except LookupError:
        return Branding(fallback_name, "", DEFAULT_COLOUR)
    found = (
        SiteSettings.objects.filter(site__is_default_site=True)
        .select_related("logo")
        .first()
    )
    if found is None:
        return Branding(fallback_name, "", DEFAULT_COLOUR)
    colour = getattr(found, "primary_colour", "") or DEFAULT_COLOUR
    logo = _logo_data_uri(getattr(found, "logo", None))
    return Branding(getattr(found, "name", "") or fallback_name, logo, colour)


def _logo_data_uri(image) -> str:
    """The logo as a data URI (a small rendition of it where possible), or ""."""
    if image is None:
        return ""
    try:
        try:
            file = image.get_rendition("max-600x200").file
        except Exception:  # an SVG or a format Willow cannot resize
            file = image.file
        file.open("rb")
        try:
            content = file.read()
        finally:
            file.close()
    except (OSError, ValueError):
        logger.warning("The logo %s could not be read; printed without it.", image.pk)
        return ""
    mime = mimetypes.guess_type(file.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def format_account(number: str) -> str:
    """A Norwegian bank account as printed: 1234.56.78903."""
    digits = "".join(c for c in number or "" if c.isdigit())
    if len(digits) == 11:
        return kontonr.format(digits)
    return number or ""


def qr_svg(url: str) -> str:
    """``url`` as a QR code, an inline ``<svg>`` element."""
    image = qrcode.make(
        url,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg = image.to_string(encoding="unicode")
    # Drop the XML declaration: the element goes inside an HTML document.
    svg = svg[svg.index("<svg") :]
    return _SQUARE_PATH.sub(lambda match: f'd="{_merge_runs(match.group(1))}"', svg)


_SQUARE_PATH = re.compile(r'd="((?:M\d+,\d+H\d+V\d+H\d+z)+)"')
_SQUARE = re.compile(r"M(\d+),(\d+)H\d+V\d+H\d+z")


def _merge_runs(path: str) -> str:
    """One rectangle per horizontal run of dark modules instead of one square per
    module: the same picture in about half the path commands, which the renderer
    draws in half the time."""
    rows: dict[int, list[int]] = {}
    for x, y in _SQUARE.findall(path):
        rows.setdefault(int(y), []).append(int(x))
    parts = []
    for y in sorted(rows):
        xs = sorted(rows[y])
        start = previous = xs[0]
        for x in [*xs[1:], None]:
            if x is not None and x == previous + 1:
                previous = x
                continue
            parts.append(
                f"M{start},{y}h{previous - start + 1}v1h-{previous - start + 1}z"
            )
            if x is not None:
                start = previous = x
    return "".join(parts)


def kroner_ore(amount: Decimal) -> tuple[str, str]:
    """The giro's two amount boxes: whole kroner and øre."""
    amount = money(amount)
    whole = int(abs(amount))
    cents = int((abs(amount) - whole) * 100)
    return f"{whole}", f"{cents:02d}"


def _giro(invoice: Invoice, *, amount: Decimal, due_date) -> dict:
    kroner, ore = kroner_ore(amount)
    return {
        "account": format_account(invoice.seller.get("bank_account", "")),
        "kid": invoice.kid or "",
        "kroner": kroner,
        "ore": ore,
        "amount": amount,
        "due_date": due_date,
        "payer": "\n".join(
            part for part in (invoice.buyer_name, invoice.buyer_address) if part
        ),
        "payee": "\n".join(
            part
            for part in (
                invoice.seller.get("name", ""),
                invoice.seller.get("address", ""),
            )
            if part
        ),
    }


def _html_to_pdf(html: str) -> bytes:
    return HTML(
        string=html, base_url=str(TEMPLATE_DIR), url_fetcher=_fetcher
    ).write_pdf()


def _common_context(invoice: Invoice) -> dict:
    seller = dict(invoice.seller or {})
    brand = branding(seller.get("name", ""))
    return {
        "invoice": invoice,
        "seller": seller,
        "seller_account": format_account(seller.get("bank_account", "")),
        "brand": brand,
        "buyer_address_lines": [
            line for line in invoice.buyer_address.splitlines() if line.strip()
        ],
        "seller_address_lines": [
            line for line in (seller.get("address") or "").splitlines() if line.strip()
        ],
    }


def render(invoice: Invoice) -> bytes:
    """The PDF of an invoice or a credit note, in its order's language."""
    invoice = (
        Invoice.objects.select_related("series", "order", "credits__series")
        .prefetch_related("lines")
        .get(pk=invoice.pk)
    )
    order = invoice.order
    with translation.override(order.language):
        context = _common_context(invoice)
        context["lines"] = list(invoice.lines.all())
        context["net_total"] = money(invoice.total - invoice.vat_total)
        payable = (
            not invoice.is_credit_note
            and invoice.status == Invoice.Status.OPEN
            and order.status == order.Status.OPEN
        )
        context["payable"] = payable
        if payable:
            # What is left of this invoice; fees added later are on the reminders.
            amount = min(invoice.total, order_outstanding(order))
            context["giro"] = _giro(invoice, amount=amount, due_date=invoice.due_date)
            context["pay_url"] = pay_url(order)
            context["qr_svg"] = qr_svg(context["pay_url"])
        html = render_to_string("shop/pdf/invoice.html", context)
    return _html_to_pdf(html)


def render_reminder(reminder: Reminder) -> bytes:
    """The letter for a reminder: what is owed now, fees included, and by when."""
    reminder = Reminder.objects.select_related("invoice__series", "invoice__order").get(
        pk=reminder.pk
    )
    invoice = reminder.invoice
    order = invoice.order
    with translation.override(order.language):
        context = _common_context(invoice)
        fees = [
            line for line in order.lines.all() if line.kind == line.Kind.REMINDER_FEE
        ]
        outstanding = order_outstanding(order)
        context.update(
            {
                "reminder": reminder,
                "fees": fees,
                "paid": order_paid_amount(order),
                "outstanding": outstanding,
                "payable": outstanding > ZERO,
            }
        )
        if outstanding > ZERO:
            context["giro"] = _giro(
                invoice,
                amount=outstanding,
                due_date=reminder.new_due_date or invoice.due_date,
            )
            context["pay_url"] = pay_url(order)
            context["qr_svg"] = qr_svg(context["pay_url"])
        html = render_to_string("shop/pdf/reminder.html", context)
    return _html_to_pdf(html)


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.display_number}.pdf"


def reminder_filename(reminder: Reminder) -> str:
    return f"{reminder.invoice.display_number}-{reminder.level}.pdf"
