"""The billing back office: orders, their page and actions, invoices, payments,
invoice series, exports, permissions and query counts."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.http import HttpResponse
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone
from openpyxl import load_workbook

from guildhall.urls import urlpatterns as project_urlpatterns
from shop import billing
from shop.models import (
    Invoice,
    InvoiceSeries,
    Order,
    OrderStatusChange,
    Payment,
    Refund,
)
from shop.providers import base as providers_base
from tests.factories import StaffUserFactory, soup, visible_text

from .factories import configure_seller, make_order

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def _stub_view(request, pk):
    return HttpResponse(f"invoice {pk}")


#: The project's URLs plus the invoice PDF/resend/thread views another module adds,
#: for the test that the order page links to them when they exist.
urlpatterns = [
    path("t/invoices/<int:pk>/pdf/", _stub_view, name="shop_invoice_pdf"),
    path("t/invoices/<int:pk>/resend/", _stub_view, name="shop_invoice_resend"),
    path("t/invoices/<int:pk>/thread/", _stub_view, name="shop_invoice_thread"),
    *project_urlpatterns,
]


def staff_in(group_name, **fields):
    user = StaffUserFactory(**fields)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def clerk():
    return staff_in("Accounts clerks", first_name="Åse", last_name="Clerk")


@pytest.fixture
def clerk_client(verified_client, clerk):
    configure_seller()
    return verified_client(clerk)


@pytest.fixture
def officer_client(verified_client):
    return verified_client(staff_in("Membership officers"))


def order_page(order):
    return reverse("shop_orders:inspect", args=[order.pk])


def messages_of(response):
    return [str(m).strip() for m in response.context["messages"]]


def confirmed_payment(order, *, provider="sandbox", amount=None):
    payment = billing.payment_create(order=order, provider=provider, amount=amount)
    billing.payment_pending(payment=payment, gateway_id=f"{provider}-{payment.uuid}")
    billing.payment_confirm(payment=payment)
    payment.refresh_from_db()
    return payment


# --- The order list ----------------------------------------------------------------


@pytest.fixture
def three_orders():
    return [
        make_order(
            amount="450.00", customer_name="Kari Nordmann", customer_email="kari@x.no"
        ),
        make_order(
            amount="1250.50", customer_name="Ola Hansen", customer_email="ola@fjord.no"
        ),
        make_order(
            amount="99.00", customer_name="Ingrid Kvalheim", customer_email="ik@y.no"
        ),
    ]


def listed(response):
    return [order.pk for order in response.context["object_list"]]


def test_clerk_finds_orders_by_code_name_or_email(clerk_client, three_orders):
    kari, ola, ingrid = three_orders
    index = reverse("shop_orders:index")

    assert listed(clerk_client.get(index, {"q": kari.code})) == [kari.pk]
    assert listed(clerk_client.get(index, {"q": "kvalhe"})) == [ingrid.pk]
    assert listed(clerk_client.get(index, {"q": "fjord.no"})) == [ola.pk]


def test_order_list_shows_code_customer_total_status_and_filters(
    clerk_client, three_orders
):
    kari, ola, ingrid = three_orders
    billing.payment_record_manual(
        order=ola, amount=Decimal("1250.50"), note="Cash", by=None
    )
    index = reverse("shop_orders:index")

    response = clerk_client.get(index)
    text = visible_text(response)
    assert kari.code in text and "Kari Nordmann" in text
    assert "1,250.50 NOK" in text and "Awaiting payment" in text and "Paid" in text

    paid = clerk_client.get(index, {"status": "paid"})
    assert listed(paid) == [ola.pk]
    by_total = clerk_client.get(index, {"ordering": "-total"})
    assert listed(by_total) == [ola.pk, kari.pk, ingrid.pk]
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert listed(clerk_client.get(index, {"created_at_from": tomorrow})) == []
    assert len(listed(clerk_client.get(index, {"currency": "NOK"}))) == 3


def test_orders_cannot_be_added_edited_or_deleted_from_the_admin(
    verified_client, superuser, three_orders
):
    client = verified_client(superuser)
    order = three_orders[0]
    base = reverse("shop_orders:index")

    page = client.get(base)
    assert "Add order" not in visible_text(page)
    for url in (f"{base}new/", f"{base}edit/{order.pk}/", f"{base}delete/{order.pk}/"):
        assert client.get(url).status_code == 404
    assert client.post(f"{base}delete/{order.pk}/").status_code == 404
    assert Order.objects.filter(pk=order.pk).exists()


def test_order_export_csv_and_xlsx(clerk_client):
    make_order(amount="450.00", customer_name='=HYPERLINK("http://evil")')
    index = reverse("shop_orders:index")

    response = clerk_client.get(index, {"export": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    )
    assert rows[0]["Total"] == "450.00"
    assert rows[0]["Status"] == "Awaiting payment"
    assert rows[0]["Customer"].startswith("'=HYPERLINK")

    xlsx = clerk_client.get(index, {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    header, first = list(sheet.values)[:2]
    assert first[header.index("Total")] == 450
    assert first[header.index("Order number")] == Order.objects.get().code


def _count_list_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url_name", ["shop_orders:index", "shop_invoices:index", "shop_payments:index"]
)
def test_list_query_count_does_not_grow_with_the_number_of_rows(clerk_client, url_name):
    def add(n):
        for _ in range(n):
            order = make_order(amount="450.00")
            billing.invoice_issue(order=order)
            billing.payment_record_manual(
                order=order, amount=Decimal("100.00"), note="x", by=None
            )

    url = reverse(url_name)
    add(5)
    clerk_client.get(url)  # warm up: session, content types, site
    with_five = _count_list_queries(clerk_client, url)
    add(35)
    response = clerk_client.get(url)
    assert len(response.context["object_list"]) == 40
    with_forty = _count_list_queries(clerk_client, url)
    assert with_forty == with_five


# --- The order page ----------------------------------------------------------------


def test_order_page_shows_lines_totals_invoices_payments_refunds_and_history(
    clerk_client,
):
    order = make_order(amount="225.00", quantity="2", vat_rate="25")
    invoice = billing.invoice_issue(order=order)
    payment = confirmed_payment(order, provider="sandbox")
    refund = billing.refund_create(
        payment=payment, amount=Decimal("50.00"), reason="Too much"
    )
    billing.refund_done(refund=refund, gateway_id="re_123")

    response = clerk_client.get(order_page(order))
    text = visible_text(response)

    assert "Membership 2027" in text and "225.00" in text
    assert "450.00 NOK" in text  # total
    assert "90.00 NOK" in text  # of which VAT
    assert "400.00 NOK" in text  # paid: 450 - 50 refunded
    assert invoice.display_number in text and invoice.kid in text
    assert "Test payment (sandbox)" in text and "Confirmed" in text
    assert f"sandbox-{payment.uuid}" in text
    assert "−50.00 NOK" in text and "re_123" in text and "Too much" in text
    history = [(c.from_status, c.to_status) for c in response.context["status_changes"]]
    assert history == [("", "open"), ("open", "paid")]


@override_settings(ROOT_URLCONF=__name__)
def test_order_page_links_to_the_invoice_pdf_resend_and_thread(clerk_client):
    order = make_order()
    invoice = billing.invoice_issue(order=order)

    html = clerk_client.get(order_page(order)).content.decode()

    for name in ("shop_invoice_pdf", "shop_invoice_resend", "shop_invoice_thread"):
        assert f'href="{reverse(name, args=[invoice.pk])}"' in html


def test_clerk_issues_an_invoice_from_the_order_page(clerk_client, clerk):
    order = make_order(amount="450.00")
    page = clerk_client.get(order_page(order))
    url = reverse("shop_orders:issue_invoice", args=[order.pk])
    assert url in page.content.decode()

    response = clerk_client.post(url, {"series": "", "due_date": ""}, follow=True)

    invoice = Invoice.objects.get(order=order)
    assert invoice.total == Decimal("450.00")
    assert invoice.issued_by == clerk
    assert invoice.display_number == f"F{YEAR}-000001"
    assert (
        f"Invoice F{YEAR}-000001 issued, KID {invoice.kid}" in messages_of(response)[0]
    )
    # Once issued, the page no longer offers to issue another.
    assert url not in response.content.decode()


def test_an_invoice_due_in_the_past_is_refused(clerk_client):
    order = make_order()
    url = reverse("shop_orders:issue_invoice", args=[order.pk])
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()

    response = clerk_client.post(url, {"due_date": yesterday})

    assert response.status_code == 200
    assert "The due date cannot be in the past." in visible_text(response)
    assert not Invoice.objects.exists()


def test_clerk_records_a_manual_payment_in_part_then_in_full(clerk_client, clerk):
    order = make_order(amount="450.00")
    invoice = billing.invoice_issue(order=order)
    url = reverse("shop_orders:manual_payment", args=[order.pk])

    first = clerk_client.post(
        url, {"amount": "200.00", "note": "Cash at the AGM"}, follow=True
    )
    assert messages_of(first) == [
        "Payment of 200.00 NOK recorded. Still to pay: 250.00 NOK."
    ]
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN

    clerk_client.post(url, {"amount": "250.00", "note": "Transfer without KID"})
    order.refresh_from_db()
    invoice.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert invoice.status == Invoice.Status.PAID
    payments = list(order.payments.order_by("pk"))
    assert [p.amount for p in payments] == [Decimal("200.00"), Decimal("250.00")]
    assert {p.provider for p in payments} == {"manual"}
    assert all(p.invoice_id == invoice.pk and p.created_by == clerk for p in payments)
    assert payments[0].note == "Cash at the AGM"


@pytest.mark.parametrize(
    "data, error",
    [
        ({"amount": "450.00", "note": ""}, "Say what the payment was, for the books."),
        ({"amount": "abc", "note": "Cash"}, "Enter an amount such as 450.00."),
        ({"amount": "0", "note": "Cash"}, "greater than or equal to 0.01"),
        ({"amount": "10.005", "note": "Cash"}, "at most two decimals"),
    ],
)
def test_bad_manual_payment_input_is_explained_and_nothing_is_stored(
    clerk_client, data, error
):
    order = make_order()
    url = reverse("shop_orders:manual_payment", args=[order.pk])

    response = clerk_client.post(url, data)

    assert response.status_code == 200
    assert error in visible_text(response)
    assert not Payment.objects.exists()


def test_a_billing_error_is_shown_and_the_form_kept(clerk_client):
    order = make_order(amount="450.00")
    billing.payment_record_manual(
        order=order, amount=Decimal("450.00"), note="Cash", by=None
    )
    url = reverse("shop_orders:manual_payment", args=[order.pk])

    response = clerk_client.post(url, {"amount": "10.00", "note": "Again"})

    assert response.status_code == 200
    assert messages_of(response) == ["This order is not awaiting payment."]
    assert 'value="Again"' in response.content.decode() or "Again" in visible_text(
        response
    )
    assert order.payments.count() == 1


def test_clerk_credits_an_unpaid_invoice_and_the_order_is_cancelled(clerk_client):
    order = make_order(amount="450.00")
    invoice = billing.invoice_issue(order=order)
    url = reverse("shop_orders:credit_note", args=[invoice.pk])

    refused = clerk_client.post(url, {"reason": ""})
    assert "Say why the invoice is credited." in visible_text(refused)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()

    response = clerk_client.post(url, {"reason": "Left before the year"}, follow=True)

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.total == Decimal("-450.00")
    assert note.credits == invoice and note.reason == "Left before the year"
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert messages_of(response) == [
        f"Credit note {note.display_number} issued for invoice {invoice.display_number}."
    ]
    # Crediting twice is refused with the service's own words.
    again = clerk_client.post(url, {"reason": "Twice"})
    assert messages_of(again) == ["This invoice has already been credited."]
    assert (
        OrderStatusChange.objects.filter(order=order, to_status="cancelled").count()
        == 1
    )


def test_refund_of_a_payment_the_provider_cannot_refund_is_confirmed_by_hand(
    clerk_client, clerk
):
    order = make_order(amount="450.00")
    payment = confirmed_payment(order, provider="sandbox")
    url = reverse("shop_orders:refund", args=[payment.pk])

    response = clerk_client.post(url, {"amount": "450.00", "reason": "Cancelled event"})

    refund = Refund.objects.get(payment=payment)
    assert refund.state == Refund.State.PENDING
    confirm_url = reverse("shop_orders:refund_paid_back", args=[refund.pk])
    assert response.url == confirm_url
    page = clerk_client.get(confirm_url)
    assert "Pay 450.00 NOK back to the payer by bank transfer" in messages_of(page)[0]

    unticked = clerk_client.post(confirm_url, {"note": ""})
    assert "Tick the box once the money has been paid back" in visible_text(unticked)
    refund.refresh_from_db()
    assert refund.state == Refund.State.PENDING

    done = clerk_client.post(
        confirm_url,
        {"paid_back": "on", "note": "Paid 3 March to 1234.56.78903"},
        follow=True,
    )
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == Refund.State.DONE
    assert refund.raw["paid_back"] == "bank transfer"
    assert refund.amount == Decimal("450.00")
    assert order.status == Order.Status.REFUNDED
    assert messages_of(done) == [
        "Refund of 450.00 NOK recorded as paid back by bank transfer."
    ]
    assert billing.order_paid_amount(order) == Decimal("0.00")


def test_a_pending_manual_refund_can_be_withdrawn(clerk_client):
    order = make_order(amount="450.00")
    payment = confirmed_payment(order, provider="manual")
    clerk_client.post(
        reverse("shop_orders:refund", args=[payment.pk]),
        {"amount": "100.00", "reason": "Discount"},
    )
    refund = Refund.objects.get()

    clerk_client.post(
        reverse("shop_orders:refund_paid_back", args=[refund.pk]), {"withdraw": "1"}
    )

    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == Refund.State.FAILED
    assert order.status == Order.Status.PAID
    # The whole payment can be refunded again.
    page = clerk_client.get(reverse("shop_orders:refund", args=[payment.pk]))
    assert page.context["form"]["amount"].value() == Decimal("450.00")


def test_too_large_a_refund_is_refused_in_the_services_words(clerk_client):
    order = make_order(amount="450.00")
    payment = confirmed_payment(order)

    response = clerk_client.post(
        reverse("shop_orders:refund", args=[payment.pk]),
        {"amount": "450.01", "reason": "Oops"},
    )

    assert messages_of(response) == [
        "At most 450.00 NOK of this payment can be refunded."
    ]
    assert not Refund.objects.exists()


class _RefundingProvider(providers_base.PaymentProvider):
    identifier = "refunding-test"
    verbose_name = "Card (test)"

    def refund(self, *, refund):
        billing.refund_done(refund=refund, gateway_id="re_test_1")
        return refund


def test_a_provider_that_can_refund_refunds_at_once(clerk_client, monkeypatch):
    monkeypatch.setitem(
        providers_base._registry, "refunding-test", _RefundingProvider()
    )
    order = make_order(amount="450.00")
    payment = confirmed_payment(order, provider="refunding-test")

    response = clerk_client.post(
        reverse("shop_orders:refund", args=[payment.pk]),
        {"amount": "150.00", "reason": "Partial"},
        follow=True,
    )

    refund = Refund.objects.get()
    assert refund.state == Refund.State.DONE and refund.gateway_id == "re_test_1"
    assert messages_of(response) == ["150.00 NOK refunded."]
    assert billing.order_paid_amount(order) == Decimal("300.00")


# --- Who may do what ------------------------------------------------------------------


def test_membership_officer_sees_orders_but_cannot_act(officer_client):
    order = make_order()
    invoice = billing.invoice_issue(order=order)
    payment = confirmed_payment(make_order(amount="100.00"))

    page = officer_client.get(order_page(order))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("shop_orders:manual_payment", args=[order.pk]) not in html
    assert reverse("shop_orders:credit_note", args=[invoice.pk]) not in html

    for url, data in [
        (reverse("shop_orders:issue_invoice", args=[order.pk]), {}),
        (
            reverse("shop_orders:manual_payment", args=[order.pk]),
            {"amount": "450.00", "note": "Cash"},
        ),
        (reverse("shop_orders:credit_note", args=[invoice.pk]), {"reason": "x"}),
        (
            reverse("shop_orders:refund", args=[payment.pk]),
            {"amount": "1.00", "reason": "x"},
        ),
    ]:
        assert officer_client.get(url).status_code == 403
        refused = officer_client.post(url, data)
        assert refused.status_code == 403
        assert "Billing actions are for accounts clerks" in visible_text(refused)
    assert order.payments.count() == 0
    assert not Refund.objects.exists()
    assert officer_client.get(reverse("shop_invoices:index")).status_code == 200
    assert officer_client.get(reverse("shop_payments:index")).status_code == 200
    # Wagtail's own views refuse by sending the user home with a message.
    series = officer_client.get(reverse("shop_invoice_series:index"), follow=True)
    assert "you do not have permission" in messages_of(series)[0]


def test_staff_without_shop_rights_cannot_open_the_billing_pages(verified_client):
    client = verified_client(StaffUserFactory())
    order = make_order()
    for url in (reverse("shop_orders:index"), order_page(order)):
        response = client.get(url, follow=True)
        assert response.redirect_chain[-1][0] == reverse("wagtailadmin_home")
        assert "you do not have permission" in messages_of(response)[0]
        assert order.code not in visible_text(response)


# --- Invoices and payments lists -------------------------------------------------------


def test_invoice_list_search_and_filters(clerk_client):
    early = make_order(amount="450.00", customer_name="Kari Nordmann")
    late = make_order(amount="300.00", customer_name="Ola Hansen")
    overdue = billing.invoice_issue(order=early)
    Invoice.objects.filter(pk=overdue.pk).update(
        due_date=timezone.localdate() - timedelta(days=3)
    )
    current = billing.invoice_issue(order=late)
    index = reverse("shop_invoices:index")

    def found(**params):
        return [i.pk for i in clerk_client.get(index, params).context["object_list"]]

    assert found(q=current.kid) == [current.pk]
    assert found(q=overdue.display_number) == [overdue.pk]
    assert found(q="hansen") == [current.pk]
    assert found(overdue="true") == [overdue.pk]
    assert found(overdue="false") == [current.pk]
    text = visible_text(clerk_client.get(index))
    assert current.display_number in text and "300.00 NOK" in text
    html = clerk_client.get(index).content.decode()
    assert f'href="{order_page(late)}"' in html

    response = clerk_client.get(index, {"export": "csv"})
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    )
    assert {row["Number"] for row in rows} == {
        overdue.display_number,
        current.display_number,
    }
    assert {row["Total"] for row in rows} == {"450.00", "300.00"}


def test_payment_list_filters_by_method_and_state(clerk_client):
    manual = billing.payment_record_manual(
        order=make_order(amount="100.00"),
        amount=Decimal("100.00"),
        note="Cash",
        by=None,
    )
    sandbox = billing.payment_create(order=make_order(), provider="sandbox")
    index = reverse("shop_payments:index")

    def found(**params):
        return [p.pk for p in clerk_client.get(index, params).context["object_list"]]

    assert found(provider="manual") == [manual.pk]
    assert found(state="created") == [sandbox.pk]
    assert sorted(found()) == sorted([manual.pk, sandbox.pk])
    response = clerk_client.get(index, {"export": "csv", "provider": "manual"})
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    )
    assert [(row["Amount"], row["State"]) for row in rows] == [("100.00", "Confirmed")]


# --- Invoice series ------------------------------------------------------------------


def series_form_data(**fields):
    data = {
        "name": "Events",
        "prefix": "E",
        "kid_prefix": "7",
        "kid_method": "mod10",
        "kid_length": "15",
        "payment_terms_days": "10",
        "reminder_steps-TOTAL_FORMS": "2",
        "reminder_steps-INITIAL_FORMS": "0",
        "reminder_steps-MIN_NUM_FORMS": "0",
        "reminder_steps-MAX_NUM_FORMS": "1000",
        "reminder_steps-0-days_after_due": "7",
        "reminder_steps-0-action": "remind",
        "reminder_steps-0-fee": "0.00",
        "reminder_steps-0-new_due_days": "14",
        "reminder_steps-0-ORDER": "1",
        "reminder_steps-1-days_after_due": "21",
        "reminder_steps-1-action": "remind",
        "reminder_steps-1-fee": "70.00",
        "reminder_steps-1-new_due_days": "14",
        "reminder_steps-1-ORDER": "2",
    }
    data.update(fields)
    return data


def test_clerk_adds_a_series_with_its_reminder_schedule(clerk_client):
    response = clerk_client.post(reverse("shop_invoice_series:add"), series_form_data())

    assert response.status_code == 302, response.context["form"].errors
    series = InvoiceSeries.objects.get(prefix="E")
    steps = list(series.reminder_steps.values_list("days_after_due", "fee"))
    assert steps == [(7, Decimal("0.00")), (21, Decimal("70.00"))]

    # Only one default series: the migration's "F" already is.
    again = clerk_client.post(
        reverse("shop_invoice_series:edit", args=[series.pk]),
        series_form_data(is_default="on", **{"reminder_steps-TOTAL_FORMS": "0"}),
    )
    assert "is the default series. Untick it there first" in visible_text(again)


def test_a_used_series_keeps_its_number_parts_and_is_never_deleted(clerk_client):
    series = InvoiceSeries.objects.get(prefix="F")
    billing.invoice_issue(order=make_order())
    edit_url = reverse("shop_invoice_series:edit", args=[series.pk])

    response = clerk_client.post(
        edit_url,
        series_form_data(
            name="Renamed",
            prefix="X",
            kid_prefix="1",
            is_default="on",
            **{"reminder_steps-TOTAL_FORMS": "0"},
        ),
    )
    assert "Invoices have been numbered in this series" in visible_text(response)
    series.refresh_from_db()
    assert series.prefix == "F"

    delete_url = reverse("shop_invoice_series:delete", args=[series.pk])
    assert delete_url not in clerk_client.get(edit_url).content.decode()
    refused = clerk_client.post(delete_url, follow=True)
    assert "has numbered invoices and is kept with them" in messages_of(refused)[0]
    assert InvoiceSeries.objects.filter(pk=series.pk).exists()


def test_an_unused_series_can_be_deleted(clerk_client):
    series = InvoiceSeries.objects.create(name="Spare", prefix="S", kid_prefix=9)

    clerk_client.post(reverse("shop_invoice_series:delete", args=[series.pk]))

    assert not InvoiceSeries.objects.filter(pk=series.pk).exists()


def test_billing_settings_are_under_settings_for_the_clerk(clerk_client):
    settings_url = reverse("wagtailsettings:edit", args=["shop", "billingsettings"])

    home = clerk_client.get(reverse("wagtailadmin_home"))
    assert settings_url in home.content.decode()
    assert reverse("shop_orders:index") in home.content.decode()
    page = clerk_client.get(settings_url, follow=True)
    assert page.status_code == 200
    seller = soup(page).find("input", {"name": "seller_name"})
    assert seller["value"] == "Makers' Guild"
