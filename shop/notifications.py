"""Getting invoices, reminders and answers to the people who need them.

An invoice goes out the way its ``delivery`` says: by e-mail (a Celery task renders
the PDF and sends it with the personal pay link, once the transaction has committed),
or as a letter, which waits in the admin's "Letters to post" until a clerk marks it
posted. Staff hear about disputes and hand-overs through ``notify_staff``.

A letter is "to post" while its invoice is delivered by post and either has never
been posted (``sent_at`` empty) or has a reminder letter newer than its last posting.
"""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .billing import BillingError, order_outstanding
from .models import BillingSettings, Invoice, InvoiceComment, Reminder
from .paylinks import pay_url

logger = logging.getLogger(__name__)


# Helpers ----------------------------------------------------------------------------


def _render_email(name: str, context: dict, language: str) -> tuple[str, str]:
    """Subject and body from ``shop/email/<name>_subject.txt`` and ``_body.txt``."""
    with translation.override(language):
        subject = render_to_string(f"shop/email/{name}_subject.txt", context)
        body = render_to_string(f"shop/email/{name}_body.txt", context)
    return " ".join(subject.split()), body.strip() + "\n"


def _reply_to(invoice: Invoice) -> list[str]:
    email = (invoice.seller or {}).get("email") or ""
    return [email] if email else []


def staff_recipients() -> list[str]:
    """Who hears about disputes and hand-overs: the billing e-mail, else the admins,
    else the site's sender address."""
    billing_email = BillingSettings.load().email
    if billing_email:
        return [billing_email]
    admins = [address for _name, address in getattr(settings, "ADMINS", [])]
    return admins or [settings.DEFAULT_FROM_EMAIL]


def notify_staff(subject: str, body: str) -> None:
    """E-mail the accounts staff, once the current transaction commits."""
    from guildhall.tasks import send_email

    recipients = staff_recipients()
    transaction.on_commit(
        partial(send_email.delay, subject=subject, body=body, to=recipients)
    )


# Invoices ---------------------------------------------------------------------------


def invoice_send(*, invoice: Invoice, by=None) -> None:
    """Send ``invoice`` (or credit note) to the buyer, the way its delivery says.

    By e-mail: a task renders the PDF and sends it with the pay link after commit,
    then records ``sent_at``. By post: the invoice is queued in "Letters to post"
    (its ``sent_at`` cleared) until a clerk marks it posted.
    """
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.delivery == Invoice.Delivery.EMAIL:
            if not locked.buyer_email:
                raise BillingError(
                    _("Invoice %(number)s has no e-mail address to send it to.")
                    % {"number": locked.display_number}
                )
            from .tasks import invoice_email

            transaction.on_commit(partial(invoice_email.delay, locked.pk))
        else:
            locked.sent_at = None
            locked.save(update_fields=["sent_at"])
            invoice.sent_at = None
        logger.info(
            "Invoice %s sent by %s (%s).",
            locked.display_number,
            getattr(by, "pk", None),
            locked.delivery,
        )


def invoice_email_send(*, invoice_id: int) -> bool:
    """Render and e-mail one invoice with its PDF; record when. Called by the task."""
    from .pdf import pdf_filename, render

    invoice = Invoice.objects.select_related("order", "series").get(pk=invoice_id)
    if not invoice.buyer_email:
        logger.warning("Invoice %s has no e-mail address.", invoice.display_number)
        return False
    order = invoice.order
    context = {
        "invoice": invoice,
        "order": order,
        "seller": invoice.seller or {},
        "pay_url": pay_url(order),
        "payable": invoice.status == Invoice.Status.OPEN and not invoice.is_credit_note,
    }
    subject, body = _render_email("invoice", context, order.language)
    message = EmailMessage(
        subject=subject,
        body=body,
        to=[invoice.buyer_email],
        reply_to=_reply_to(invoice),
    )
    message.attach(pdf_filename(invoice), render(invoice), "application/pdf")
    message.send()
    Invoice.objects.filter(pk=invoice.pk).update(sent_at=timezone.now())
    return True


# Letters to post --------------------------------------------------------------------


def letters_to_post() -> QuerySet[Invoice]:
    """Invoices and credit notes waiting to be printed and posted, oldest first.

    Each has ``last_letter_at``: when its newest reminder letter was made, if any.
    """
    return (
        Invoice.objects.filter(delivery=Invoice.Delivery.POST)
        .filter(Q(kind=Invoice.Kind.CREDIT_NOTE) | Q(status=Invoice.Status.OPEN))
        .annotate(
            last_letter_at=Max(
                "reminders__sent_at",
                filter=Q(reminders__channel=Reminder.Channel.LETTER),
            )
        )
        .filter(
            Q(sent_at__isnull=True)
            | Q(last_letter_at__isnull=False, last_letter_at__gt=F("sent_at"))
        )
        .select_related("series", "order")
        .order_by("issued_at", "pk")
    )


def letter_reminder(invoice: Invoice) -> Reminder | None:
    """The reminder letter waiting to be posted for ``invoice``, if that is what
    waits (rather than the invoice itself)."""
    latest = (
        invoice.reminders.filter(channel=Reminder.Channel.LETTER)
        .order_by("-level")
        .first()
    )
    if latest is None:
        return None
    if invoice.sent_at is None or latest.sent_at > invoice.sent_at:
        return latest
    return None


def letter_mark_posted(*, invoice: Invoice, by=None) -> bool:
    """A clerk posted the letter: it leaves the list. False if it was not waiting."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if not letters_to_post().filter(pk=locked.pk).exists():
            return False
        locked.sent_at = timezone.now()
        locked.save(update_fields=["sent_at"])
        invoice.sent_at = locked.sent_at
        logger.info(
            "Letter for %s posted (by %s).",
            locked.display_number,
            getattr(by, "pk", None),
        )
        return True


# Reminders and answers --------------------------------------------------------------


def reminder_email_send(*, reminder_id: int) -> bool:
    """E-mail one reminder with the amount due (fees included), the pay link and
    the reminder letter as PDF. Called by the task."""
    from .pdf import reminder_filename, render_reminder

    reminder = Reminder.objects.select_related("invoice__order", "invoice__series").get(
        pk=reminder_id
    )
    invoice = reminder.invoice
    order = invoice.order
    if not invoice.buyer_email:
        logger.warning("Invoice %s has no e-mail address.", invoice.display_number)
        return False
    outstanding = order_outstanding(order)
    if outstanding <= 0:
        logger.info("Invoice %s was paid; reminder not sent.", invoice.display_number)
        return False
    context = {
        "invoice": invoice,
        "order": order,
        "reminder": reminder,
        "seller": invoice.seller or {},
        "outstanding": outstanding,
        "pay_url": pay_url(order),
    }
    subject, body = _render_email("reminder", context, order.language)
    message = EmailMessage(
        subject=subject,
        body=body,
        to=[invoice.buyer_email],
        reply_to=_reply_to(invoice),
    )
    message.attach(
        reminder_filename(reminder), render_reminder(reminder), "application/pdf"
    )
    message.send()
    return True


def answer_email_send(*, comment_id: int) -> bool:
    """E-mail staff's answer in an invoice's thread to the buyer. Called by the task."""
    comment = InvoiceComment.objects.select_related(
        "invoice__order", "invoice__series"
    ).get(pk=comment_id)
    invoice = comment.invoice
    if not invoice.buyer_email:
        logger.info("Invoice %s has no e-mail address.", invoice.display_number)
        return False
    context = {
        "invoice": invoice,
        "order": invoice.order,
        "comment": comment,
        "seller": invoice.seller or {},
        "pay_url": pay_url(invoice.order),
    }
    subject, body = _render_email("answer", context, invoice.order.language)
    EmailMessage(
        subject=subject,
        body=body,
        to=[invoice.buyer_email],
        reply_to=_reply_to(invoice),
    ).send()
    return True
