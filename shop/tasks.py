"""Background jobs of the commerce core. Each takes ids (or nothing), loads what it
needs and calls a service in ``shop``; each is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

#: A file must have lain this long in the inbox before it is imported, so that one
#: the bank is still uploading is not read half-written.
INBOX_SETTLE_SECONDS = 60
INBOX_LOCK = "shop:import_ocr_inbox:running"
INBOX_LOCK_SECONDS = 2 * 3600


@shared_task(name="shop.tasks.import_ocr_inbox")
def import_ocr_inbox(min_age_seconds: float = INBOX_SETTLE_SECONDS) -> dict:
    """Every 15 minutes: import the bank's OCR giro files from
    ``settings.GUILDHALL_OCR_INBOX``; they move to ``imported/`` or ``failed/``.
    Returns how many files ended up how."""
    from .bankfiles import InboxEntry, import_inbox

    # One run at a time: a large file may take longer than the 15 minutes between
    # runs. (Two runs would still book each payment once; this spares the work.)
    if not cache.add(INBOX_LOCK, True, timeout=INBOX_LOCK_SECONDS):
        return {"skipped": 1}
    try:
        entries = import_inbox(min_age_seconds=min_age_seconds)
    finally:
        cache.delete(INBOX_LOCK)
    statuses = (InboxEntry.IMPORTED, InboxEntry.ALREADY_IMPORTED, InboxEntry.FAILED)
    return {status: sum(e.status == status for e in entries) for status in statuses}


@shared_task(name="shop.tasks.poll_vipps_payments")
def poll_vipps_payments() -> dict[str, int]:
    """Every five minutes: settle the pending Vipps payments no webhook has settled
    (started 2 minutes to 2 days ago), reading each back from Vipps."""
    from .providers.vipps import vipps_payments_poll

    return vipps_payments_poll()


# Invoices, reminders and dispute answers (shop.notifications, shop.reminders) -------


@shared_task(name="shop.tasks.invoices_email")
def invoices_email(invoice_ids: list[int]) -> int:
    """E-mail a chunk of invoices from a bulk run; one failure does not stop the
    rest (it is logged and the invoice stays unsent, for a clerk to send again)."""
    import logging

    from .notifications import invoice_email_send

    sent = 0
    for invoice_id in invoice_ids:
        try:
            sent += bool(invoice_email_send(invoice_id=invoice_id))
        except Exception:
            logging.getLogger(__name__).exception(
                "Invoice %s could not be e-mailed.", invoice_id
            )
    return sent


@shared_task(
    name="shop.tasks.invoice_email",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def invoice_email(invoice_id: int) -> bool:
    """E-mail one invoice with its PDF and pay link; retried if the server fails."""
    from .notifications import invoice_email_send

    return invoice_email_send(invoice_id=invoice_id)


@shared_task(
    name="shop.tasks.reminder_email",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def reminder_email(reminder_id: int) -> bool:
    """E-mail one reminder with the amount due and the pay link."""
    from .notifications import reminder_email_send

    return reminder_email_send(reminder_id=reminder_id)


@shared_task(
    name="shop.tasks.answer_email",
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def answer_email(comment_id: int) -> bool:
    """E-mail staff's answer in an invoice's dispute thread to the buyer."""
    from .notifications import answer_email_send

    return answer_email_send(comment_id=comment_id)


@shared_task(name="shop.tasks.send_reminders")
def send_reminders() -> dict:
    """Daily: take the reminder steps that are due. Safe to run twice."""
    from .reminders import reminders_run

    return reminders_run().as_dict()
