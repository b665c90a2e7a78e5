"""Reactions to events from other parts of the project."""

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
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


# A committee's group is its current members ------------------------------------------


def _seat_holder_sync(person_id) -> None:
    from .models import Person
    from .services import user_sync_groups

    person = Person.objects.filter(pk=person_id, user__isnull=False).first()
    if person is not None:
        user_sync_groups(user=person.user)


@receiver(post_save, sender="members.CommitteeMembership", dispatch_uid="seat_saved")
@receiver(post_delete, sender="members.CommitteeMembership", dispatch_uid="seat_gone")
def seat_changed(sender, instance, **kwargs):
    """A seat was given, changed or removed (in the admin, by a merge, anywhere): the
    person's user gets or loses the committee's group once the change is committed."""
    person_id = instance.person_id
    transaction.on_commit(lambda: _seat_holder_sync(person_id))


@receiver(pre_save, sender="members.Committee", dispatch_uid="committee_saving")
def committee_saving(sender, instance, **kwargs):
    instance._group_before = (
        sender.objects.filter(pk=instance.pk).values_list("group_id", flat=True).first()
        if instance.pk
        else None
    )


@receiver(post_save, sender="members.Committee", dispatch_uid="committee_saved")
def committee_saved(sender, instance, created, **kwargs):
    """The committee's group or active flag may have changed: check everyone who
    sits or sat on it. A group no longer given by anything is taken from them."""
    before = getattr(instance, "_group_before", None)

    def sync():
        from django.contrib.auth import get_user_model

        from .models import CommitteeMembership
        from .services import committee_users_sync, managed_groups

        if before and before != instance.group_id and before not in managed_groups():
            seated = CommitteeMembership.objects.filter(committee=instance)
            User = get_user_model()
            User.groups.through.objects.filter(
                group_id=before,
                user_id__in=User.objects.filter(
                    person__in=seated.values("person")
                ).values("pk"),
            ).delete()
        committee_users_sync(committee=instance)

    if not created:
        transaction.on_commit(sync)
