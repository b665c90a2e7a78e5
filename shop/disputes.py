"""An invoice's thread: the member's questions and disputes, staff's answers.

A member's message reaches staff by e-mail; staff's answer reaches the member. While
the member's latest dispute has no staff answer after it, the invoice's reminders
wait (``invoice_dispute_is_open``).

Who may write as the member is the caller's check (the pay link's holder, or the
order's account in My Account); writing as staff needs ``shop.change_invoice``.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .billing import BillingError
from .models import Invoice, InvoiceComment
from .notifications import notify_staff

#: Longest message accepted, so a pasted document does not end up in the thread.
MAX_LENGTH = 5000


def invoice_dispute_is_open(invoice: Invoice) -> bool:
    """Whether the member's latest dispute of ``invoice`` awaits a staff answer."""
    last_dispute = (
        invoice.comments.filter(disputes=True, from_staff=False)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if last_dispute is None:
        return False
    return not invoice.comments.filter(from_staff=True, pk__gt=last_dispute).exists()


def thread_admin_url(invoice: Invoice) -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse(
        "shop_invoice_thread", args=[invoice.pk]
    )


@transaction.atomic
def invoice_comment_add(
    *,
    invoice: Invoice,
    author,
    body: str,
    from_staff: bool,
    disputes: bool = False,
) -> InvoiceComment:
    """Add a message to ``invoice``'s thread and tell the other side (after commit).

    A member's message (``disputes=True`` if they say the invoice is wrong) is
    e-mailed to staff; a staff answer is e-mailed to the buyer and ends the pause
    of reminders.
    """
    body = (body or "").strip()
    if not body:
        raise BillingError(_("Write a message before sending it."))
    if len(body) > MAX_LENGTH:
        raise BillingError(
            _("A message can be at most %(max)d characters long.") % {"max": MAX_LENGTH}
        )
    if from_staff and (author is None or not author.has_perm("shop.change_invoice")):
        raise PermissionDenied
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    comment = InvoiceComment.objects.create(
        invoice=locked,
        author=author,
        from_staff=from_staff,
        body=body,
        disputes=disputes and not from_staff,
    )
    if from_staff:
        from .tasks import answer_email

        if locked.buyer_email:
            transaction.on_commit(partial(answer_email.delay, comment.pk))
    else:
        context = {
            "invoice": locked,
            "comment": comment,
            "thread_url": thread_admin_url(locked),
        }
        with translation.override(settings.LANGUAGE_CODE):
            subject = " ".join(
                render_to_string(
                    "shop/email/staff_comment_subject.txt", context
                ).split()
            )
            text = render_to_string("shop/email/staff_comment_body.txt", context)
        notify_staff(subject, text.strip() + "\n")
    return comment
