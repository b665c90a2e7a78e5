"""The Vipps provider end to end, against the local fake of Vipps.

Payments start on the real pay page, webhooks are signed with the same HMAC Vipps
uses and posted through Django's test client to ``/shop/webhooks/vipps/``, and every
request the provider sends to the fake (and every answer) is checked against the
official ePayment OpenAPI description when each test ends.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from django.utils import timezone

from shop import billing, signals
from shop.models import GatewayEvent, Order, Payment, Refund
from shop.paylinks import pay_path
from shop.providers import ProviderError, enabled_providers, get_provider
from shop.providers.vipps import client as vipps_client
from shop.providers.vipps import reference_for, vipps_payments_poll
from shop.tasks import poll_vipps_payments
from shop.vipps_client import sign_webhook
from tests.shop.test_vipps_client import DATA, Contract
from tests.shop.vipps_fake import FakeVipps

from .factories import make_order

pytestmark = pytest.mark.django_db

SECRET = "webhook-secret-for-tests"
HOST = "testserver"
WEBHOOK = "/shop/webhooks/vipps/"


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract(DATA / "epayment.v1.yml")


@pytest.fixture
def undeclared_ok() -> set[int]:
    """Statuses a test provokes on purpose that the spec does not declare."""
    return set()


@pytest.fixture
def fake(contract, undeclared_ok):
    with (
        FakeVipps() as server,
        override_settings(
            VIPPS_BASE_URL=server.base_url,
            VIPPS_CLIENT_ID=server.client_id,
            VIPPS_CLIENT_SECRET=server.client_secret,
            VIPPS_SUBSCRIPTION_KEY=server.subscription_key,
            VIPPS_MERCHANT_SERIAL_NUMBER=server.msn,
            VIPPS_WEBHOOK_SECRET=SECRET,
        ),
    ):
        yield server
    problems = [p for ex in server.exchanges for p in contract.check(ex, undeclared_ok)]
    assert not problems, "\n".join(problems)


@pytest.fixture
def paid_signals():
    paid = []
    signals.order_paid.connect(
        lambda order, **kw: paid.append(order.pk), weak=False, dispatch_uid="vipps-t"
    )
    yield paid
    signals.order_paid.disconnect(dispatch_uid="vipps-t")


# -- helpers ------------------------------------------------------------------------


def start(client, order) -> tuple[Payment, str]:
    """Choose Vipps on the order's pay page; return the payment and where we went."""
    response = client.post(pay_path(order), {"provider": "vipps"}, secure=True)
    assert response.status_code == 302, response.content
    payment = order.payments.get(provider="vipps", state=Payment.State.PENDING)
    return payment, response.url


def api(fake, action: str | None = None, reference: str | None = None):
    """The ePayment requests the fake received, optionally of one kind."""
    found = []
    for ex in fake.exchanges:
        path = urlsplit(ex.path).path
        if path == "/accesstoken/get":
            continue
        if reference and f"/payments/{reference}" not in path:
            continue
        if action and not (ex.method == "POST" and path.endswith("/" + action)):
            continue
        found.append(ex)
    return found


def post_webhook(client, headers: dict[str, str], body: bytes, host: str = HOST):
    extra = {
        k: v for k, v in headers.items() if k.lower() not in ("host", "content-type")
    }
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={**extra, "Host": host},
        secure=True,
    )


def deliver(client, fake, contract, payment: Payment, index: int = -1):
    """Vipps delivers the payment's event ``index`` (signed with our secret)."""
    headers, body = fake.webhook(
        reference=payment.gateway_id,
        secret=SECRET,
        url_path=WEBHOOK,
        host=HOST,
        index=index,
    )
    assert contract.errors(contract.schema("WebhookEvent"), json.loads(body)) == []
    return post_webhook(client, headers, body)


def age(payment: Payment, **delta) -> None:
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(**delta)
    )


# -- paying -------------------------------------------------------------------------


def test_pay_with_vipps_through_the_pay_page(client, fake, contract, paid_signals):
    order = make_order(amount="450.00")
    page = client.get(pay_path(order))
    assert "Vipps" in page.text

    payment, redirect_url = start(client, order)
    reference = reference_for(payment)
    assert payment.gateway_id == reference == f"gh-{payment.uuid.hex}"
    assert redirect_url == fake.payments[reference].redirect_url
    [create] = api(fake)
    assert create.header("Idempotency-Key") == reference
    assert create.json() == {
        "amount": {"currency": "NOK", "value": 45000},
        "paymentMethod": {"type": "WALLET"},
        "reference": reference,
        "returnUrl": f"https://testserver/shop/payments/{payment.uuid}/return/",
        "userFlow": "WEB_REDIRECT",
        "paymentDescription": f"Order {order.code}",
    }

    fake.approve(reference)  # the payer approves in the app
    response = deliver(client, fake, contract, payment)
    assert response.status_code == 200

    [capture] = api(fake, "capture")
    assert capture.header("Idempotency-Key") == f"capture-{payment.uuid.hex}"
    assert capture.json() == {"modificationAmount": {"currency": "NOK", "value": 45000}}
    assert fake.payments[reference].captured == 45000
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.state == Payment.State.CONFIRMED
    assert payment.amount == Decimal("450.00")
    assert order.status == Order.Status.PAID
    assert paid_signals == [order.pk]
    event = GatewayEvent.objects.get(provider="vipps")
    assert event.kind == "AUTHORIZED" and event.processed_at is not None
    assert event.result == "payment confirmed"

    # The payer comes back from Vipps afterwards: thanked, nothing taken again.
    back = client.get(f"/shop/payments/{payment.uuid}/return/", follow=True)
    assert "Thank you! Your payment has been received." in back.text
    assert len(api(fake, "capture")) == 1


def test_the_return_alone_settles_the_payment(client, fake, paid_signals):
    order = make_order(amount="199.50")
    payment, _ = start(client, order)
    back = client.get(f"/shop/payments/{payment.uuid}/return/", follow=True)
    assert "Your payment is being processed." in back.text  # not approved yet
    payment.refresh_from_db()
    assert payment.state == Payment.State.PENDING
    assert api(fake, "capture") == []

    fake.approve(payment.gateway_id)
    back = client.get(f"/shop/payments/{payment.uuid}/return/", follow=True)
    assert "Thank you! Your payment has been received." in back.text
    [capture] = api(fake, "capture")
    assert capture.json()["modificationAmount"]["value"] == 19950
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and paid_signals == [order.pk]


def test_each_webhook_three_times_and_out_of_order_pays_once(
    client, fake, contract, paid_signals
):
    order = make_order(amount="300.00")
    payment, _ = start(client, order)
    fake.approve(payment.gateway_id)
    created, authorized, captured = 0, 1, 2  # indexes in the fake's event log
    for index in [authorized, created, authorized]:
        assert deliver(client, fake, contract, payment, index).status_code == 200
    assert [e["name"] for e in fake.payments[payment.gateway_id].events] == [
        "CREATED",
        "AUTHORIZED",
        "CAPTURED",
    ]
    client.get(f"/shop/payments/{payment.uuid}/return/")
    for index in [captured, created, authorized, captured, created, captured]:
        assert deliver(client, fake, contract, payment, index).status_code == 200

    assert len(api(fake, "capture")) == 1
    assert order.payments.filter(state=Payment.State.CONFIRMED).count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert paid_signals == [order.pk]
    events = GatewayEvent.objects.filter(provider="vipps")
    assert sorted(events.values_list("kind", flat=True)) == [
        "AUTHORIZED",
        "CAPTURED",
        "CREATED",
    ]
    assert all(e.processed_at for e in events)
    # Vipps was read once; a confirmed payment is not asked about again.
    assert [ex.method for ex in api(fake)] == ["POST", "GET", "POST"]


def test_a_badly_signed_webhook_is_refused_and_changes_nothing(client, fake, contract):
    order = make_order()
    payment, _ = start(client, order)
    fake.approve(payment.gateway_id)
    headers, body = fake.webhook(
        reference=payment.gateway_id, secret=SECRET, url_path=WEBHOOK, host=HOST
    )
    requests_before = len(fake.exchanges)

    wrong_secret = sign_webhook(
        secret="not-our-secret", path_and_query=WEBHOOK, host=HOST, raw_body=body
    )
    tampered = body.replace(b'"AUTHORIZED"', b'"CAPTURED"')
    other_host = sign_webhook(
        secret=SECRET, path_and_query=WEBHOOK, host="evil.example.org", raw_body=body
    )
    other_path = sign_webhook(
        secret=SECRET, path_and_query="/elsewhere/", host=HOST, raw_body=body
    )
    unsigned = {k: v for k, v in headers.items() if k != "Authorization"}
    for bad_headers, bad_body in [
        (wrong_secret, body),
        (headers, tampered),
        (other_host, body),
        (other_path, body),
        (unsigned, body),
        ({}, body),
    ]:
        response = post_webhook(client, bad_headers, bad_body)
        assert response.status_code == 401

    # Signed for real, but not an ePayment event: refused too.
    junk = b'{"hello": "world"}'
    signed_junk = sign_webhook(
        secret=SECRET, path_and_query=WEBHOOK, host=HOST, raw_body=junk
    )
    assert post_webhook(client, signed_junk, junk).status_code == 400

    assert not GatewayEvent.objects.exists()
    assert len(fake.exchanges) == requests_before  # Vipps was not even asked
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.state == Payment.State.PENDING
    assert order.status == Order.Status.OPEN


def test_a_webhook_for_a_reference_we_do_not_know_is_recorded(client, fake, contract):
    vipps_client().create_payment(
        reference="someone-else-0001",
        amount_minor=10000,
        currency="NOK",
        return_url="https://elsewhere.example.org/",
        payment_description="Not ours",
    )
    headers, body = fake.webhook(
        reference="someone-else-0001", secret=SECRET, url_path=WEBHOOK, host=HOST
    )
    assert post_webhook(client, headers, body).status_code == 200
    event = GatewayEvent.objects.get(provider="vipps")
    assert event.result == "unknown reference" and event.processed_at
    assert post_webhook(client, headers, body).status_code == 200
    assert GatewayEvent.objects.count() == 1


# -- polling --------------------------------------------------------------------------


def test_a_payment_without_any_webhook_is_settled_by_polling(
    client, fake, paid_signals
):
    approved = make_order(amount="450.00")
    payment, _ = start(client, approved)
    fake.approve(payment.gateway_id)
    age(payment, minutes=3)

    waiting = make_order(amount="120.00")  # the payer is still in the app
    still_open, _ = start(client, waiting)
    age(still_open, minutes=10)

    too_young = make_order(amount="100.00")  # its webhook may still come
    young, _ = start(client, too_young)
    fake.approve(young.gateway_id)

    too_old = make_order(amount="100.00")  # Vipps expired it long ago
    old, _ = start(client, too_old)
    fake.approve(old.gateway_id)
    age(old, days=3)

    result = poll_vipps_payments.delay().get()
    assert result == {
        "checked": 2,
        "confirmed": 1,
        "failed": 0,
        "pending": 1,
        "errors": 0,
    }
    payment.refresh_from_db()
    approved.refresh_from_db()
    assert payment.state == Payment.State.CONFIRMED
    assert approved.status == Order.Status.PAID
    assert paid_signals == [approved.pk]
    [capture] = api(fake, "capture")
    assert payment.gateway_id in capture.path
    for untouched in (young, old):
        assert api(fake, reference=untouched.gateway_id) == []  # never read
        untouched.refresh_from_db()
        assert untouched.state == Payment.State.PENDING

    # Running it again (or twice at once) takes nothing more.
    assert vipps_payments_poll(chunk_size=1)["checked"] == 1  # only the waiting one
    assert len(api(fake, "capture")) == 1
    assert paid_signals == [approved.pk]


def test_polling_fails_an_expired_payment_and_survives_vipps_being_down(
    client, fake, undeclared_ok
):
    undeclared_ok.add(500)
    order = make_order()
    payment, _ = start(client, order)
    age(payment, minutes=30)
    fake.fail_next(1)  # the read is not retried: left for the next run
    assert vipps_payments_poll()["errors"] == 1
    payment.refresh_from_db()
    assert payment.state == Payment.State.PENDING

    fake.expire(payment.gateway_id)
    assert vipps_payments_poll()["failed"] == 1
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.state == Payment.State.FAILED
    assert "timed out" in payment.message
    assert order.status == Order.Status.OPEN


def test_polling_without_keys_does_nothing(client):
    make_order()
    assert poll_vipps_payments.delay().get()["checked"] == 0


# -- the payer gives up -------------------------------------------------------------------


def test_a_payment_the_payer_aborted_fails_with_a_message(client, fake, contract):
    order = make_order()
    payment, _ = start(client, order)
    fake.abort(payment.gateway_id)
    back = client.get(f"/shop/payments/{payment.uuid}/return/", follow=True)
    assert "You cancelled the payment in Vipps." in back.text
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.state == Payment.State.CANCELLED
    assert payment.message == "You cancelled the payment in Vipps."
    assert order.status == Order.Status.OPEN
    # The ABORTED webhook that follows changes nothing; the payer can try again.
    assert deliver(client, fake, contract, payment).status_code == 200
    payment.refresh_from_db()
    assert payment.state == Payment.State.CANCELLED
    assert api(fake, "capture") == []
    again, _ = start(client, order)
    assert again.pk != payment.pk and again.gateway_id != payment.gateway_id


def test_an_order_paid_otherwise_meanwhile_is_not_charged_again(
    client, fake, contract, staff_user
):
    order = make_order(amount="450.00")
    payment, _ = start(client, order)
    fake.approve(payment.gateway_id)
    billing.payment_record_manual(
        order=order, amount=Decimal("450.00"), note="Paid in cash", by=staff_user
    )
    assert deliver(client, fake, contract, payment).status_code == 200
    assert api(fake, "capture") == []
    [cancel] = api(fake, "cancel")
    assert cancel.header("Idempotency-Key") == f"cancel-{payment.uuid.hex}"
    assert fake.payments[payment.gateway_id].state == "TERMINATED"
    payment.refresh_from_db()
    assert payment.state == Payment.State.FAILED
    assert "nothing was charged" in payment.message
    assert order.payments.filter(state=Payment.State.CONFIRMED).count() == 1


def test_vipps_down_when_starting_leaves_the_order_payable(client, fake, undeclared_ok):
    undeclared_ok.add(500)
    order = make_order()
    fake.fail_next(3)  # the create and both of its retries
    response = client.post(
        pay_path(order), {"provider": "vipps"}, secure=True, follow=True
    )
    assert "Vipps could not start the payment." in response.text
    payment = order.payments.get()
    assert payment.state == Payment.State.FAILED and not payment.gateway_id
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN
    assert fake.payments == {}


# -- refunds ----------------------------------------------------------------------------


def _paid(client, fake, contract, amount="450.00"):
    order = make_order(amount=amount)
    payment, _ = start(client, order)
    fake.approve(payment.gateway_id)
    assert deliver(client, fake, contract, payment).status_code == 200
    payment.refresh_from_db()
    assert payment.state == Payment.State.CONFIRMED
    return order, payment


def test_refund_in_two_parts_refunds_the_order(client, fake, contract):
    order, payment = _paid(client, fake, contract)
    provider = get_provider("vipps")

    first = billing.refund_create(payment=payment, amount=Decimal("100.00"), reason="")
    assert provider.refund(refund=first).state == Refund.State.DONE
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert billing.order_paid_amount(order) == Decimal("350.00")

    rest = billing.refund_create(payment=payment, amount=Decimal("350.00"), reason="")
    assert provider.refund(refund=rest).state == Refund.State.DONE
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert fake.payments[payment.gateway_id].refunded == 45000

    refunds = api(fake, "refund")
    assert [r.header("Idempotency-Key") for r in refunds] == [
        str(first.idempotency_key),
        str(rest.idempotency_key),
    ]
    assert [r.json()["modificationAmount"]["value"] for r in refunds] == [10000, 35000]
    provider.refund(refund=rest)  # done already: Vipps is not asked again
    assert len(api(fake, "refund")) == 2


def test_a_refund_vipps_does_not_answer_stays_pending_and_is_retried_safely(
    client, fake, contract, undeclared_ok
):
    undeclared_ok.add(500)
    order, payment = _paid(client, fake, contract)
    refund = billing.refund_create(payment=payment, amount=Decimal("450.00"), reason="")
    fake.fail_next(3)
    with pytest.raises(ProviderError, match="still pending"):
        get_provider("vipps").refund(refund=refund)
    refund.refresh_from_db()
    assert refund.state == Refund.State.PENDING
    assert get_provider("vipps").refund(refund=refund).state == Refund.State.DONE
    assert {r.header("Idempotency-Key") for r in api(fake, "refund")} == {
        str(refund.idempotency_key)
    }
    assert fake.payments[payment.gateway_id].refunded == 45000
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_a_refund_vipps_refuses_fails_with_its_reason(client, fake, contract):
    order, payment = _paid(client, fake, contract)
    refund = billing.refund_create(payment=payment, amount=Decimal("450.00"), reason="")
    # Someone already refunded it all in the Vipps portal.
    vipps_client().refund(
        reference=payment.gateway_id, amount_minor=45000, idempotency_key="portal-1"
    )
    with pytest.raises(ProviderError, match="exceeds captured amount"):
        get_provider("vipps").refund(refund=refund)
    refund.refresh_from_db()
    assert refund.state == Refund.State.FAILED
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "missing",
    [
        "VIPPS_CLIENT_ID",
        "VIPPS_CLIENT_SECRET",
        "VIPPS_SUBSCRIPTION_KEY",
        "VIPPS_MERCHANT_SERIAL_NUMBER",
        "VIPPS_WEBHOOK_SECRET",
    ],
)
def test_vipps_is_not_offered_without_all_its_keys(client, fake, missing):
    order = make_order()
    assert get_provider("vipps") in enabled_providers()
    with override_settings(**{missing: ""}):
        assert get_provider("vipps") not in enabled_providers()
        assert "Vipps" not in client.get(pay_path(order)).text
        response = client.post(pay_path(order), {"provider": "vipps"}, follow=True)
        assert "Choose one of the ways to pay." in response.text
        assert (
            client.post(
                WEBHOOK, data=b"{}", content_type="application/json"
            ).status_code
            == 404
        )
    assert not Payment.objects.exists()
    assert fake.exchanges == []


@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_three_times_at_once_pays_once(fake, contract, paid_signals):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    if connection.vendor == "sqlite":
        # The shared in-memory test database locks whole tables between threads.
        pytest.skip("concurrent deliveries need a server database (PostgreSQL)")
    order = make_order(amount="450.00")
    payment, _ = start(Client(), order)
    fake.approve(payment.gateway_id)
    headers, body = fake.webhook(
        reference=payment.gateway_id, secret=SECRET, url_path=WEBHOOK, host=HOST
    )

    def deliver_once(_):
        try:
            return post_webhook(Client(), headers, body).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=3) as pool:
        statuses = list(pool.map(deliver_once, range(3)))
    assert statuses == [200, 200, 200]
    assert fake.payments[payment.gateway_id].captured == 45000
    captures = api(fake, "capture")
    assert {c.header("Idempotency-Key") for c in captures} == {
        f"capture-{payment.uuid.hex}"
    }
    assert [e["name"] for e in fake.payments[payment.gateway_id].events].count(
        "CAPTURED"
    ) == 1
    assert order.payments.filter(state=Payment.State.CONFIRMED).count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert paid_signals == [order.pk]
    assert GatewayEvent.objects.filter(provider="vipps").count() == 1
