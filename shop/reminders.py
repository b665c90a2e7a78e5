"""The daily reminder run: unpaid invoices past their due date get the next step of
their series' schedule, once.

A step is "remind" (a reminder by e-mail or letter, as the invoice was delivered,
optionally with a fee added to the order as its own line and a new due date) or
"hand over to staff". Steps are counted from the invoice's own due date, taken one
per run and never twice: the invoice row is locked while a step is taken, and a
reminder is unique per invoice and level, so two runs at once remind once.

An invoice the member disputes waits until staff have answered.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .billing import LineSpec, order_line_add, order_outstanding
from .disputes import invoice_dispute_is_open, thread_admin_url
from .models import Invoice, Order, OrderLine, Reminder, ReminderStep
from .money import ZERO
from .notifications import notify_staff

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500


@dataclass
class ReminderRunSummary:
    """What one run did, for the log and for staff."""

    checked: int = 0
    emailed: int = 0
    letters: int = 0
    handed_over: int = 0
    disputed: int = 0
    failed: int = 0

    @property
    def reminded(self) -> int:
        return self.emailed + self.letters

    def as_dict(self) -> dict:
        return asdict(self)


def _candidates(today: date):
    """Ids of open invoices whose earliest possible next step may be due."""
    schedules = {}
    for step in ReminderStep.objects.order_by("series", "days_after_due"):
        schedules.setdefault(step.series_id, []).append(step)
    if not schedules:
        return None, schedules
    earliest = min(steps[0].days_after_due for steps in schedules.values())
    ids = (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE,
            status=Invoice.Status.OPEN,
            order__status=Order.Status.OPEN,
            handed_to_staff_at__isnull=True,
            series_id__in=list(schedules),
            due_date__lte=today - timedelta(days=earliest),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return ids, schedules


def reminders_run(*, today: date | None = None) -> ReminderRunSummary:
    """Take every reminder step that is due on ``today`` (default: today)."""
    today = today or timezone.localdate()
    summary = ReminderRunSummary()
    ids, schedules = _candidates(today)
    if ids is None:
        return summary
    for invoice_id in ids.iterator(chunk_size=CHUNK_SIZE):
        summary.checked += 1
        try:
            outcome = _remind_one(invoice_id, schedules, today)
        except Exception:
            # One bad invoice must not stop the run; it is tried again tomorrow.
            logger.exception("Reminder step for invoice %s failed.", invoice_id)
            summary.failed += 1
            continue
        if outcome == "email":
            summary.emailed += 1
        elif outcome == "letter":
            summary.letters += 1
        elif outcome == "staff":
            summary.handed_over += 1
        elif outcome == "disputed":
            summary.disputed += 1
    logger.info("Reminder run for %s: %s", today, summary.as_dict())
    return summary


def _remind_one(invoice_id: int, schedules: dict, today: date) -> str | None:
    try:
        with transaction.atomic():
            return _take_step(invoice_id, schedules, today)
    except IntegrityError:
        # Another run took this step at the same moment.
        logger.info("Reminder for invoice %s already taken.", invoice_id)
        return None


def _take_step(invoice_id: int, schedules: dict, today: date) -> str | None:
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("order", "series")
        .get(pk=invoice_id)
    )
    order = invoice.order
    if (
        invoice.status != Invoice.Status.OPEN
        or order.status != Order.Status.OPEN
        or invoice.handed_to_staff_at is not None
    ):
        return None
    steps = schedules.get(invoice.series_id, [])
    if invoice.reminder_level >= len(steps):
        return None
    step = steps[invoice.reminder_level]
    if invoice.due_date + timedelta(days=step.days_after_due) > today:
        return None
    if invoice_dispute_is_open(invoice):
        return "disputed"
    outstanding = order_outstanding(order)
    if outstanding <= ZERO:
        return None
    level = invoice.reminder_level + 1
    if step.action == ReminderStep.Action.STAFF:
        Reminder.objects.create(
            invoice=invoice, level=level, channel=Reminder.Channel.STAFF
        )
        invoice.reminder_level = level
        invoice.handed_to_staff_at = timezone.now()
        invoice.save(update_fields=["reminder_level", "handed_to_staff_at"])
        _notify_hand_over(invoice, outstanding)
        return "staff"

    if step.fee > ZERO:
        with translation.override(order.language):
            description = _("Reminder fee (invoice %(number)s)") % {
                "number": invoice.display_number
            }
        order_line_add(
            order=order,
            line=LineSpec(
                description=description,
                unit_price=step.fee,
                kind=OrderLine.Kind.REMINDER_FEE,
            ),
        )
    by_letter = invoice.delivery == Invoice.Delivery.POST or not invoice.buyer_email
    reminder = Reminder.objects.create(
        invoice=invoice,
        level=level,
        channel=Reminder.Channel.LETTER if by_letter else Reminder.Channel.EMAIL,
        fee=step.fee,
        new_due_date=today + timedelta(days=step.new_due_days),
    )
    invoice.reminder_level = level
    invoice.save(update_fields=["reminder_level"])
    if by_letter:
        # Waits in "Letters to post" (shop.notifications.letters_to_post).
        return "letter"
    from .tasks import reminder_email

    transaction.on_commit(partial(reminder_email.delay, reminder.pk))
    return "email"


def _notify_hand_over(invoice: Invoice, outstanding) -> None:
    context = {
        "invoice": invoice,
        "outstanding": outstanding,
        "thread_url": thread_admin_url(invoice),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(
            render_to_string("shop/email/staff_handover_subject.txt", context).split()
        )
        body = render_to_string("shop/email/staff_handover_body.txt", context)
    notify_staff(subject, body.strip() + "\n")
