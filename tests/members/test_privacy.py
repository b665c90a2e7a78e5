"""A member's privacy: the data export, the request to close the account, and
anonymising a person (service and staff action)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from members.inquiries import inquiry_reply_staff, inquiry_submit
from members.models import (
    Committee,
    CommitteeMembership,
    ContactLogEntry,
    Membership,
    Person,
    Tag,
)
from members.privacy import (
    ANONYMISED_NAME,
    person_anonymise,
    person_data_csv,
    person_data_export,
    person_data_json,
)
from members.services import membership_activate
from shop import billing
from shop.models import Invoice, Order
from tests.factories import StaffUserFactory, UserFactory
from tests.members.admin_helpers import chapter_admin_of, staff_in
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    PersonFactory,
    make_chapter_tree,
)
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari():
    """Kari, a member with an account, an invoiced order, an employment, a seat,
    a contact log entry, an extra field, a tag, and an old e-mail in her history."""
    configure_seller()
    user = UserFactory(email="kari@example.org")
    person = PersonFactory(
        first_name="Kari",
        last_name="Nordmann",
        email="old@example.org",
        phone="+47 22 33 44 55",
        birth_date=date(1980, 5, 17),
        postal_street="Storgata 1",
        postal_city="Oslo",
        extra={"shoe_size": 39},
        user=user,
    )
    person.email = "kari@example.org"
    person.save()
    person.tags.add(Tag.objects.create(name="volunteer"))
    membership = membership_activate(
        membership=MembershipFactory(person=person, start=timezone.localdate()),
        note="Paid",
    )
    EmploymentFactory(person=person, function_title="Welder")
    CommitteeMembership.objects.create(
        committee=Committee.objects.create(name="Board", kind="board"),
        person=person,
    )
    ContactLogEntry.objects.create(
        kind=ContactLogEntry.Kind.CALL, subject="Asked about dues", person=person
    )
    ContactLogEntry.objects.create(
        kind=ContactLogEntry.Kind.CALL,
        subject="About someone else",
        person=PersonFactory(),
    )
    order = make_order(customer=person, customer_name="Kari Nordmann")
    billing.invoice_issue(order=order)
    return {"person": person, "user": user, "membership": membership, "order": order}


# Export ----------------------------------------------------------------------------


def test_export_holds_current_details_memberships_and_orders(kari):
    data = person_data_export(person=kari["person"])

    details = data["person"]
    assert details["first_name"] == "Kari"
    assert details["email"] == "kari@example.org"
    assert details["birth_date"] == "1980-05-17"
    assert details["extra"] == {"shoe_size": 39}
    assert details["tags"] == ["volunteer"]
    assert "old@example.org" not in json.dumps(data)  # current values, no history

    (membership,) = data["memberships"]
    assert membership["status"] == Membership.Status.ACTIVE
    assert [c["to_status"] for c in membership["status_history"]] == ["active"]
    assert data["employments"][0]["function"] == "Welder"
    assert data["committee_seats"][0]["committee"] == "Board"
    assert [e["subject"] for e in data["contact_log"]] == ["Asked about dues"]

    (order,) = data["orders"]
    assert order["code"] == kari["order"].code
    assert order["total"] == "450.00"
    assert order["lines"][0]["unit_price"] == "450.00"
    assert order["invoices"][0]["buyer_name"] == "Kari Nordmann"
    json.dumps(data)  # plain data all the way down


def test_export_includes_orders_placed_by_the_user_account(kari):
    placed = make_order(customer_name="Someone", user=kari["user"])
    make_order(customer_name="Not Kari")

    codes = {o["code"] for o in person_data_export(person=kari["person"])["orders"]}

    assert codes == {kari["order"].code, placed.code}


def test_json_and_csv_downloads(kari):
    assert json.loads(person_data_json(person=kari["person"]))["person"]["last_name"]

    archive = zipfile.ZipFile(io.BytesIO(person_data_csv(person=kari["person"])))
    names = set(archive.namelist())
    assert {"person.csv", "memberships.csv", "orders.csv", "orders_invoices.csv"} <= (
        names
    )
    rows = list(csv.reader(io.StringIO(archive.read("person.csv").decode("utf-8-sig"))))
    assert ["first_name", "Kari"] in rows
    invoices = list(
        csv.DictReader(
            io.StringIO(archive.read("orders_invoices.csv").decode("utf-8-sig"))
        )
    )
    assert invoices[0]["parent_row"] == "1"
    assert invoices[0]["total"] == "450.00"


# Anonymising ---------------------------------------------------------------------


def test_anonymise_blanks_the_person_and_their_history(kari):
    person = kari["person"]
    officer = StaffUserFactory()

    person_anonymise(person=person, by=officer)

    person.refresh_from_db()
    assert person.first_name == person.last_name == ANONYMISED_NAME
    assert person.email == person.phone == person.postal_street == ""
    assert person.birth_date is None
    assert person.extra == {}
    assert not person.tags.exists()
    assert person.archived_at is not None
    assert person.user is None
    rows = person.history.all()
    assert rows.count() >= 3
    for row in rows:
        assert row.first_name == ANONYMISED_NAME
        assert row.email == "" and row.birth_date is None and row.extra == {}
        assert row.user_id is None
    dump = json.dumps(list(rows.values()), default=str)
    assert "old@example.org" not in dump and "Kari" not in dump
    assert rows.first().history_user == officer


def test_anonymise_ends_memberships_and_closes_the_account(kari):
    person, user = kari["person"], kari["user"]
    applied = MembershipFactory(person=person)

    person_anonymise(person=person, by=None)

    membership = Membership.objects.get(pk=kari["membership"].pk)
    assert membership.status == Membership.Status.ENDED
    assert membership.end_reason == Membership.EndReason.OTHER
    assert membership.status_changes.last().note == (
        "Account closed at the member's request"
    )
    applied.refresh_from_db()
    assert applied.status == Membership.Status.CANCELLED
    user.refresh_from_db()
    assert not user.is_active
    assert user.email == f"anonymised-{user.pk}@invalid"
    assert not user.has_usable_password()


def test_anonymise_keeps_orders_and_invoices_as_issued(kari):
    order = kari["order"]
    invoice = order.invoices.get()

    person_anonymise(person=kari["person"], by=None)

    kept = Invoice.objects.get(pk=invoice.pk)
    assert kept.buyer_name == invoice.buyer_name == "Kari Nordmann"
    assert kept.total == invoice.total
    kept_order = Order.objects.get(pk=order.pk)
    assert kept_order.customer_name == "Kari Nordmann"
    assert kept_order.customer_id == kari["person"].pk


def test_anonymise_empties_the_persons_inquiries_but_keeps_them_counted(kari):
    person = kari["person"]
    inquiry = inquiry_submit(
        person=person,
        kind="complaint",
        subject="Complaint: my neighbour Ola",
        answers=[{"question": "What happened?", "answer": "Ola Hansen was rude"}],
        form_title="Complaints",
        by=person.user,
        to=["staff@example.org"],
    )
    officer = StaffUserFactory(is_superuser=True)
    inquiry_reply_staff(inquiry=inquiry, body="Sorry, Kari Nordmann", by=officer)

    person_anonymise(person=person, by=None)

    inquiry.refresh_from_db()
    assert inquiry.kind == "complaint"
    assert "Ola" not in inquiry.subject and inquiry.answers == []
    bodies = " ".join(inquiry.messages.values_list("body", flat=True))
    assert inquiry.messages.count() == 2
    assert "Ola" not in bodies and "Kari" not in bodies


def test_anonymise_refuses_a_staff_account(kari):
    staff = StaffUserFactory()
    person = PersonFactory(first_name="Sigrid", user=staff)

    with pytest.raises(ValidationError):
        person_anonymise(person=person, by=None)

    person.refresh_from_db()
    assert person.first_name == "Sigrid"


# The staff action ------------------------------------------------------------------


def test_officer_anonymises_from_the_record(verified_client, kari):
    client = verified_client(staff_in("Membership officers"))
    person = kari["person"]
    edit = client.get(reverse("register_persons:edit", args=[person.pk]))
    action = reverse("register_persons:anonymise", args=[person.pk])
    assert action in edit.content.decode()

    confirm = client.get(action)
    assert confirm.status_code == 200
    assert "Yes, anonymise" in confirm.content.decode()
    response = client.post(action)

    assert response.status_code == 302
    assert Person.objects.get(pk=person.pk).first_name == ANONYMISED_NAME


def test_anonymise_needs_scope_and_the_right_to_change(verified_client, kari):
    chapters = make_chapter_tree()
    outsider = PersonFactory(first_name="Wenche", chapter=chapters.west)
    east = verified_client(chapter_admin_of(chapters.east))

    response = east.post(reverse("register_persons:anonymise", args=[outsider.pk]))

    assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.first_name == "Wenche"


def test_staff_without_change_right_cannot_anonymise(verified_client, kari):
    user = StaffUserFactory()
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_person"),
    )
    client = verified_client(get_user_model().objects.get(pk=user.pk))
    person = kari["person"]

    client.post(reverse("register_persons:anonymise", args=[person.pk]))

    assert Person.objects.get(pk=person.pk).first_name == "Kari"
