"""Paying by card through Stripe Checkout, against a local fake of Stripe's API.

Webhooks are signed for real with Stripe's scheme and posted through the Django test
client; nothing reaches the internet.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client, RequestFactory

from shop import billing, signals
from shop.models import GatewayEvent, Order, Payment, Refund
from shop.paylinks import pay_path
from shop.providers import ProviderError, RedirectRequired, get_provider

from .factories import make_order
from .stripe_fake import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, sign

pytestmark = pytest.mark.django_db

WEBHOOK = "/shop/webhooks/stripe/"


@pytest.fixture
def fake(settings):
    with FakeStripe() as server:
        settings.STRIPE_API_BASE = server.base_url
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        yield server


def _listen(signal):
    received = []

    def receiver(sender, order, **kwargs):
        received.append(order.pk)

    signal.connect(receiver, dispatch_uid="test_stripe", weak=False)
    return received


@pytest.fixture
def paid_signals():
    yield _listen(signals.order_paid)
    signals.order_paid.disconnect(dispatch_uid="test_stripe")


@pytest.fixture
def refunded_signals():
    yield _listen(signals.order_refunded)
    signals.order_refunded.disconnect(dispatch_uid="test_stripe")


def choose_stripe(client, order) -> tuple[Payment, str]:
    """The payer picks Stripe on the pay page; returns the attempt and its session."""
    response = client.post(pay_path(order), {"provider": "stripe"})
    payment = order.payments.order_by("-pk").first()
    assert response.status_code == 302
    assert response.url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    return payment, payment.gateway_id


def deliver(client, event, *, secret=WEBHOOK_SECRET, body=None, header=None):
    payload = json.dumps(event) if body is None else body
    if header is None:
        header = sign(payload, secret)
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}
    return client.post(WEBHOOK, payload, content_type="application/json", **extra)


def test_pay_by_card_from_the_pay_page_to_the_webhook(client, fake, paid_signals):
    order = make_order(amount="199.90", quantity="3")
    page = client.get(pay_path(order))
    assert "Card (Stripe)" in page.text

    payment, session_id = choose_stripe(client, order)

    assert payment.state == Payment.State.PENDING
    assert session_id in fake.sessions
    (created,) = fake.requests_to("POST", "/v1/checkout/sessions")
    assert created.headers["Idempotency-Key"] == f"checkout-{payment.uuid}"
    params = created.params
    assert params["mode"] == "payment"
    price = params["line_items"][0]["price_data"]
    assert price["currency"] == "nok"
    assert price["unit_amount"] == "59970"
    assert price["product_data"]["name"] == f"Order {order.code}"
    assert params["client_reference_id"] == str(payment.uuid)
    assert params["metadata"] == {
        "payment_uuid": str(payment.uuid),
        "order_code": order.code,
    }
    assert params["customer_email"] == "kari@example.org"
    assert params["locale"] == "en"
    back = f"http://testserver/shop/payments/{payment.uuid}/return/"
    assert params["success_url"] == back and params["cancel_url"] == back

    fake.pay(session_id)
    response = deliver(client, fake.event("checkout.session.completed"))

    assert response.status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert payment.state == Payment.State.CONFIRMED
    assert payment.amount == Decimal("599.70")
    assert payment.gateway_id == session_id
    assert billing.order_paid_amount(order) == Decimal("599.70")
    assert paid_signals == [order.pk]
    event = GatewayEvent.objects.get(provider="stripe")
    assert event.kind == "checkout.session.completed"
    assert event.processed_at is not None
    assert "This order is paid" in client.get(pay_path(order)).text


def test_checkout_speaks_the_order_language(client, fake):
    order = make_order(language="nb")
    choose_stripe(client, order)
    (created,) = fake.requests_to("POST", "/v1/checkout/sessions")
    assert created.params["locale"] == "nb"


def test_starting_twice_creates_one_stripe_session(fake):
    order = make_order()
    payment = billing.payment_create(order=order, provider="stripe")
    provider = get_provider("stripe")
    request = RequestFactory().get("/")
    urls = []
    for _ in range(2):
        with pytest.raises(RedirectRequired) as redirect:
            provider.start_payment(payment=payment, request=request)
        urls.append(redirect.value.url)
    assert urls[0] == urls[1]
    assert len(fake.sessions) == 1
    assert len(fake.requests_to("POST", "/v1/checkout/sessions")) == 2


def test_every_event_three_times_out_of_order_pays_once(client, fake, paid_signals):
    order = make_order(amount="450.00")
    first, first_session = choose_stripe(client, order)
    second, second_session = choose_stripe(client, order)
    fake.expire(first_session)
    fake.pay(second_session)
    completed = fake.event("checkout.session.completed", fake.sessions[second_session])
    succeeded = fake.event(
        "checkout.session.async_payment_succeeded", fake.sessions[second_session]
    )
    expired = fake.event("checkout.session.expired", fake.sessions[first_session])
    deliveries = [
        expired,
        completed,
        succeeded,
        completed,
        expired,
        succeeded,
        completed,
        succeeded,
        expired,
    ]

    statuses = [deliver(client, event).status_code for event in deliveries]

    assert statuses == [200] * 9
    order.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert second.state == Payment.State.CONFIRMED
    assert second.amount == Decimal("450.00")
    assert first.state == Payment.State.FAILED
    assert "not completed in time" in first.message
    assert order.payments.filter(state=Payment.State.CONFIRMED).count() == 1
    assert billing.order_paid_amount(order) == Decimal("450.00")
    assert paid_signals == [order.pk]
    ids = sorted(GatewayEvent.objects.values_list("event_id", flat=True))
    assert ids == sorted([completed["id"], succeeded["id"], expired["id"]])
    # Repeats were answered without acting: Stripe was asked once per event.
    read_back = [r for r in fake.requests if r.method == "GET"]
    assert len(read_back) == 3


@pytest.mark.django_db(transaction=True)
def test_the_same_event_three_times_at_once_pays_once(fake, paid_signals):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent row locks need PostgreSQL")
    order = make_order(amount="450.00")
    payment = billing.payment_create(order=order, provider="stripe")
    with pytest.raises(RedirectRequired):
        get_provider("stripe").start_payment(
            payment=payment, request=RequestFactory().get("/")
        )
    fake.pay(payment.gateway_id)
    event = fake.event("checkout.session.completed")
    barrier = threading.Barrier(3)
    statuses = []

    def post():
        try:
            barrier.wait()
            statuses.append(deliver(Client(), event).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200, 200, 200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payments.filter(state=Payment.State.CONFIRMED).count() == 1
    assert billing.order_paid_amount(order) == Decimal("450.00")
    assert paid_signals == [order.pk]
    assert GatewayEvent.objects.filter(event_id=event["id"]).count() == 1


@pytest.mark.parametrize(
    "tamper",
    ["wrong secret", "changed body", "no header", "too old", "not a signature"],
)
def test_a_bad_signature_is_refused_and_changes_nothing(client, fake, tamper):
    order = make_order()
    payment, session_id = choose_stripe(client, order)
    fake.pay(session_id)
    event = fake.event("checkout.session.completed")
    body = json.dumps(event)
    kwargs = {
        "wrong secret": {"secret": "whsec_someone_else"},
        "changed body": {
            "body": body.replace('"amount_total": 45000', '"amount_total": 1'),
            "header": sign(body),
        },
        "no header": {"header": ""},
        "too old": {"header": sign(body, timestamp=time.time() - 3600)},
        "not a signature": {"header": "v1=deadbeef"},
    }[tamper]
    if tamper == "changed body":
        assert kwargs["body"] != body

    response = deliver(client, event, **kwargs)

    assert response.status_code == 400
    assert not GatewayEvent.objects.exists()
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.OPEN
    assert payment.state == Payment.State.PENDING
    assert not fake.requests_to("GET", f"/v1/checkout/sessions/{session_id}")


def test_an_event_claiming_paid_does_not_pay_when_stripe_says_unpaid(client, fake):
    order = make_order()
    payment, _ = choose_stripe(client, order)
    forged = fake.event(
        "checkout.session.completed", status="complete", payment_status="paid"
    )

    response = deliver(client, forged)

    assert response.status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.OPEN
    assert payment.state == Payment.State.PENDING
    assert billing.order_paid_amount(order) == Decimal("0.00")
    event = GatewayEvent.objects.get()
    assert event.processed_at is not None and "pending" in event.result


def test_return_before_the_webhook_confirms_and_the_webhook_changes_nothing(
    client, fake, paid_signals
):
    order = make_order(amount="450.00")
    payment, session_id = choose_stripe(client, order)
    fake.pay(session_id)

    page = client.get(f"/shop/payments/{payment.uuid}/return/", follow=True)

    assert "Thank you! Your payment has been received." in page.text
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.state == Payment.State.CONFIRMED
    assert payment.amount == Decimal("450.00")
    assert order.status == Order.Status.PAID
    confirmed_at = payment.confirmed_at

    response = deliver(client, fake.event("checkout.session.completed"))

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.confirmed_at == confirmed_at
    assert paid_signals == [order.pk]
    assert billing.order_paid_amount(order) == Decimal("450.00")


def test_returning_without_paying_cancels_the_attempt(client, fake):
    order = make_order()
    payment, session_id = choose_stripe(client, order)

    page = client.get(f"/shop/payments/{payment.uuid}/return/", follow=True)

    assert "You cancelled the card payment." in page.text
    assert fake.sessions[session_id]["status"] == "expired"
    payment.refresh_from_db()
    assert payment.state == Payment.State.CANCELLED
    deliver(client, fake.event("checkout.session.expired"))
    payment.refresh_from_db()
    assert payment.state == Payment.State.CANCELLED
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN
    assert "Card (Stripe)" in page.text


def test_a_delayed_payment_that_fails_leaves_the_order_open(client, fake):
    order = make_order()
    payment, session_id = choose_stripe(client, order)
    fake.complete_unpaid(session_id)
    assert deliver(client, fake.event("checkout.session.completed")).status_code == 200
    payment.refresh_from_db()
    assert payment.state == Payment.State.PENDING

    fake.fail_async(session_id)
    deliver(client, fake.event("checkout.session.async_payment_failed"))

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.state == Payment.State.FAILED
    assert "declined" in payment.message
    assert order.status == Order.Status.OPEN


def test_poll_confirms_when_no_webhook_comes(client, fake):
    order = make_order(amount="120.50")
    payment, session_id = choose_stripe(client, order)
    fake.pay(session_id)
    payment = get_provider("stripe").poll(payment=payment)
    assert payment.state == Payment.State.CONFIRMED
    assert payment.amount == Decimal("120.50")


def test_an_event_stripe_cannot_confirm_yet_is_applied_on_redelivery(
    client, fake, settings
):
    order = make_order()
    payment, session_id = choose_stripe(client, order)
    fake.pay(session_id)
    event = fake.event("checkout.session.completed")
    settings.STRIPE_SECRET_KEY = "sk_test_revoked"

    assert deliver(client, event).status_code == 503
    assert GatewayEvent.objects.get().processed_at is None
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN

    settings.STRIPE_SECRET_KEY = SECRET_KEY
    assert deliver(client, event).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert GatewayEvent.objects.count() == 1


def test_unknown_event_types_are_recorded_and_ignored(client, fake):
    event = fake.event("customer.created", {"id": "cus_Qk1", "object": "customer"})
    response = deliver(client, event)
    assert response.status_code == 200
    stored = GatewayEvent.objects.get()
    assert stored.kind == "customer.created" and stored.result == "Ignored."
    assert len(fake.requests) == 0


def test_stripe_refusing_the_session_shows_a_message(client, fake, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_revoked"
    order = make_order()
    response = client.post(pay_path(order), {"provider": "stripe"}, follow=True)
    assert "Card payment is not available right now." in response.text
    payment = order.payments.get()
    assert payment.state == Payment.State.FAILED
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN


def _paid(client, fake, amount="599.70") -> tuple[Order, Payment]:
    order = make_order(amount=amount)
    payment, session_id = choose_stripe(client, order)
    fake.pay(session_id)
    deliver(client, fake.event("checkout.session.completed"))
    payment.refresh_from_db()
    assert payment.state == Payment.State.CONFIRMED
    return order, payment


def test_full_refund_goes_to_stripe_in_ore_and_refunds_the_order(
    client, fake, refunded_signals
):
    order, payment = _paid(client, fake)
    refund = billing.refund_create(
        payment=payment, amount=Decimal("599.70"), reason="Moved abroad"
    )

    get_provider("stripe").refund(refund=refund)
    get_provider("stripe").refund(refund=refund)  # a retry changes nothing

    requests = fake.requests_to("POST", "/v1/refunds")
    assert len(requests) == 2
    assert requests[0].params["amount"] == "59970"
    assert requests[0].headers["Idempotency-Key"] == str(refund.idempotency_key)
    intent_id = fake.sessions[payment.gateway_id]["payment_intent"]
    assert requests[0].params["payment_intent"] == intent_id
    assert len(fake.refunds) == 1
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == Refund.State.DONE
    assert refund.gateway_id in fake.refunds
    assert order.status == Order.Status.REFUNDED
    assert billing.order_paid_amount(order) == Decimal("0.00")
    assert refunded_signals == [order.pk]


def test_a_pending_refund_is_finished_by_the_webhook(client, fake):
    order, payment = _paid(client, fake)
    fake.refund_status = "pending"
    refund = billing.refund_create(
        payment=payment, amount=Decimal("100.00"), reason="Discount"
    )

    get_provider("stripe").refund(refund=refund)

    refund.refresh_from_db()
    assert refund.state == Refund.State.PENDING
    assert refund.gateway_id in fake.refunds
    done = fake.finish_refund(refund.gateway_id)
    assert deliver(client, fake.event("refund.updated", done)).status_code == 200
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == Refund.State.DONE
    assert order.status == Order.Status.PAID
    assert billing.order_paid_amount(order) == Decimal("499.70")


def test_a_refund_in_a_stripe_outage_stays_pending_and_retries_once(client, fake):
    order, payment = _paid(client, fake, amount="450.00")
    refund = billing.refund_create(
        payment=payment, amount=Decimal("450.00"), reason="Cancelled event"
    )
    fake.outage = True

    with pytest.raises(ProviderError) as error:
        get_provider("stripe").refund(refund=refund)

    assert "still pending" in error.value.message_for_user
    refund.refresh_from_db()
    assert refund.state == Refund.State.PENDING
    fake.outage = False
    get_provider("stripe").refund(refund=refund)
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == Refund.State.DONE
    assert order.status == Order.Status.REFUNDED
    assert len(fake.refunds) == 1
    keys = {
        r.headers["Idempotency-Key"] for r in fake.requests_to("POST", "/v1/refunds")
    }
    assert keys == {str(refund.idempotency_key)}


def test_a_refund_stripe_refuses_is_marked_failed(client, fake):
    _, payment = _paid(client, fake)
    intent_id = fake.sessions[payment.gateway_id]["payment_intent"]
    fake.intents[intent_id]["status"] = "canceled"
    refund = billing.refund_create(payment=payment, amount=Decimal("50.00"), reason="x")

    with pytest.raises(ProviderError) as error:
        get_provider("stripe").refund(refund=refund)

    assert "Stripe refused the refund" in error.value.message_for_user
    refund.refresh_from_db()
    assert refund.state == Refund.State.FAILED


def test_stripe_is_not_offered_without_keys(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    order = make_order()
    assert "Card (Stripe)" not in client.get(pay_path(order)).text
    client.post(pay_path(order), {"provider": "stripe"})
    assert not Payment.objects.exists()
    assert (
        client.post(WEBHOOK, "{}", content_type="application/json").status_code == 404
    )


def test_stripe_is_offered_with_keys(client, settings):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = ""
    order = make_order()
    assert "Card (Stripe)" not in client.get(pay_path(order)).text
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    assert "Card (Stripe)" in client.get(pay_path(order)).text
