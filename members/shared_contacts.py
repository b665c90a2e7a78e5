"""What staff chose to share from the contact log with a member or organisation.

Staff mark a contact-log entry as shared when its outcome is meant for the person or
organisation it was with ("we agreed to…"), and mark each of its action items shared
or not; notes and unshared items stay internal. My Account shows the result through
``shared_contacts_for``. An entry with a committee alone belongs to the committee's
group page, not to anyone's My Account: only entries naming the person or the
organisation show here.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from .models import ActionItem, ContactLogEntry, Person


def shared_action_items() -> QuerySet[ActionItem]:
    """Action items a member may see: shared ones, open before done, soonest due
    first."""
    return ActionItem.objects.filter(shared=True).order_by("done_at", "due", "pk")


def shared_contacts_for(
    *, person: Person | None, organisation_ids: Iterable[int] = ()
) -> QuerySet[ContactLogEntry]:
    """The shared contact-log entries with ``person`` or with one of
    ``organisation_ids``, newest first, each with its shared action items only
    (``entry.shared_items``) and its organisation.

    ``organisation_ids`` must be the organisations the person is the current
    contact of (``extranet.selectors.Viewer.organisation_ids``); the caller decides
    that, this function only reads. Two queries however many entries and items
    there are (one when there are none). Slice it for "the latest few".
    """
    condition = Q(pk__in=[])
    if person is not None:
        condition |= Q(person=person)
    organisation_ids = list(organisation_ids)
    if organisation_ids:
        condition |= Q(organisation_id__in=organisation_ids)
    return (
        ContactLogEntry.objects.filter(condition, shared=True)
        .select_related("organisation")
        .prefetch_related(
            Prefetch(
                "action_items",
                queryset=shared_action_items(),
                to_attr="shared_items",
            )
        )
        .order_by("-occurred_at", "-pk")
    )
