"""The yearly dues run, what paying (or not paying) a renewal does, and a member
ending their membership at the end of the period.

A run renews every active membership whose current period ends on or before its
date and that has no renewal for the period after: one ``Renewal`` per membership
and period (a unique constraint), each with one order and one invoice with KID,
e-mailed with a pay link or queued as a letter. It works in chunks, each in its own
transaction, and records its progress on the ``DuesRun`` row for staff to watch.
Running it twice, or two runs at once, renews nothing twice.

Paying the order extends the membership to the renewal's period end (and brings a
lapsed one back); not paying leads through the reminders to the nightly lapse at the
end of the grace period, and the groups go (``services.memberships_lapse``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guildhall.bulk import objects_insert, rows_insert
from shop import billing
from shop.billing_bulk import OrderSpec, orders_invoice_many
from shop.models import Invoice

from .joining import UNFINISHED, JoinError
from .models import (
    Application,
    DuesRun,
    Membership,
    MembershipType,
    Renewal,
    RenewalSettings,
)
from .pricing import PriceBook, PricingFacts
from .selectors import holder_billing
from .services import Status, membership_transition

logger = logging.getLogger(__name__)

RunStatus = DuesRun.Status
AppStatus = Application.Status
CANCEL_SALT = "members.membership-cancel"

#: What renewing a membership reads: the period, the holder's name, addresses,
#: language and how they want their invoices (not the whole record).
_ADDRESS = ["email", "postal_street", "postal_postcode", "postal_city"]
RENEWAL_FIELDS = [
    "end",
    "type_id",
    "chapter_id",
    *(
        f"person__{name}"
        for name in [
            *_ADDRESS,
            "first_name",
            "last_name",
            "birth_date",
            "preferred_language",
            "invoices_by_post",
            "user_id",
        ]
    ),
    *(
        f"organisation__{name}"
        for name in [
            *_ADDRESS,
            "name",
            "billing_email",
            "billing_street",
            "billing_postcode",
            "billing_city",
            "invoices_by_post",
        ]
    ),
]


def memberships_due(ends_by) -> QuerySet[Membership]:
    """Active memberships whose period ends by ``ends_by``, that are to go on, and
    whose next period has no renewal yet."""
    next_period_charged = Renewal.objects.filter(
        membership=OuterRef("pk"), period_start__gt=OuterRef("end")
    )
    return (
        Membership.objects.filter(
            status=Status.ACTIVE,
            end__isnull=False,
            end__lte=ends_by,
            cancel_requested_at__isnull=True,
        )
        .exclude(type__period=MembershipType.Period.LIFETIME)
        .exclude(Exists(next_period_charged))
    )


def dues_run_start(*, ends_by, by=None, scheduled: bool = False) -> DuesRun:
    """Queue a run; the task starts once this transaction commits. Refused while
    another run is queued or running."""
    with transaction.atomic():
        busy = (
            DuesRun.objects.select_for_update()
            .filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
            .first()
        )
        if busy is not None:
            raise ValidationError(
                _("A dues run is already under way (%(run)s).") % {"run": busy}
            )
        run = DuesRun.objects.create(
            ends_by=ends_by, created_by=by, scheduled=scheduled
        )
        transaction.on_commit(partial(_run_enqueue, run.pk))
    return run


def _run_enqueue(run_id: int) -> None:
    from .tasks import dues_run

    dues_run.delay(run_id)


def _chunk_renew(run: DuesRun, batch: list[Membership], book: PriceBook) -> dict:
    """Renew one chunk in one transaction; returns the counts to add to the run."""
    counts = {"invoiced": 0, "by_email": 0, "by_post": 0, "free": 0}
    amount = Decimal("0.00")
    specs, pending = [], []
    free = []
    for membership in batch:
        mtype = book.types[membership.type_id]
        start = membership.end + timedelta(days=1)
        end = mtype.period_end(start)
        facts = PricingFacts(
            on=start,
            birth_date=membership.person.birth_date if membership.person_id else None,
            renewal=True,
        )
        holder = membership.organisation or membership.person
        billing_details = {
            **holder_billing(holder),
            "user_id": getattr(holder, "user_id", None),
        }
        lines = book.lines(
            membership=membership,
            mtype=mtype,
            chapter_id=membership.chapter_id,
            period_start=start,
            period_end=end,
            facts=facts,
            language=billing_details["language"],
        )
        total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
        if total <= 0:
            free.append(
                Renewal(
                    membership=membership,
                    period_start=start,
                    period_end=end,
                    amount=Decimal("0.00"),
                    status=Renewal.Status.PAID,
                    run=run,
                )
            )
            continue
        specs.append(
            OrderSpec(
                lines=lines,
                open_amount=mtype.allows_open_amount,
                **billing_details,
            )
        )
        pending.append((membership, start, end))
    with transaction.atomic():
        invoices = orders_invoice_many(specs=specs, by=run.created_by)
        rows_insert(
            Renewal,
            [
                {
                    "membership_id": membership.pk,
                    "period_start": start,
                    "period_end": end,
                    "amount": invoice.total,
                    "order_id": invoice.order_id,
                    "run_id": run.pk,
                }
                for (membership, start, end), invoice in zip(
                    pending, invoices, strict=True
                )
            ],
        )
        objects_insert(Renewal, free)
        for renewal in free:
            _membership_extend(renewal=renewal, by=run.created_by)
        for invoice in invoices:
            amount += invoice.total
            if invoice.delivery == Invoice.Delivery.EMAIL:
                counts["by_email"] += 1
            else:
                counts["by_post"] += 1
        counts["invoiced"] = len(invoices)
        counts["free"] = len(free)
        DuesRun.objects.filter(pk=run.pk).update(
            done=F("done") + len(batch),
            invoiced=F("invoiced") + counts["invoiced"],
            by_email=F("by_email") + counts["by_email"],
            by_post=F("by_post") + counts["by_post"],
            free=F("free") + counts["free"],
            amount=F("amount") + amount,
        )
    return counts


def dues_run_execute(*, run_id: int, chunk_size: int = 1000) -> DuesRun:
    """Do the run: chunk by chunk, each committed on its own, progress on the row.

    A chunk that meets a renewal made meanwhile by someone else rolls back whole
    (orders, invoices, numbers) and is tried again without that membership.
    """
    with transaction.atomic():
        run = DuesRun.objects.select_for_update().get(pk=run_id)
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return run
        due = memberships_due(run.ends_by)
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.total = run.done + due.count()
        run.save(update_fields=["status", "started_at", "total"])
    book = PriceBook()
    last_pk = 0
    conflicts = 0
    try:
        while True:
            batch = list(
                memberships_due(run.ends_by)
                .filter(pk__gt=last_pk)
                .select_related("person", "organisation")
                .only(*RENEWAL_FIELDS)
                .order_by("pk")[:chunk_size]
            )
            if not batch:
                break
            try:
                _chunk_renew(run, batch, book)
            except IntegrityError:
                conflicts += 1
                if conflicts > 3:
                    raise
                logger.warning("Dues run %s met a renewal made meanwhile.", run.pk)
                continue  # the conflicting memberships are no longer due
            conflicts = 0
            last_pk = batch[-1].pk
    except Exception as error:
        logger.exception("Dues run %s failed.", run.pk)
        DuesRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            message=_(
                "Stopped by an error: %(error)s. What was done is kept; "
                "start a new run to go on."
            )
            % {"error": error},
        )
        raise
    DuesRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FINISHED, finished_at=timezone.now()
    )
    run.refresh_from_db()
    logger.info(
        "Dues run %s: %s invoiced, %s free, %s in all.",
        run.pk,
        run.invoiced,
        run.free,
        run.amount,
    )
    return run


def dues_run_scheduled() -> DuesRun | None:
    """Nightly: start a run for periods ending within the settings' days, if the
    association asked for it and something is due."""
    config = RenewalSettings.load()
    if not config.automatic:
        return None
    ends_by = timezone.localdate() + timedelta(days=config.days_ahead)
    if not memberships_due(ends_by).exists():
        return None
    try:
        return dues_run_start(ends_by=ends_by, scheduled=True)
    except ValidationError:
        return None


# Paid, cancelled ---------------------------------------------------------------------


def _membership_extend(*, renewal: Renewal, by=None) -> None:
    membership = Membership.objects.select_for_update().get(pk=renewal.membership_id)
    if membership.end is None or membership.end < renewal.period_end:
        membership.end = renewal.period_end
        membership._history_user = by
        membership.save(update_fields=["end"])
    if membership.status == Status.ENDED:
        membership_transition(
            membership=membership,
            to_status=Status.ACTIVE,
            by=by,
            note=_("Renewal paid after the membership had lapsed."),
        )


@transaction.atomic
def renewal_paid(*, renewal: Renewal, by=None) -> Renewal:
    """The renewal's order was paid: the membership runs to the period's end, and a
    receipt (with thanks for any gift) goes to the member. Idempotent."""
    locked = Renewal.objects.select_for_update().get(pk=renewal.pk)
    if locked.status != Renewal.Status.OPEN:
        return locked
    _membership_extend(renewal=locked, by=by)
    locked.status = Renewal.Status.PAID
    locked.save(update_fields=["status"])
    transaction.on_commit(partial(_receipt_enqueue, locked.pk))
    return locked


def _receipt_enqueue(renewal_id: int) -> None:
    from .tasks import renewal_receipt_email

    renewal_receipt_email.delay(renewal_id)


def renewal_receipt_send(*, renewal_id: int) -> bool:
    from .applications import gifts_of
    from .joining import _email

    renewal = Renewal.objects.select_related(
        "membership__type", "membership__person", "membership__organisation", "order"
    ).get(pk=renewal_id)
    order = renewal.order
    if order is None or not order.customer_email:
        return False
    _email(
        template="renewal_receipt",
        context={
            "renewal": renewal,
            "membership": renewal.membership,
            "order": order,
            "paid": billing.order_paid_amount(order),
            "gift": gifts_of(order),
        },
        to=[order.customer_email],
        language=order.language,
    )
    return True


@transaction.atomic
def renewal_cancelled(*, renewal: Renewal) -> None:
    Renewal.objects.filter(pk=renewal.pk, status=Renewal.Status.OPEN).update(
        status=Renewal.Status.CANCELLED
    )


def renewals_open_cancel(*, membership: Membership, reason: str, by=None) -> int:
    """Credit the open renewal invoices of a membership that is not to go on."""
    cancelled = 0
    for renewal in membership.renewals.filter(
        status=Renewal.Status.OPEN
    ).select_related("order"):
        if renewal.order is None:
            continue
        invoice = renewal.order.invoices.filter(
            kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN
        ).first()
        if invoice is not None:
            billing.credit_note_issue(invoice=invoice, reason=reason, by=by)
        elif renewal.order.status == renewal.order.Status.OPEN:
            billing.order_transition(
                order=renewal.order,
                to_status=renewal.order.Status.CANCELLED,
                by=by,
                note=reason,
            )
        renewal_cancelled(renewal=renewal)
        cancelled += 1
    return cancelled


# Ending at the end of the period ---------------------------------------------------------


def membership_cancel_token(membership: Membership) -> str:
    return signing.Signer(salt=CANCEL_SALT).sign(str(membership.pk))


def membership_from_cancel_token(token: str) -> Membership | None:
    try:
        pk = signing.Signer(salt=CANCEL_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return (
        Membership.objects.select_related("type", "person", "organisation")
        .filter(pk=pk)
        .first()
    )


@transaction.atomic
def membership_cancel_at_period_end(*, membership: Membership, by=None) -> Membership:
    """The member ends their membership at the end of the period they paid for: it
    is not renewed, no grace period follows, and an unpaid renewal is credited."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.status not in (Status.ACTIVE, Status.APPLIED, Status.PENDING_PAYMENT):
        raise JoinError(_("This membership has already ended."))
    if locked.cancel_requested_at is not None:
        return locked
    if locked.status != Status.ACTIVE:
        membership_transition(
            membership=locked,
            to_status=Status.CANCELLED,
            by=by,
            note=_("The applicant withdrew."),
        )
        Application.objects.filter(membership=locked, status__in=UNFINISHED).update(
            status=AppStatus.CANCELLED
        )
        membership.refresh_from_db()
        return membership
    locked.cancel_requested_at = timezone.now()
    locked._history_user = by
    locked.save(update_fields=["cancel_requested_at"])
    renewals_open_cancel(
        membership=locked,
        reason=_("The member ended the membership at the end of the period."),
        by=by,
    )
    membership.refresh_from_db()
    return membership
