"""My Account: who sees what, ending a membership, orders and invoices, and that the
pages read in a fixed number of queries however much there is to show."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from members.models import JoinPage, Membership, MembershipType, Renewal
from members.services import membership_activate, membership_end
from shop import billing
from shop.models import InvoiceComment, Order
from shop.paylinks import pay_path, pay_token
from tests.factories import StaffUserFactory, UserFactory
from tests.members.factories import (
    EmploymentFactory,
    MembershipFactory,
    MembershipTypeFactory,
    OrganisationFactory,
    PersonFactory,
)
from tests.shop.factories import configure_seller, make_order

pytestmark = pytest.mark.django_db

SIGNIN = "/account/sign-in/"
END_FORM = '<form method="post" class="form">'


# Data ------------------------------------------------------------------------------


def active_membership(**fields) -> Membership:
    """An active membership that began today (so its period has not ended)."""
    fields.setdefault("start", timezone.localdate())
    membership = MembershipFactory(**fields)
    return membership_activate(membership=membership, note="Paid")


def member_user(**person_fields):
    user = UserFactory()
    person = PersonFactory(user=user, **person_fields)
    return user, person


def invoiced_order(*, amount="450.00", **kwargs) -> Order:
    order = make_order(amount=amount, **kwargs)
    billing.invoice_issue(order=order)
    return order


def pay(order: Order, amount: str | None = None):
    payment = billing.payment_create(
        order=order,
        provider="sandbox",
        amount=Decimal(amount) if amount else None,
    )
    billing.payment_confirm(payment=payment)
    order.refresh_from_db()
    return payment


@pytest.fixture
def world(home_page):
    """Kari (a member), Ola (another member), and Firma AS with Siri as its current
    contact, Per as an ordinary employee and Liv as its former contact."""
    configure_seller()
    kari_user, kari = member_user(first_name="Kari")
    ola_user, ola = member_user(first_name="Ola")
    firma = OrganisationFactory(name="Firma AS")
    siri_user, siri = member_user(first_name="Siri")
    per_user, per = member_user(first_name="Per")
    liv_user, liv = member_user(first_name="Liv")
    EmploymentFactory(person=siri, organisation=firma, is_contact=True)
    EmploymentFactory(person=per, organisation=firma, is_contact=False)
    EmploymentFactory(
        person=liv,
        organisation=firma,
        is_contact=True,
        end=timezone.localdate() - timedelta(days=1),
    )
    company = MembershipTypeFactory(
        name="Company", kind=MembershipType.Kind.ORGANISATION
    )
    world = {
        "kari_user": kari_user,
        "kari": kari,
        "ola_user": ola_user,
        "ola": ola,
        "siri_user": siri_user,
        "per_user": per_user,
        "liv_user": liv_user,
        "firma": firma,
        "kari_membership": active_membership(
            person=kari, type=MembershipTypeFactory(name="Individual")
        ),
        "ola_membership": active_membership(
            person=ola, type=MembershipTypeFactory(name="Student")
        ),
        "firma_membership": active_membership(
            person=None, organisation=firma, type=company
        ),
        "kari_order": invoiced_order(customer=kari, customer_name="Kari"),
        "ola_order": invoiced_order(customer=ola, customer_name="Ola"),
        "firma_order": invoiced_order(
            amount="3000.00", customer=firma, customer_name="Firma AS"
        ),
    }
    kari.refresh_from_db()
    return world


def url(name, **kwargs):
    return reverse(f"extranet:{name}", kwargs=kwargs)


# Anonymous ------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in_from_every_page(client, world):
    order, membership = world["kari_order"], world["kari_membership"]
    invoice = order.invoices.get()
    for address in [
        url("account"),
        url("memberships"),
        url("membership_end", pk=membership.pk),
        url("invoices"),
        url("order", code=order.code),
    ]:
        response = client.get(address)
        assert response.status_code == 302, address
        assert response["Location"].startswith(SIGNIN + "?next="), address
    response = client.post(url("membership_end", pk=membership.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(SIGNIN)
    response = client.post(
        url("invoice_message", code=order.code, invoice_id=invoice.pk),
        {"body": "Hello"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.cancel_requested_at is None
    assert not InvoiceComment.objects.exists()


# A member and their own things ----------------------------------------------------


def test_dashboard_greets_the_member_with_number_memberships_and_what_is_owed(
    client, world
):
    client.force_login(world["kari_user"])
    response = client.get(url("account"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Welcome, Kari" in page
    assert str(world["kari"].member_number) in page
    assert "Individual" in page
    assert "Student" not in page  # Ola's
    assert "Company" not in page  # Kari is not Firma's contact
    assert response.context["outstanding"].count == 1
    assert response.context["outstanding"].totals == {"NOK": Decimal("450.00")}
    assert url("invoices") in page
    assert url("memberships") in page


def test_member_sees_own_memberships_with_history_and_end_link(client, world):
    client.force_login(world["kari_user"])
    response = client.get(url("memberships"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.membership for row in rows] == [world["kari_membership"]]
    page = response.content.decode()
    assert "Applied → Active" in page
    assert "Paid" in page  # the change's note
    assert url("membership_end", pk=world["kari_membership"].pk) in page
    assert "Student" not in page


def test_member_sees_own_orders_with_invoice_pdf_and_pay_links(client, world):
    client.force_login(world["kari_user"])
    response = client.get(url("invoices"))
    assert response.status_code == 200
    order = world["kari_order"]
    assert [o.code for o in response.context["orders"]] == [order.code]
    page = response.content.decode()
    invoice = order.invoices.get()
    assert invoice.display_number in page
    assert invoice.kid in page
    assert (
        reverse(
            "shop:invoice_pdf",
            kwargs={"token": pay_token(order), "invoice_id": invoice.pk},
        )
        in page
    )
    assert pay_path(order) in page
    assert world["ola_order"].code not in page
    assert world["firma_order"].code not in page


def test_orders_linked_to_the_account_are_visible_too(client, world):
    order = invoiced_order(customer=None, user=world["kari_user"], customer_name="K")
    client.force_login(world["kari_user"])
    response = client.get(url("invoices"))
    assert {o.code for o in response.context["orders"]} == {
        order.code,
        world["kari_order"].code,
    }
    assert client.get(url("order", code=order.code)).status_code == 200


def test_order_page_shows_lines_invoices_payments_and_what_is_left(client, world):
    order = world["kari_order"]
    pay(order, "200.00")
    client.force_login(world["kari_user"])
    response = client.get(url("order", code=order.code))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Membership 2027" in page  # the line
    assert order.invoices.get().display_number in page
    assert "200.00" in page
    assert "Confirmed" in page
    assert response.context["order"].outstanding == billing.order_outstanding(order)
    assert response.context["order"].outstanding == Decimal("250.00")
    assert pay_path(order) in page


def test_a_paid_order_offers_no_pay_link(client, world):
    order = world["kari_order"]
    pay(order)
    assert order.status == Order.Status.PAID
    client.force_login(world["kari_user"])
    response = client.get(url("invoices"))
    assert response.context["orders"][0].outstanding == Decimal("0.00")
    assert f'href="{pay_path(order)}"' not in response.content.decode()
    assert client.get(url("account")).context["outstanding"].count == 0


def test_member_can_write_about_an_invoice(
    client, world, django_capture_on_commit_callbacks
):
    order = world["kari_order"]
    invoice = order.invoices.get()
    client.force_login(world["kari_user"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            url("invoice_message", code=order.code, invoice_id=invoice.pk),
            {"body": "I already paid this.", "disputes": "on"},
        )
    assert response.status_code == 302
    comment = InvoiceComment.objects.get()
    assert comment.invoice == invoice
    assert comment.author == world["kari_user"]
    assert comment.disputes and not comment.from_staff
    page = client.get(url("order", code=order.code)).content.decode()
    assert "I already paid this." in page


def test_an_empty_message_is_refused(client, world):
    order = world["kari_order"]
    invoice = order.invoices.get()
    client.force_login(world["kari_user"])
    response = client.post(
        url("invoice_message", code=order.code, invoice_id=invoice.pk), {"body": ""}
    )
    assert response.status_code == 400
    assert not InvoiceComment.objects.exists()


# Another member's things: 404, never 403 -------------------------------------------


def test_someone_elses_order_is_not_found(client, world):
    client.force_login(world["ola_user"])
    for order in (world["kari_order"], world["firma_order"]):
        assert client.get(url("order", code=order.code)).status_code == 404
        invoice = order.invoices.get()
        response = client.post(
            url("invoice_message", code=order.code, invoice_id=invoice.pk),
            {"body": "Hello"},
        )
        assert response.status_code == 404
    assert client.get(url("order", code="NOSUCHCODE")).status_code == 404
    assert not InvoiceComment.objects.exists()


def test_an_invoice_of_another_order_cannot_be_written_to(client, world):
    client.force_login(world["ola_user"])
    other_invoice = world["kari_order"].invoices.get()
    response = client.post(
        url(
            "invoice_message",
            code=world["ola_order"].code,
            invoice_id=other_invoice.pk,
        ),
        {"body": "Hello"},
    )
    assert response.status_code == 404
    assert not InvoiceComment.objects.exists()


def test_someone_elses_membership_cannot_be_ended(client, world):
    client.force_login(world["ola_user"])
    for membership in (world["kari_membership"], world["firma_membership"]):
        address = url("membership_end", pk=membership.pk)
        assert client.get(address).status_code == 404
        assert client.post(address).status_code == 404
        membership.refresh_from_db()
        assert membership.cancel_requested_at is None
    assert client.post(url("membership_end", pk=999999)).status_code == 404


# The organisation's contact, its other employees, its former contact ----------------


def test_organisation_contact_sees_the_companys_orders_and_memberships(client, world):
    client.force_login(world["siri_user"])
    response = client.get(url("invoices"))
    assert [o.code for o in response.context["orders"]] == [world["firma_order"].code]
    assert client.get(url("order", code=world["firma_order"].code)).status_code == 200
    response = client.get(url("memberships"))
    assert [row.membership for row in response.context["rows"]] == [
        world["firma_membership"]
    ]
    assert "Firma AS" in response.content.decode()
    response = client.get(url("account"))
    assert "Company" in response.content.decode()
    assert response.context["outstanding"].totals == {"NOK": Decimal("3000.00")}


def test_organisation_contact_can_end_the_companys_membership(client, world):
    membership = world["firma_membership"]
    client.force_login(world["siri_user"])
    response = client.post(url("membership_end", pk=membership.pk))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.cancel_requested_at is not None
    assert membership.status == Membership.Status.ACTIVE


@pytest.mark.parametrize("who", ["per_user", "liv_user"])
def test_other_employees_and_former_contacts_see_nothing_of_the_company(
    client, world, who
):
    client.force_login(world[who])
    order, membership = world["firma_order"], world["firma_membership"]
    assert client.get(url("order", code=order.code)).status_code == 404
    assert client.get(url("invoices")).context["orders"] == []
    assert client.get(url("memberships")).context["rows"] == []
    address = url("membership_end", pk=membership.pk)
    assert client.get(address).status_code == 404
    assert client.post(address).status_code == 404
    membership.refresh_from_db()
    assert membership.cancel_requested_at is None


# Users the register does not know ------------------------------------------------


def test_staff_without_a_person_see_the_nothing_to_show_page(client, world):
    staff = StaffUserFactory()
    client.force_login(staff)
    for address in (url("account"), url("memberships")):
        response = client.get(address)
        assert response.status_code == 200
        assert "extranet/account/nothing_to_show.html" in [
            t.name for t in response.templates
        ]
        assert "contact us" in response.content.decode()
    response = client.get(url("invoices"))
    assert response.status_code == 200
    assert response.context["orders"] == []
    assert client.get(url("order", code=world["kari_order"].code)).status_code == 404
    address = url("membership_end", pk=world["kari_membership"].pk)
    assert client.post(address).status_code == 404


# Ending at the end of the period -------------------------------------------------


def test_ending_at_the_end_of_the_period_confirms_then_shows_the_date(client, world):
    membership = world["kari_membership"]
    client.force_login(world["kari_user"])
    address = url("membership_end", pk=membership.pk)
    response = client.get(address)
    assert response.status_code == 200
    assert END_FORM in response.content.decode()
    membership.refresh_from_db()
    assert membership.cancel_requested_at is None  # GET changes nothing

    response = client.post(address, follow=True)
    membership.refresh_from_db()
    assert membership.cancel_requested_at is not None
    assert membership.status == Membership.Status.ACTIVE
    page = response.content.decode()
    end = membership.end
    assert end is not None
    shown = date_format(end, "DATE_FORMAT")
    assert f"The membership ends on {shown}" in page
    assert f"Active, ends on {shown}" in page
    assert url("membership_end", pk=membership.pk) not in page  # no second offer

    # Asking again changes nothing and offers no form.
    response = client.get(address)
    assert "already ends on" in response.content.decode()
    assert END_FORM not in response.content.decode()


def test_an_ended_membership_cannot_be_ended_again(client, world):
    membership = membership_end(
        membership=world["kari_membership"], reason=Membership.EndReason.RESIGNED
    )
    client.force_login(world["kari_user"])
    response = client.post(url("membership_end", pk=membership.pk))
    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.cancel_requested_at is None


# Renewing -----------------------------------------------------------------------


def test_an_open_renewal_offers_to_pay_it(client, world):
    membership = world["kari_membership"]
    order = make_order(amount="500.00", customer=world["kari"])
    Renewal.objects.create(
        membership=membership,
        period_start=membership.end + timedelta(days=1),
        period_end=membership.end + timedelta(days=365),
        amount=Decimal("500.00"),
        order=order,
    )
    client.force_login(world["kari_user"])
    page = client.get(url("memberships")).content.decode()
    assert "Renew: pay 500.00 NOK" in page
    assert pay_path(order) in page


def test_a_lapsed_membership_offers_the_join_page(client, world, home_page):
    join = JoinPage(title="Join us", slug="join")
    home_page.add_child(instance=join)
    join.save_revision().publish()
    membership_end(
        membership=world["kari_membership"], reason=Membership.EndReason.LAPSED
    )
    client.force_login(world["kari_user"])
    response = client.get(url("memberships"))
    row = response.context["rows"][0]
    assert row.is_lapsed
    assert row.renew_url == join.url
    assert "Renew your membership" in response.content.decode()
    assert url("membership_end", pk=world["kari_membership"].pk) not in (
        response.content.decode()
    )


# Pagination and query counts ------------------------------------------------------


def test_orders_are_paginated_newest_first(client, world):
    user, person = member_user()
    orders = [make_order(customer=person) for _ in range(26)]
    client.force_login(user)
    first = client.get(url("invoices")).context
    assert len(first["orders"]) == 25
    assert first["orders"][0].code == orders[-1].code
    second = client.get(url("invoices") + "?page=2").context
    assert [o.code for o in second["orders"]] == [orders[0].code]


def _member_with(count: int, firma):
    """A member with ``count`` memberships and orders (each invoiced, half part
    paid), the contact of ``firma``, which has ``count`` orders of its own."""
    user, person = member_user()
    EmploymentFactory(person=person, organisation=firma, is_contact=True)
    for index in range(count):
        membership = active_membership(person=person)
        order = invoiced_order(customer=person)
        if index % 2:
            pay(order, "100.00")
        Renewal.objects.create(
            membership=membership,
            period_start=membership.end + timedelta(days=1),
            period_end=membership.end + timedelta(days=365),
            amount=Decimal("450.00"),
            order=make_order(customer=person),
        )
        invoiced_order(customer=firma)
        invoiced_order(customer=None, user=user)
    return user


def _queries(client, user, address) -> int:
    client.force_login(user)
    assert client.get(address).status_code == 200  # warm-up: site settings etc.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["account", "memberships", "invoices"])
def test_pages_read_in_a_fixed_number_of_queries(client, world, name):
    few = _member_with(2, OrganisationFactory())
    many = _member_with(8, OrganisationFactory())
    address = url(name)
    assert _queries(client, few, address) == _queries(client, many, address)


def test_order_page_reads_in_a_fixed_number_of_queries(client, world):
    order = world["kari_order"]
    few = _queries(client, world["kari_user"], url("order", code=order.code))
    for _ in range(3):
        pay(order, "10.00")
    order.lines.create(description="Extra", unit_price=Decimal("5.00"))
    assert _queries(client, world["kari_user"], url("order", code=order.code)) == few
