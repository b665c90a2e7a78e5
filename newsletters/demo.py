"""Demo content: three newsletter lists, and the first members of the demo register
on the monthly one with their consent to e-mail (as an import would put them there).
Called by ``seed_demo`` through its app registry; safe to run again."""

from __future__ import annotations

from members.models import Membership, Person

from .models import Channel, NewsletterList
from .services import SOURCE_IMPORT, consent_set, subscription_set

LISTS = (
    ("Monthly news", "News from the guild, the first Monday of every month.", True),
    ("Courses and events", "New courses and events, as soon as they open.", True),
    ("Board information", "Notices for board and committee members.", False),
)

#: How many of the demo's active members are put on the monthly list.
SUBSCRIBED = 20


def seed_demo(*, home) -> None:
    lists = {}
    for name, description, self_service in LISTS:
        lists[name], _created = NewsletterList.objects.get_or_create(
            name=name,
            defaults={"description": description, "self_service": self_service},
        )
    monthly = lists["Monthly news"]
    if monthly.subscriptions.exists():
        return
    people = (
        Person.objects.filter(memberships__status=Membership.Status.ACTIVE)
        .exclude(email="")
        .distinct()
        .order_by("pk")[:SUBSCRIBED]
    )
    for person in people:
        consent_set(
            person=person, channel=Channel.EMAIL, allowed=True, source=SOURCE_IMPORT
        )
        subscription_set(
            person=person, newsletter=monthly, subscribed=True, source=SOURCE_IMPORT
        )
