"""What a signed-in user may see in My Account, read in a fixed number of queries.

A user sees their own person's memberships and orders, the orders linked to their
account, and the memberships and orders of each organisation they are the current
contact of (a current ``Employment`` with ``is_contact``). Anything else does not
exist as far as My Account is concerned: lookups return None, never "forbidden".

``shop`` knows nothing of members: the link from an order to its customer is the
generic ``customer_type``/``customer_id`` pair, matched here by content type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    DecimalField,
    Prefetch,
    Q,
    QuerySet,
)

from members.models import (
    Employment,
    JoinPage,
    Membership,
    MembershipStatusChange,
    Organisation,
    Person,
    Renewal,
)
from shop.models import Invoice, Order, OrderLine, Payment
from shop.paylinks import pay_path
from shop.selectors import outstanding_expression

MONEY_FIELD = DecimalField(max_digits=12, decimal_places=2)
ZERO = Decimal("0.00")

#: Memberships that are still going or still on their way.
CURRENT_STATUSES = (
    Membership.Status.APPLIED,
    Membership.Status.PENDING_PAYMENT,
    Membership.Status.ACTIVE,
)


# Who the user is ------------------------------------------------------------------


def person_for(user) -> Person | None:
    """The register's person behind ``user``, or None (staff, or not yet linked).
    A record merged into another, or archived, shows nothing."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Person.objects.filter(
            user=user, merged_into__isnull=True, archived_at__isnull=True
        )
        .only("pk", "first_name", "last_name", "member_number", "user_id")
        .first()
    )


def contact_organisation_ids(person: Person | None, on: date | None = None) -> list:
    """The organisations ``person`` is the current contact of."""
    if person is None:
        return []
    return list(
        Employment.objects.current(on)
        .filter(person=person, is_contact=True)
        .order_by()
        .values_list("organisation_id", flat=True)
        .distinct()
    )


@dataclass
class Viewer:
    """The signed-in user with what decides their view: their person and the
    organisations they speak for. Built once per request (two small queries)."""

    user: object
    person: Person | None
    organisation_ids: list = field(default_factory=list)

    @property
    def has_person(self) -> bool:
        return self.person is not None


def viewer_for(user) -> Viewer:
    person = person_for(user)
    return Viewer(
        user=user, person=person, organisation_ids=contact_organisation_ids(person)
    )


# Memberships ----------------------------------------------------------------------


def _holder_filter(viewer: Viewer) -> Q:
    if viewer.person is None:
        return Q(pk__in=[])
    return Q(person=viewer.person) | Q(organisation_id__in=viewer.organisation_ids)


def memberships_visible_to(viewer: Viewer) -> QuerySet[Membership]:
    """The viewer's own memberships and those of the organisations they are the
    current contact of, with their history and open renewals prefetched."""
    open_renewals = (
        Renewal.objects.filter(
            status=Renewal.Status.OPEN, order__status=Order.Status.OPEN
        )
        .select_related("order")
        .annotate(outstanding=outstanding_expression("order__"))
        .order_by("period_start", "pk")
    )
    return (
        Membership.objects.filter(_holder_filter(viewer))
        .select_related("type", "chapter", "person", "organisation")
        .prefetch_related(
            Prefetch(
                "status_changes",
                queryset=MembershipStatusChange.objects.order_by("changed_at", "pk"),
            ),
            Prefetch("renewals", queryset=open_renewals, to_attr="open_renewals"),
        )
        .order_by("organisation_id", "-start", "-pk")
    )


def current_memberships(viewer: Viewer) -> QuerySet[Membership]:
    """For the dashboard: what is going on now, without the history."""
    return (
        Membership.objects.filter(_holder_filter(viewer))
        .filter(status__in=CURRENT_STATUSES)
        .select_related("type", "chapter", "person", "organisation")
        .order_by("organisation_id", "-start", "-pk")
    )


def membership_for_ending(viewer: Viewer, pk: int) -> Membership | None:
    """A membership the viewer may end: their own, or one of an organisation they
    are the current contact of. None for anything else, whatever its id."""
    return (
        Membership.objects.filter(_holder_filter(viewer))
        .select_related("type", "chapter", "person", "organisation")
        .filter(pk=pk)
        .first()
    )


def may_end(membership: Membership) -> bool:
    """Offer "end at the end of the period" (visibility is checked by the caller)."""
    return (
        membership.status == Membership.Status.ACTIVE
        and membership.cancel_requested_at is None
    )


@dataclass
class MembershipRow:
    """A membership as My Account shows it, with what the viewer can do next."""

    membership: Membership
    can_end: bool = False
    renewal: Renewal | None = None
    renew_url: str | None = None
    is_lapsed: bool = False

    @property
    def history(self) -> list[MembershipStatusChange]:
        return list(self.membership.status_changes.all())


def membership_rows(viewer: Viewer) -> list[MembershipRow]:
    """The memberships page: each visible membership, its history, and the way to
    renew (the open renewal's pay page, or a join page once it has lapsed)."""
    rows = []
    join_url: str | None = None
    join_looked_up = False
    for membership in memberships_visible_to(viewer):
        renewal = next(iter(membership.open_renewals), None)
        row = MembershipRow(
            membership=membership,
            can_end=may_end(membership),
            renewal=renewal,
            is_lapsed=membership.status == Membership.Status.ENDED
            and membership.end_reason == Membership.EndReason.LAPSED,
        )
        if renewal is not None:
            row.renew_url = pay_path(renewal.order)
        elif row.is_lapsed:
            if not join_looked_up:
                join_url, join_looked_up = join_page_url(), True
            row.renew_url = join_url
        rows.append(row)
    return rows


def join_page_url() -> str | None:
    """Where a lapsed member joins again: the first live join page."""
    page = JoinPage.objects.live().order_by("path").first()
    return page.url if page is not None else None


# Orders and invoices --------------------------------------------------------------


def _customer_filter(viewer: Viewer) -> Q:
    condition = Q(user=viewer.user) if viewer.user.is_authenticated else Q(pk__in=[])
    if viewer.person is not None:
        person_type = ContentType.objects.get_for_model(Person)
        condition |= Q(customer_type=person_type, customer_id=viewer.person.pk)
    if viewer.organisation_ids:
        organisation_type = ContentType.objects.get_for_model(Organisation)
        condition |= Q(
            customer_type=organisation_type, customer_id__in=viewer.organisation_ids
        )
    return condition


def orders_visible_to(user, *, viewer: Viewer | None = None) -> QuerySet[Order]:
    """The orders ``user`` may see in My Account, newest first, each annotated with
    ``outstanding``: their account's, their person's, and those of organisations
    they are the current contact of. Pass ``viewer`` to reuse one already built."""
    viewer = viewer or viewer_for(user)
    return (
        Order.objects.filter(_customer_filter(viewer))
        .annotate(outstanding=outstanding_expression())
        .order_by("-created_at", "-pk")
    )


def orders_with_invoices(orders: QuerySet[Order]) -> QuerySet[Order]:
    """For the list: each order's invoices (with their series, for the number)."""
    return orders.prefetch_related(
        Prefetch(
            "invoices",
            queryset=Invoice.objects.select_related("series").order_by(
                "issued_at", "pk"
            ),
        )
    )


def order_for(viewer: Viewer, code: str) -> Order | None:
    """One order the viewer may see, with lines, invoices, their threads and
    payments; None for any other code."""
    return (
        orders_with_invoices(orders_visible_to(viewer.user, viewer=viewer))
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("position", "pk")),
            Prefetch(
                "payments",
                queryset=Payment.objects.order_by("created_at", "pk"),
            ),
            "invoices__comments",
        )
        .filter(code=code)
        .first()
    )


@dataclass
class Outstanding:
    """What the viewer owes: how many orders, and the sum per currency."""

    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)


def outstanding_for(viewer: Viewer) -> Outstanding:
    """One query, however many orders are open."""
    rows = (
        orders_visible_to(viewer.user, viewer=viewer)
        .filter(status=Order.Status.OPEN)
        .values_list("currency", "outstanding")
    )
    summary = Outstanding()
    for currency, amount in rows:
        if amount and amount > 0:
            summary.count += 1
            summary.totals[currency] = summary.totals.get(currency, ZERO) + amount
    return summary
