"""A member's privacy: seeing what the register holds about them, and leaving it.

``person_data_export`` gathers everything the register and the shop hold about one
person (current values; the change history stays with staff). ``person_data_csv``
is the same as a ZIP of CSV files, one per section. ``person_closure_request``
records that the member asked to close their account and tells the staff;
``person_anonymise`` is what staff do once they have confirmed it.

Members cannot delete their data themselves (shared/DESIGN.md): closing an account
is a request that staff act on, and what the law requires the association to keep
(orders, invoices, payments) is kept.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shop.models import Invoice, Order, OrderLine, Payment

from . import services
from .inquiries import inquiries_anonymise, inquiries_export
from .models import (
    Application,
    CommitteeMembership,
    ContactLogEntry,
    Employment,
    Membership,
    MembershipStatusChange,
    Person,
)

#: What a person's names become when they are anonymised.
ANONYMISED_NAME = "Anonymised"

#: The person's own details that are exported (current values only).
PERSON_FIELDS = (
    "member_number",
    "first_name",
    "last_name",
    "birth_date",
    "email",
    "email_secondary",
    "phone",
    "phone_mobile",
    "preferred_language",
    "postal_street",
    "postal_postcode",
    "postal_city",
    "postal_country",
    "visiting_street",
    "visiting_postcode",
    "visiting_city",
    "invoices_by_post",
    "created_at",
    "archived_at",
)

#: Personal fields of a person (and of its history rows) and their blank values.
SCRUBBED_FIELDS = {
    "first_name": ANONYMISED_NAME,
    "last_name": ANONYMISED_NAME,
    "birth_date": None,
    "email": "",
    "email_secondary": "",
    "phone": "",
    "phone_mobile": "",
    "postal_street": "",
    "postal_postcode": "",
    "postal_city": "",
    "postal_country": "",
    "visiting_street": "",
    "visiting_postcode": "",
    "visiting_city": "",
    "extra": {},
}

CLOSURE_NOTE = "Account closed at the member's request"


# Extension point: what other apps hold about a person -------------------------------
#
# ``members`` imports none of the apps that build on it (newsletters, events, ...),
# yet a member's data download must include what those apps hold, and anonymising
# a person must reach their data too. Such an app registers, in its
# ``AppConfig.ready()``::
#
#     from members.privacy import anonymise_step_register, export_section_register
#
#     export_section_register("subscriptions", subscriptions_export)
#     anonymise_step_register(subscriptions_end_for_anonymised)
#
# ``export_section_register(key, function)``: ``function(person=...)`` returns a list
# of dicts (plain values; a list inside a dict becomes its own CSV file), exported
# under ``key`` after the register's own sections. Registering a key again replaces
# the function. ``anonymise_step_register(function)``: ``function(person=..., by=...)``
# runs inside ``person_anonymise``'s transaction, after the memberships have ended
# and before the person's details are removed; raising refuses the anonymisation.

_EXPORT_SECTIONS: dict = {}
_ANONYMISE_STEPS: list = []


def export_section_register(key: str, function) -> None:
    """Add ``function(person=...) -> list[dict]`` to the export as section ``key``."""
    _EXPORT_SECTIONS[key] = function


def anonymise_step_register(function) -> None:
    """Run ``function(person=..., by=...)`` whenever a person is anonymised."""
    if function not in _ANONYMISE_STEPS:
        _ANONYMISE_STEPS.append(function)


# Export ---------------------------------------------------------------------------


def _plain(value):
    """A value as JSON and CSV carry it: dates as ISO text, money as exact text."""
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat()
            if timezone.is_aware(value)
            else (value.isoformat())
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _person_orders(person: Person):
    """Orders where the person is the customer, or that their user account placed."""
    condition = Q(
        customer_type=ContentType.objects.get_for_model(Person),
        customer_id=person.pk,
    )
    if person.user_id:
        condition |= Q(user_id=person.user_id)
    return (
        Order.objects.filter(condition)
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("position", "pk")),
            Prefetch(
                "invoices",
                queryset=Invoice.objects.select_related("series").order_by(
                    "issued_at", "pk"
                ),
            ),
            Prefetch("payments", queryset=Payment.objects.order_by("created_at", "pk")),
        )
        .order_by("created_at", "pk")
    )


def _order_data(order: Order) -> dict:
    return {
        "code": order.code,
        "status": order.status,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "currency": order.currency,
        "total": order.total,
        "vat_total": order.vat_total,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "customer_phone": order.customer_phone,
        "billing_address": order.billing_address,
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "vat_rate": line.vat_rate,
                "total": line.total,
            }
            for line in order.lines.all()
        ],
        "invoices": [
            {
                "number": invoice.display_number,
                "kind": invoice.kind,
                "status": invoice.status,
                "issue_date": invoice.issue_date,
                "due_date": invoice.due_date,
                "currency": invoice.currency,
                "total": invoice.total,
                "vat_total": invoice.vat_total,
                "buyer_name": invoice.buyer_name,
                "buyer_email": invoice.buyer_email,
                "buyer_address": invoice.buyer_address,
                "kid": invoice.kid or "",
            }
            for invoice in order.invoices.all()
        ],
        "payments": [
            {
                "method": payment.provider,
                "state": payment.state,
                "amount": payment.amount,
                "currency": payment.currency,
                "started_at": payment.created_at,
                "confirmed_at": payment.confirmed_at,
            }
            for payment in order.payments.all()
        ],
    }


def person_data_export(*, person: Person) -> dict:
    """Everything the register and the shop hold about ``person``, as plain data:
    texts, numbers, ISO dates and money as exact strings (JSON-ready)."""
    details = {name: getattr(person, name) for name in PERSON_FIELDS}
    details["chapter"] = person.chapter.name if person.chapter_id else ""
    details["tags"] = [tag.name for tag in person.tags.all()]
    details["relation_types"] = [kind.name for kind in person.relation_types.all()]
    details["extra"] = dict(person.extra or {})
    details["user_account"] = person.user.email if person.user_id else ""

    memberships = (
        Membership.objects.filter(person=person)
        .select_related("type", "chapter")
        .prefetch_related(
            Prefetch(
                "status_changes",
                queryset=MembershipStatusChange.objects.order_by("changed_at", "pk"),
            )
        )
        .order_by("start", "pk")
    )
    employments = (
        Employment.objects.filter(person=person)
        .select_related("organisation", "function_classification")
        .order_by("start", "pk")
    )
    seats = (
        CommitteeMembership.objects.filter(person=person)
        .select_related("committee")
        .order_by("start", "pk")
    )
    applications = (
        Application.objects.filter(person=person)
        .select_related("type", "chapter", "organisation")
        .order_by("created_at", "pk")
    )
    contacts = ContactLogEntry.objects.filter(person=person).order_by(
        "occurred_at", "pk"
    )
    data = {
        "generated_at": timezone.now(),
        "person": details,
        "memberships": [
            {
                "type": membership.type.name,
                "chapter": membership.chapter.name,
                "start": membership.start,
                "end": membership.end,
                "status": membership.status,
                "end_reason": membership.end_reason,
                "cancel_requested_at": membership.cancel_requested_at,
                "status_history": [
                    {
                        "from_status": change.from_status,
                        "to_status": change.to_status,
                        "changed_at": change.changed_at,
                        "note": change.note,
                    }
                    for change in membership.status_changes.all()
                ],
            }
            for membership in memberships
        ],
        "employments": [
            {
                "organisation": employment.organisation.name,
                "function": employment.function_title,
                "function_classification": (
                    employment.function_classification.name
                    if employment.function_classification_id
                    else ""
                ),
                "start": employment.start,
                "end": employment.end,
                "is_contact": employment.is_contact,
            }
            for employment in employments
        ],
        "committee_seats": [
            {
                "committee": seat.committee.name,
                "position": seat.position,
                "start": seat.start,
                "end": seat.end,
            }
            for seat in seats
        ],
        "applications": [
            {
                "sent_at": application.created_at,
                "status": application.status,
                "type": application.type.name,
                "chapter": application.chapter.name,
                "organisation": (
                    application.organisation.name if application.organisation_id else ""
                ),
                "email": application.email,
                "language": application.language,
                "gift_amount": application.gift_amount,
                "consents": [
                    consent
                    for consent in (application.answers or {}).get("consents", [])
                    if isinstance(consent, dict)
                ],
                "answers": {
                    key: value
                    for key, value in (application.answers or {}).items()
                    if key not in ("consents", "join_page_id")
                },
                "decided_at": application.decided_at,
            }
            for application in applications
        ],
        "contact_log": [
            {
                "occurred_at": entry.occurred_at,
                "kind": entry.kind,
                "subject": entry.subject,
                "notes": entry.notes,
                "outcome": entry.outcome,
            }
            for entry in contacts
        ],
        "orders": [_order_data(order) for order in _person_orders(person)],
        "inquiries": inquiries_export(person=person),
    }
    for key, section in _EXPORT_SECTIONS.items():
        data.setdefault(key, section(person=person))
    return _plain(data)


def person_data_json(*, person: Person) -> bytes:
    """The export as indented UTF-8 JSON."""
    return json.dumps(
        person_data_export(person=person), indent=2, ensure_ascii=False
    ).encode("utf-8")


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell a spreadsheet will show as text, never run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if text[:1] in _FORMULA_PREFIXES:
        try:
            Decimal(text)
        except InvalidOperation:
            return "'" + text
    return text


def _csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    # A byte-order mark so spreadsheet programs read the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _flatten(name: str, items: list[dict], files: dict[str, bytes], parent=None):
    """One CSV for ``items``; a list inside an item becomes its own file, each row
    naming its parent's row number."""
    if not items:
        return
    columns = [key for key, value in items[0].items() if not isinstance(value, list)]
    nested = [key for key, value in items[0].items() if isinstance(value, list)]
    header = (["parent_row"] if parent else []) + ["row", *columns]
    rows = []
    children: dict[str, list[dict]] = {key: [] for key in nested}
    for number, item in enumerate(items, start=1):
        row_id = f"{parent[number - 1]}.{number}" if parent else str(number)
        rows.append(
            ([parent[number - 1]] if parent else [])
            + [row_id]
            + [item.get(key) for key in columns]
        )
        for key in nested:
            for child in item.get(key) or []:
                if not isinstance(child, dict):
                    child = {"value": child}
                children[key].append((row_id, child))
    files[f"{name}.csv"] = _csv_bytes(header, rows)
    for key, pairs in children.items():
        if pairs:
            _flatten(
                f"{name}_{key}",
                [child for _row, child in pairs],
                files,
                parent=[row for row, _child in pairs],
            )


def person_data_csv(*, person: Person) -> bytes:
    """The export as a ZIP of CSV files: ``person.csv`` (field, value) and one file
    per section (memberships, orders, ...), lists inside a section in files of
    their own (``orders_invoices.csv``) that name the row they belong to."""
    data = person_data_export(person=person)
    files: dict[str, bytes] = {}
    details = data["person"]
    files["person.csv"] = _csv_bytes(
        ["field", "value"],
        [["generated_at", data["generated_at"]]]
        + [[key, value] for key, value in details.items()],
    )
    for section, items in data.items():
        if isinstance(items, list):
            _flatten(section, items, files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for filename, content in files.items():
            archive.writestr(filename, content)
    return buffer.getvalue()


# Closing the account --------------------------------------------------------------


def person_closure_request(*, person: Person, by=None) -> ContactLogEntry:
    """Record that ``person`` asked to close their account, and tell the staff.

    Nothing is removed here: staff check the request (open orders, memberships
    others depend on) and then anonymise the person (``person_anonymise``).
    """
    from guildhall.tasks import send_email
    from shop.notifications import staff_recipients

    with transaction.atomic():
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Asked to close the account")
            # No name in the text: the entry outlives an anonymisation.
            notes = _(
                "Asked in My Account to close the account and have the personal "
                "data removed."
            )
            entry = ContactLogEntry.objects.create(
                kind=ContactLogEntry.Kind.OTHER,
                subject=subject,
                notes=notes,
                person=person,
                recorded_by=by,
            )
            mail_subject = _("%(name)s asked to close their account") % {
                "name": person.full_name
            }
            body = _(
                "%(name)s (member number %(number)s) asked in My Account to close "
                "their account.\n\nCheck the request, then anonymise the person "
                "from their record in the admin:\n%(url)s\n"
            ) % {
                "name": person.full_name,
                "number": person.member_number or "–",
                "url": settings.WAGTAILADMIN_BASE_URL.rstrip("/")
                + reverse("register_persons:edit", args=[person.pk]),
            }
        transaction.on_commit(
            partial(
                send_email.delay,
                subject=mail_subject,
                body=body,
                to=staff_recipients(),
            )
        )
    return entry


def person_anonymise(*, person: Person, by=None) -> Person:
    """Remove ``person``'s personal data from the register, for good.

    Removed: names (they become "Anonymised"), e-mails, phones, addresses, birth
    date, extra fields and tags, on the person and on every row of their change
    history, the e-mail on their applications, and the text of their inquiries
    (subject, answers and the whole thread). Their active memberships end
    (reason "other"), memberships still on their way are cancelled, the person is
    archived, and their user account is deactivated, renamed to a placeholder
    address and unlinked.

    Kept: orders, invoices and payments exactly as they are, since issued invoices
    must be kept unchanged (with the buyer as invoiced) for as long as the
    bookkeeping law requires; open orders are kept too and are cancelled, if at
    all, by the accounts staff. Also kept, without names: the member number,
    chapter, memberships and their status history, employments, committee seats,
    consents given and the contact log, so that the association's statistics
    and records stay true.

    Other apps' steps (``anonymise_step_register``) run as well, in the same
    transaction: newsletters, for one, ends the subscriptions and withdraws the
    consents per channel.

    Refused for a person whose user account is a staff account.
    """
    with transaction.atomic():
        locked = (
            Person.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=person.pk)
        )
        user = locked.user
        if user is not None and (user.is_staff or user.is_superuser):
            raise ValidationError(
                _(
                    "“%(name)s” has a staff account. Take away its staff rights "
                    "before anonymising the person."
                )
                % {"name": locked.full_name}
            )

        # Memberships first, while the user is still linked, so that the access
        # they granted is taken away with them.
        Status = Membership.Status
        for membership in Membership.objects.filter(person=locked).order_by("pk"):
            if membership.status == Status.ACTIVE:
                services.membership_end(
                    membership=membership,
                    reason=Membership.EndReason.OTHER,
                    by=by,
                    note=CLOSURE_NOTE,
                )
            elif membership.status in (Status.APPLIED, Status.PENDING_PAYMENT):
                services.membership_transition(
                    membership=membership,
                    to_status=Status.CANCELLED,
                    by=by,
                    note=CLOSURE_NOTE,
                )

        for step in _ANONYMISE_STEPS:
            step(person=locked, by=by)

        for name, value in SCRUBBED_FIELDS.items():
            setattr(locked, name, value)
        locked.user = None
        if locked.archived_at is None:
            locked.archived_at = timezone.now()
        locked._history_user = by
        locked._change_reason = "anonymised"
        locked.save()
        locked.tags.clear()

        # The old values are gone from the history as well.
        Person.history.model.objects.filter(id=locked.pk).update(
            user=None, **SCRUBBED_FIELDS
        )
        Application.objects.filter(person=locked).update(email="")
        inquiries_anonymise(person=locked)

        if user is not None:
            user.is_active = False
            user.email = f"anonymised-{user.pk}@invalid"
            user.first_name = ""
            user.last_name = ""
            user.set_unusable_password()
            user.save()

    for name in (*SCRUBBED_FIELDS, "user", "archived_at"):
        setattr(person, name, getattr(locked, name))
    return person
