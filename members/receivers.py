"""Reactions to events from other parts of the project."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from shop import signals as shop_signals


@receiver(user_logged_in, dispatch_uid="members_sync_access_on_sign_in")
def sync_access_on_sign_in(sender, request, user, **kwargs):
    """Groups follow memberships: check them again whenever someone signs in."""
    from .services import user_sync_groups

    user_sync_groups(user=user)


@receiver(shop_signals.order_paid, dispatch_uid="members_order_paid")
def order_paid(sender, order, by=None, **kwargs):
    """Access follows money: a paid application or renewal takes effect at once, in
    the transaction that recorded the payment."""
    from .applications import application_complete
    from .dues import renewal_paid
    from .joining import UNFINISHED
    from .models import Application, Renewal

    for application in Application.objects.filter(order=order, status__in=UNFINISHED):
        application_complete(application=application, by=by)
    for renewal in Renewal.objects.filter(order=order, status=Renewal.Status.OPEN):
        renewal_paid(renewal=renewal, by=by)


@receiver(shop_signals.order_cancelled, dispatch_uid="members_order_cancelled")
def order_cancelled(sender, order, by=None, **kwargs):
    """An unpaid application's or renewal's order was cancelled (credited)."""
    from django.utils.translation import gettext as _

    from .applications import application_cancel
    from .dues import renewal_cancelled
    from .joining import UNFINISHED
    from .models import Application, Renewal

    for application in Application.objects.filter(order=order, status__in=UNFINISHED):
        application_cancel(
            application=application, by=by, note=_("The order was cancelled.")
        )
    for renewal in Renewal.objects.filter(order=order, status=Renewal.Status.OPEN):
        renewal_cancelled(renewal=renewal)


@receiver(shop_signals.invoice_issued, dispatch_uid="members_invoice_issued")
def invoice_issued(sender, invoice, by=None, **kwargs):
    """An applicant chose to pay by invoice: the membership waits for the bank."""
    from .applications import application_mark_invoiced

    application_mark_invoiced(invoice=invoice)
