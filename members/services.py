"""State changes of the register. Views, admin actions, tasks and commands call these."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    Committee,
    CommitteeMembership,
    Employment,
    Membership,
    MembershipStatusChange,
    MembershipType,
    Person,
)

logger = logging.getLogger(__name__)

#: Sent after a membership's status changed: membership, from_status, to_status.
membership_status_changed = Signal()

Status = Membership.Status

#: Which status may follow which. Anything else is refused.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.APPLIED: {
        Status.PENDING_PAYMENT,
        Status.ACTIVE,
        Status.REJECTED,
        Status.CANCELLED,
    },
    Status.PENDING_PAYMENT: {Status.ACTIVE, Status.CANCELLED},
    Status.ACTIVE: {Status.ENDED},
    Status.ENDED: {Status.ACTIVE},  # reinstated, e.g. a late payment arrived
    Status.REJECTED: set(),
    Status.CANCELLED: set(),
}


class TransitionNotAllowed(ValidationError):
    pass


@transaction.atomic
def membership_transition(
    *,
    membership: Membership,
    to_status: str,
    by=None,
    note: str = "",
    end_reason: str = "",
) -> Membership:
    """Move a membership to ``to_status`` if the table allows it; record who and why."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    from_status = locked.status
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise TransitionNotAllowed(
            _("A membership that is “%(from)s” cannot become “%(to)s”.")
            % {"from": Status(from_status).label, "to": Status(to_status).label}
        )
    locked.status = to_status
    if to_status == Status.ENDED:
        locked.end_reason = end_reason or Membership.EndReason.OTHER
        if locked.end is None or locked.end > timezone.localdate():
            locked.end = max(timezone.localdate(), locked.start)
    elif to_status == Status.ACTIVE:
        locked.end_reason = ""
    locked._history_user = by
    locked.save()
    MembershipStatusChange.objects.create(
        membership=locked,
        from_status=from_status,
        to_status=to_status,
        changed_by=by,
        note=note,
    )
    membership.refresh_from_db()
    transaction.on_commit(
        lambda: membership_status_changed.send(
            sender=Membership,
            membership=locked,
            from_status=from_status,
            to_status=to_status,
        )
    )
    holder_users_sync(membership=locked)
    return membership


def membership_activate(
    *, membership: Membership, by=None, note: str = ""
) -> Membership:
    """Payment confirmed or application approved: the membership and its access begin.

    A membership that had ended (a late payment arrived) is reinstated for the period
    that contains today, so access returns at once and it does not lapse again the
    next night; the earlier end stays in the history.
    """
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        new_end = membership.end
        if membership.status == Status.ENDED:
            today = timezone.localdate()
            new_end = membership.type.period_end(max(today, membership.start))
        elif membership.end is None:
            new_end = membership.type.period_end(membership.start)
        if new_end != membership.end:
            membership.end = new_end
            membership._history_user = by
            membership.save(update_fields=["end"])
        membership = membership_transition(
            membership=membership, to_status=Status.ACTIVE, by=by, note=note
        )
        if membership.person_id:
            person_assign_member_number(person=membership.person)
    return membership


def membership_end(
    *,
    membership: Membership,
    reason: str,
    end: date | None = None,
    by=None,
    note: str = "",
) -> Membership:
    """End a membership now (resignation, expulsion, death): access goes at once."""
    with transaction.atomic():
        membership.end = end or timezone.localdate()
        membership._history_user = by
        membership.save(update_fields=["end"])
        return membership_transition(
            membership=membership,
            to_status=Status.ENDED,
            by=by,
            note=note,
            end_reason=reason,
        )


def person_assign_member_number(*, person: Person, attempts: int = 5) -> int:
    """Give the person the next member number, once; safe under concurrent calls."""
    if person.member_number:
        return person.member_number
    for _attempt in range(attempts):
        try:
            with transaction.atomic():
                locked = Person.objects.select_for_update().get(pk=person.pk)
                if locked.member_number:
                    person.member_number = locked.member_number
                    return locked.member_number
                current = Person.objects.aggregate(top=Max("member_number"))["top"] or 0
                locked.member_number = current + 1
                locked.save(update_fields=["member_number"])  # recorded in history
        except IntegrityError:
            continue
        person.member_number = locked.member_number
        return person.member_number
    raise RuntimeError("Could not assign a member number")


# --- Access follows the membership ----------------------------------------------------


def managed_groups() -> set[int]:
    """Groups that memberships and committee seats grant; these are given and taken
    only by them (a committee's group is its current members: ``Committee.group``)."""
    return set(
        MembershipType.groups.through.objects.values_list("group_id", flat=True)
    ) | set(
        Committee.objects.filter(group__isnull=False).values_list("group_id", flat=True)
    )


def person_entitled_groups(*, person: Person, on: date | None = None) -> set[int]:
    """Groups the person's own memberships and current employers' memberships grant,
    and the groups of the active committees they have a current seat on."""
    on = on or timezone.localdate()
    seats = set(
        CommitteeMembership.objects.current(on)
        .filter(
            person=person, committee__is_active=True, committee__group__isnull=False
        )
        .values_list("committee__group_id", flat=True)
    )
    own = Membership.objects.granting_access(on).filter(person=person)
    employers = (
        Employment.objects.current(on).filter(person=person).values("organisation")
    )
    inherited = Membership.objects.granting_access(on).filter(
        organisation__in=employers
    )
    type_ids = set(own.values_list("type_id", flat=True)) | set(
        inherited.values_list("type_id", flat=True)
    )
    return seats | set(
        MembershipType.groups.through.objects.filter(
            membershiptype_id__in=type_ids
        ).values_list("group_id", flat=True)
    )


@transaction.atomic
def user_sync_groups(*, user, on: date | None = None) -> None:
    """Give the user exactly the managed groups their memberships entitle them to."""
    person = Person.objects.filter(user=user).first()
    wanted = person_entitled_groups(person=person, on=on) if person else set()
    managed = managed_groups()
    current = set(user.groups.values_list("pk", flat=True))
    to_add = (wanted - current) & managed
    to_remove = (current & managed) - wanted
    if to_add:
        user.groups.add(*Group.objects.filter(pk__in=to_add))
    if to_remove:
        user.groups.remove(*Group.objects.filter(pk__in=to_remove))
    if to_add or to_remove:
        logger.info(
            "Access for %s: +%s -%s", user.pk, sorted(to_add), sorted(to_remove)
        )


def users_sync_groups(users: Iterable, on: date | None = None) -> int:
    count = 0
    for user in users:
        user_sync_groups(user=user, on=on)
        count += 1
    return count


def holder_users_sync(*, membership: Membership) -> None:
    """Re-check access for whoever a membership gives access to."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    if membership.person_id:
        users = User.objects.filter(person__pk=membership.person_id)
    else:
        people = Employment.objects.filter(organisation_id=membership.organisation_id)
        users = User.objects.filter(person__in=people.values("person"))
    users_sync_groups(users.iterator(chunk_size=500))


def memberships_lapse(*, on: date | None = None, chunk_size: int = 500) -> int:
    """Nightly: end active memberships whose end and grace period have passed, and
    those their holder chose to end whose period is over (no grace for them).

    Safe to run twice: a lapsed membership is no longer active, so it is not found
    again. Users who lost access through an employment that ended are checked too.
    """
    on = on or timezone.localdate()
    still_granting = Membership.objects.granting_access(on).values("pk")
    due = (
        Membership.objects.filter(status=Status.ACTIVE, end__lt=on)
        .exclude(pk__in=still_granting)
        .select_related("type")
    )
    lapsed = 0
    for membership in due.iterator(chunk_size=chunk_size):
        if membership.cancel_requested_at is not None:
            note = _("Ended at the end of the period, as the member asked.")
            reason = Membership.EndReason.RESIGNED
        else:
            note = _("Ended after the grace period without renewal.")
            reason = Membership.EndReason.LAPSED
        membership_transition(
            membership=membership,
            to_status=Status.ENDED,
            note=note,
            end_reason=reason,
        )
        lapsed += 1
    employment_users_sync(since=on - timedelta(days=7), until=on)
    seat_users_sync(since=on - timedelta(days=7), until=on)
    return lapsed


def employment_users_sync(*, since: date, until: date) -> int:
    """Re-check users whose employment ended between ``since`` and ``until``."""
    from django.contrib.auth import get_user_model

    ended = Employment.objects.filter(end__gte=since, end__lt=until).values("person")
    users = get_user_model().objects.filter(person__in=ended)
    return users_sync_groups(users.iterator(chunk_size=500), on=until)


def seat_users_sync(*, since: date, until: date) -> int:
    """Re-check users whose committee seat ended, or began, between ``since`` and
    ``until``: a term set in advance gives or takes the group on its day."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    changed = CommitteeMembership.objects.filter(
        Q(end__gte=since, end__lt=until) | Q(start__gt=since, start__lte=until)
    ).values("person")
    users = get_user_model().objects.filter(person__in=changed)
    return users_sync_groups(users.iterator(chunk_size=500), on=until)


def committee_users_sync(*, committee: Committee) -> int:
    """Re-check everyone who has or had a seat on ``committee`` (its group or its
    active flag changed)."""
    from django.contrib.auth import get_user_model

    seated = CommitteeMembership.objects.filter(committee=committee).values("person")
    users = get_user_model().objects.filter(person__in=seated)
    return users_sync_groups(users.iterator(chunk_size=500))


@transaction.atomic
def employment_end(
    *, employment: Employment, end: date | None = None, by=None
) -> Employment:
    """The person no longer works there: inherited access goes when the end has passed."""
    employment.end = end or timezone.localdate()
    employment._history_user = by
    employment.full_clean()
    employment.save()
    if employment.person.user_id:
        user_sync_groups(user=employment.person.user)
    return employment
