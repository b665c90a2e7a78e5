"""The payer's pages: pay link, sandbox, invoice choice."""

from decimal import Decimal

import pytest
from django.core import signing
from django.test import override_settings

from shop.models import Order, Payment
from shop.paylinks import pay_path, pay_token

from .factories import configure_seller, make_order

pytestmark = pytest.mark.django_db


def test_a_forged_or_mangled_pay_link_shows_a_clear_page(client):
    order = make_order()
    response = client.get(f"/shop/pay/{order.code}:forged/")
    assert response.status_code == 404
    assert "This pay link does not work" in response.text


def test_an_expired_pay_link_is_refused(client, monkeypatch):
    order = make_order()
    token = pay_token(order)
    monkeypatch.setattr(signing, "time", _LaterClock())
    response = client.get(f"/shop/pay/{token}/")
    assert response.status_code == 404


class _LaterClock:
    """time.time() a year from now, for expiring signed links."""

    def time(self):
        import time

        return time.time() + 365 * 24 * 3600


def test_pay_through_the_sandbox(client):
    order = make_order(amount="450.00")
    page = client.get(pay_path(order))
    assert page.status_code == 200
    assert "450.00" in page.text and "Test payment (sandbox)" in page.text
    response = client.post(pay_path(order), {"provider": "sandbox"})
    payment = Payment.objects.get(order=order)
    assert response.url == f"/shop/sandbox/{payment.uuid}/"
    sandbox = client.get(response.url)
    assert "TEST ONLY" in sandbox.text
    back = client.post(response.url, {"decision": "approve"})
    followed = client.get(back.url, follow=True)
    assert "Thank you! Your payment has been received." in followed.text
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payments.get().amount == Decimal("450.00")


def test_a_payer_sent_with_a_back_path_returns_there_once_paid(client):
    order = make_order(amount="450.00")
    page = client.get(pay_path(order) + "?back=/account/my-account/invoices/")
    assert 'href="/account/my-account/invoices/"' in page.text
    response = client.post(pay_path(order), {"provider": "sandbox"})
    back = client.post(response.url, {"decision": "approve"})
    returned = client.get(back.url)
    assert returned.status_code == 302
    assert returned.url == "/account/my-account/invoices/"


def test_a_back_address_on_another_site_is_ignored(client):
    order = make_order(amount="450.00")
    page = client.get(pay_path(order) + "?back=https://evil.example/phish")
    assert "Back to the previous page" not in page.text
    response = client.post(pay_path(order), {"provider": "sandbox"})
    back = client.post(response.url, {"decision": "approve"})
    returned = client.get(back.url)
    assert returned.url == pay_path(order)


def test_declined_sandbox_payment_leaves_the_order_open(client):
    order = make_order()
    response = client.post(pay_path(order), {"provider": "sandbox"})
    back = client.post(response.url, {"decision": "decline"})
    followed = client.get(back.url, follow=True)
    assert "The test payment was declined." in followed.text
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN
    assert Payment.objects.get(order=order).state == Payment.State.FAILED


@override_settings(GUILDHALL_SANDBOX_PAYMENTS=False)
def test_sandbox_is_not_offered_when_disabled(client):
    order = make_order()
    page = client.get(pay_path(order))
    assert "sandbox" not in page.text
    response = client.post(pay_path(order), {"provider": "sandbox"})
    assert "Choose one of the ways to pay." in client.get(pay_path(order)).text or (
        response.status_code == 200
    )
    assert not Payment.objects.exists()


def test_choosing_invoice_issues_one_with_kid(client):
    configure_seller()
    order = make_order(amount="450.00")
    response = client.post(pay_path(order), {"provider": "invoice"})
    page = client.get(response.url)
    invoice = order.invoices.get()
    assert invoice.kid in page.text
    assert "450.00" in page.text
    assert "86011117947" in page.text
    # Choosing invoice again gives the same invoice.
    client.post(pay_path(order), {"provider": "invoice"})
    assert order.invoices.count() == 1
