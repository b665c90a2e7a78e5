"""What happens to an application after it is sent: staff approve or reject it, and
when ``shop`` says its order was paid (``members.receivers``) ``application_complete``
activates the membership, gives the person a user account and its groups, and sends
the welcome e-mail with a personal sign-in link and a link to end the membership.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import billing
from shop.models import Gift, Invoice, Order
from shop.paylinks import pay_url

from .dues import membership_cancel_token
from .joining import (
    UNFINISHED,
    JoinError,
    _absolute,
    _application_bill,
    _email,
    person_user_ensure,
)
from .models import Application, Membership, Person
from .services import (
    Status,
    membership_activate,
    membership_transition,
    user_sync_groups,
)

logger = logging.getLogger(__name__)

AppStatus = Application.Status


# Decisions ----------------------------------------------------------------------------


def _lock_unfinished(application: Application, status: str) -> Application:
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status != status:
        raise JoinError(
            _("The application from %(name)s is no longer “%(status)s”.")
            % {"name": locked.applicant_name, "status": AppStatus(status).label}
        )
    return locked


@transaction.atomic
def application_approve(*, application: Application, by) -> Application:
    """Staff accept the application: the applicant is asked to pay (or, if it costs
    nothing, becomes a member at once) and is told by e-mail."""
    locked = _lock_unfinished(application, AppStatus.AWAITING_APPROVAL)
    locked.decided_at = timezone.now()
    locked.decided_by = by
    locked.save(update_fields=["decided_at", "decided_by", "updated_at"])
    _application_bill(locked)
    locked.refresh_from_db()
    if locked.status == AppStatus.AWAITING_PAYMENT:
        _email(
            template="application_approved",
            context={"application": locked, "url": pay_url(locked.order)},
            to=[locked.email],
            language=locked.language,
        )
    application.refresh_from_db()
    return locked


@transaction.atomic
def application_reject(*, application: Application, reason: str, by) -> Application:
    """Staff turn the application down, with a reason the applicant is sent."""
    reason = (reason or "").strip()
    if not reason:
        raise JoinError(_("Say why the application is rejected."))
    locked = _lock_unfinished(application, AppStatus.AWAITING_APPROVAL)
    membership_transition(
        membership=locked.membership, to_status=Status.REJECTED, by=by, note=reason
    )
    locked.status = AppStatus.REJECTED
    locked.decided_at = timezone.now()
    locked.decided_by = by
    locked.decision_reason = reason
    locked.save()
    _email(
        template="application_rejected",
        context={"application": locked, "reason": reason},
        to=[locked.email],
        language=locked.language,
    )
    application.refresh_from_db()
    return locked


def applications_approve(*, applications, by) -> int:
    """Approve many at once, each in its own transaction; those no longer awaiting
    approval (another clerk was quicker) are left alone. Returns how many."""
    done = 0
    for application in applications:
        try:
            application_approve(application=application, by=by)
        except JoinError:
            continue
        done += 1
    return done


def applications_reject(*, applications, reason: str, by) -> int:
    if not (reason or "").strip():
        raise JoinError(_("Say why the applications are rejected."))
    done = 0
    for application in applications:
        try:
            application_reject(application=application, reason=reason, by=by)
        except JoinError:
            continue
        done += 1
    return done


# Completing ---------------------------------------------------------------------------


@transaction.atomic
def application_complete(*, application: Application, by=None) -> Application:
    """The application is paid for (or free): the membership begins today, the
    person gets an account and the type's groups, and the welcome e-mail goes out.
    A second call changes nothing."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status not in UNFINISHED:
        return locked
    person = Person.objects.get(pk=locked.person_id)
    user = person_user_ensure(person=person)
    membership = Membership.objects.select_for_update().get(pk=locked.membership_id)
    today = timezone.localdate()
    if membership.status in (Status.APPLIED, Status.PENDING_PAYMENT):
        if membership.start < today:
            membership.start = today
            membership.end = None
            membership._history_user = by
            membership.save(update_fields=["start", "end"])
        membership_activate(
            membership=membership,
            by=by,
            note=_("Paid online.") if locked.order_id else _("Joined."),
        )
    locked.status = AppStatus.COMPLETED
    locked.save(update_fields=["status", "updated_at"])
    if user is not None:
        user_sync_groups(user=user)
        if locked.order_id:
            billing.order_user_link(order=locked.order, user=user)
    transaction.on_commit(partial(_welcome_send_after_commit, locked.pk))
    application.refresh_from_db()
    return locked


def _welcome_send_after_commit(application_id: int) -> None:
    from .tasks import welcome_email

    welcome_email.delay(application_id)


def _members_path(application: Application) -> str:
    """Where the join page sends new members: its members page, else the front."""
    from .models import JoinPage

    page = (
        JoinPage.objects.filter(pk=application.answers.get("join_page_id") or 0)
        .select_related("members_page")
        .first()
    )
    if page is not None and page.members_page is not None:
        return page.members_page.url or "/"
    return "/"


def gifts_of(order: Order | None) -> Decimal:
    if order is None:
        return Decimal("0.00")
    return sum(
        (gift.amount for gift in Gift.objects.filter(order=order)), Decimal("0.00")
    )


def welcome_send(*, application_id: int) -> bool:
    """The welcome e-mail: membership, receipt (and thanks for a gift), a personal
    sign-in link and the link to end the membership. Called by a task."""
    from guildhall.accounts.signin_links import may_use_links, signin_url

    application = Application.objects.select_related(
        "person__user", "membership__type", "order", "organisation"
    ).get(pk=application_id)
    person = application.person
    user = person.user
    next_path = _members_path(application)
    context = {
        "application": application,
        "person": person,
        "membership": application.membership,
        "order": application.order,
        "paid": billing.order_paid_amount(application.order)
        if application.order
        else Decimal("0.00"),
        "gift": gifts_of(application.order),
        "signin_url": signin_url(user, next_path) if may_use_links(user) else "",
        "cancel_url": _absolute(
            reverse(
                "members:membership_cancel",
                kwargs={"token": membership_cancel_token(application.membership)},
            )
        ),
    }
    _email(
        template="welcome",
        context=context,
        to=[(user.email if user else "") or application.email],
        language=application.language or person.preferred_language,
    )
    return True


def application_mark_invoiced(*, invoice: Invoice) -> None:
    """The applicant chose to pay by invoice: the membership waits for the bank
    payment, and the invoice is e-mailed (or queued as a letter)."""
    from shop.notifications import invoice_send

    application = (
        Application.objects.filter(order_id=invoice.order_id, status__in=UNFINISHED)
        .select_related("membership")
        .first()
    )
    if application is None or invoice.kind != Invoice.Kind.INVOICE:
        return
    if application.membership.status == Status.APPLIED:
        membership_transition(
            membership=application.membership,
            to_status=Status.PENDING_PAYMENT,
            note=_("Invoice %(number)s sent; waiting for the bank payment.")
            % {"number": invoice.display_number},
        )
    invoice_send(invoice=invoice)


@transaction.atomic
def application_cancel(*, application: Application, by=None, note: str = "") -> None:
    """The application's order was cancelled (its invoice credited): it ends here."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status not in UNFINISHED:
        return
    membership = locked.membership
    if membership.status in (Status.APPLIED, Status.PENDING_PAYMENT):
        membership_transition(
            membership=membership, to_status=Status.CANCELLED, by=by, note=note
        )
    locked.status = AppStatus.CANCELLED
    locked.save(update_fields=["status", "updated_at"])
