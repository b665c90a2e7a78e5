"""Vipps MobilePay through the ePayment API v1 (``shop.vipps_client``).

The payer is sent to Vipps (``WEB_REDIRECT``) and approves there; the amount is then
*reserved* (``AUTHORIZED``) and we capture it at once, since what is sold here
(memberships, event seats, dues) is delivered on payment.

Nothing Vipps sends is believed as it stands. The payer's return, a webhook and the
poll every few minutes all end in one function, :func:`settle`, which reads the
payment back from Vipps and acts on the state it reads: capture what is authorized
and confirm it, fail what was aborted or expired. Captures carry an idempotency key
stable per payment and every ``shop.billing`` call is idempotent, so settling a
payment once or ten times, from three places at once, takes the money once and pays
the order once. Amounts become øre only here, at the gateway's boundary.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import billing
from ..models import Order, Payment, Refund
from ..money import from_minor, to_minor
from ..vipps_client import (
    VippsClient,
    VippsConfig,
    VippsConnectionError,
    VippsError,
    VippsPayment,
    parse_webhook_event,
    verify_webhook,
)
from .base import PaymentProvider, ProviderError, RedirectRequired, register

logger = logging.getLogger(__name__)

IDENTIFIER = "vipps"
#: Currencies the ePayment API takes.
CURRENCIES = frozenset({"NOK", "DKK", "EUR"})
#: The settings that must all be set before Vipps is offered.
REQUIRED_SETTINGS = (
    "VIPPS_CLIENT_ID",
    "VIPPS_CLIENT_SECRET",
    "VIPPS_SUBSCRIPTION_KEY",
    "VIPPS_MERCHANT_SERIAL_NUMBER",
    "VIPPS_WEBHOOK_SECRET",
)
#: The poll leaves a payment this long to its webhook first ...
POLL_AFTER = timedelta(minutes=2)
#: ... and gives up on it after this long (Vipps has long expired it by then).
POLL_UNTIL = timedelta(days=2)
POLL_CHUNK = 100


# -- the client ---------------------------------------------------------------------


def is_configured() -> bool:
    """Whether every Vipps key is set."""
    return all(getattr(settings, name, "") for name in REQUIRED_SETTINGS)


def _config() -> VippsConfig:
    return VippsConfig(
        client_id=settings.VIPPS_CLIENT_ID,
        client_secret=settings.VIPPS_CLIENT_SECRET,
        subscription_key=settings.VIPPS_SUBSCRIPTION_KEY,
        merchant_serial_number=settings.VIPPS_MERCHANT_SERIAL_NUMBER,
        base_url=settings.VIPPS_BASE_URL,
    )


@lru_cache(maxsize=4)
def _client_for(config: VippsConfig) -> VippsClient:
    return VippsClient(config)


def client() -> VippsClient:
    """The client for the configured sales unit: one per process (and per
    configuration, so that its access token is reused between requests)."""
    return _client_for(_config())


def reference_for(payment: Payment) -> str:
    """The Vipps reference of a payment attempt: ``gh-`` and its uuid, 35 characters
    of ``[a-zA-Z0-9-]`` as Vipps requires, the same however often it is asked."""
    return f"gh-{payment.uuid.hex}"


def _capture_key(payment: Payment, captured_minor: int) -> str:
    # Stable per payment, so a capture repeated (webhook, return and poll at once)
    # is the same operation at Vipps; a remainder after a partial capture made
    # elsewhere (the Vipps portal) is a different operation and gets its own key.
    key = f"capture-{payment.uuid.hex}"
    return key if not captured_minor else f"{key}-{captured_minor}"


def _raw(action: str, answer: VippsPayment | dict) -> dict:
    body = answer.raw if isinstance(answer, VippsPayment) else answer
    return {"vipps": action, "at": timezone.now().isoformat(), "response": body}


# -- settling -----------------------------------------------------------------------


def _message(payment: Payment, text: str) -> str:
    """``text`` (a gettext_lazy string) in the order's language, for the payer."""
    with translation.override(payment.order.language or settings.LANGUAGE_CODE):
        return str(text)


MESSAGES = {
    "ABORTED": gettext_lazy("You cancelled the payment in Vipps."),
    "EXPIRED": gettext_lazy(
        "The payment timed out before it was approved in Vipps. You can try again."
    ),
    "TERMINATED": gettext_lazy(
        "The payment was stopped in Vipps and no money was taken. You can try again."
    ),
    "NOT_PAYABLE": gettext_lazy(
        "This order no longer awaits payment, so the amount reserved in Vipps was "
        "released and nothing was charged."
    ),
}


def settle(*, payment: Payment) -> Payment:
    """Bring a Vipps payment in line with what Vipps says about it, and return it.

    Reads the payment back from Vipps and acts on that state, never on what a webhook
    or a return address claimed: money captured that covers the payment confirms it;
    ``AUTHORIZED`` is captured in full, then confirmed; ``ABORTED``, ``EXPIRED`` and
    ``TERMINATED`` fail it with a message for the payer; ``CREATED`` (the payer has not
    acted yet) changes nothing. An authorized payment on an order that no longer
    awaits payment (paid otherwise, cancelled) is released at Vipps, not captured.

    Idempotent however often and from however many places it is called: the capture's
    idempotency key is stable per payment and ``billing`` ignores a second confirm or
    fail. Raises :class:`~shop.vipps_client.VippsError` if Vipps cannot be asked.
    """
    payment.refresh_from_db()
    if (
        payment.provider != IDENTIFIER
        or not payment.gateway_id
        or payment.state == Payment.State.CONFIRMED
    ):
        return payment
    vipps = client()
    read = vipps.get_payment(reference=payment.gateway_id)
    expected = to_minor(payment.amount)
    if read.currency != payment.currency:
        logger.error(
            "Vipps payment %s is in %s, ours in %s; not settled.",
            read.reference,
            read.currency,
            payment.currency,
        )
        return payment
    if read.captured_minor >= expected:
        _confirm(payment, read, "get_payment")
    elif read.state == "AUTHORIZED":
        _capture(vipps, payment, read, expected)
    elif read.state == "ABORTED":
        billing.payment_fail(
            payment=payment,
            message=_message(payment, MESSAGES["ABORTED"]),
            raw=_raw("get_payment", read),
            cancelled=True,
        )
    elif read.state in ("EXPIRED", "TERMINATED"):
        billing.payment_fail(
            payment=payment,
            message=_message(payment, MESSAGES[read.state]),
            raw=_raw("get_payment", read),
        )
    # CREATED: the payer is still in Vipps. A later return, webhook or poll settles it.
    payment.refresh_from_db()
    return payment


def _confirm(payment: Payment, read: VippsPayment, action: str) -> None:
    confirmed = billing.payment_confirm(
        payment=payment,
        amount=from_minor(read.captured_minor),
        raw=_raw(action, read),
    )
    if confirmed:
        logger.info("Vipps payment %s captured and confirmed.", read.reference)


def _capture(
    vipps: VippsClient, payment: Payment, read: VippsPayment, expected: int
) -> None:
    order = Order.objects.only("status").get(pk=payment.order_id)
    if order.status != Order.Status.OPEN and read.captured_minor == 0:
        payment.refresh_from_db()
        if payment.state == Payment.State.CONFIRMED:
            return  # confirmed meanwhile by a settle running beside this one
        # Paid another way or cancelled meanwhile: take nothing; let the payer's
        # reservation go (cancel touches only what is not captured).
        answer = vipps.cancel(
            reference=payment.gateway_id, idempotency_key=f"cancel-{payment.uuid.hex}"
        )
        billing.payment_fail(
            payment=payment,
            message=_message(payment, MESSAGES["NOT_PAYABLE"]),
            raw=_raw("cancel", answer),
        )
        return
    remaining = min(
        expected - read.captured_minor,
        read.authorized_minor - read.captured_minor - read.cancelled_minor,
    )
    if remaining <= 0:
        logger.warning(
            "Vipps payment %s: nothing left to capture (captured %s of %s).",
            read.reference,
            read.captured_minor,
            expected,
        )
        return
    answer = vipps.capture(
        reference=payment.gateway_id,
        amount_minor=remaining,
        currency=payment.currency,
        idempotency_key=_capture_key(payment, read.captured_minor),
    )
    if answer.captured_minor >= expected:
        _confirm(payment, answer, "capture")
    else:
        logger.warning(
            "Vipps payment %s: captured %s of %s; left pending.",
            read.reference,
            answer.captured_minor,
            expected,
        )


def vipps_payments_poll(*, now=None, chunk_size: int = POLL_CHUNK) -> dict[str, int]:
    """Settle every pending Vipps payment that no webhook has settled: those started
    more than ``POLL_AFTER`` and less than ``POLL_UNTIL`` ago, in chunks.

    Safe to run twice or beside webhooks (:func:`settle` is idempotent). A payment
    Vipps cannot be asked about is left for the next run. Returns counts by outcome.
    """
    counts = {"checked": 0, "confirmed": 0, "failed": 0, "pending": 0, "errors": 0}
    if not is_configured():
        return counts
    now = now or timezone.now()
    candidates = Payment.objects.filter(
        provider=IDENTIFIER,
        state=Payment.State.PENDING,
        created_at__lte=now - POLL_AFTER,
        created_at__gte=now - POLL_UNTIL,
    ).exclude(gateway_id="")
    last_pk = 0
    while True:
        chunk = list(
            candidates.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk_size]
        )
        if not chunk:
            break
        last_pk = chunk[-1]
        for payment in Payment.objects.filter(pk__in=chunk).select_related("order"):
            counts["checked"] += 1
            try:
                payment = settle(payment=payment)
            except VippsError as exc:
                counts["errors"] += 1
                logger.warning("Vipps poll of payment %s failed: %s", payment.pk, exc)
                continue
            if payment.state == Payment.State.CONFIRMED:
                counts["confirmed"] += 1
            elif payment.state in (Payment.State.FAILED, Payment.State.CANCELLED):
                counts["failed"] += 1
            else:
                counts["pending"] += 1
    return counts


# -- the provider -------------------------------------------------------------------


@register
class VippsProvider(PaymentProvider):
    """Vipps MobilePay: the payer approves in the Vipps app; we capture at once."""

    identifier = IDENTIFIER
    verbose_name = gettext_lazy("Vipps")
    description = gettext_lazy("Pay with the Vipps app on your phone.")

    def is_enabled(self) -> bool:
        return is_configured()

    def start_payment(self, *, payment: Payment, request: HttpRequest) -> None:
        """Create the payment at Vipps and send the payer there."""
        order = payment.order
        if payment.currency not in CURRENCIES:
            message = _("Vipps cannot take payments in %(currency)s.") % {
                "currency": payment.currency
            }
            billing.payment_fail(payment=payment, message=message)
            raise ProviderError(message)
        reference = reference_for(payment)
        return_path = reverse(
            "shop:payment_return", kwargs={"payment_uuid": payment.uuid}
        )
        with translation.override(order.language or settings.LANGUAGE_CODE):
            description = _("Order %(code)s") % {"code": order.code}
        try:
            created = client().create_payment(
                reference=reference,
                amount_minor=to_minor(payment.amount),
                currency=payment.currency,
                return_url=request.build_absolute_uri(return_path),
                payment_description=description,
                idempotency_key=reference,
            )
        except VippsError as exc:
            logger.warning("Vipps refused payment %s: %s", payment.pk, exc)
            message = _(
                "Vipps could not start the payment. Please try again in a moment, "
                "or choose another way to pay."
            )
            billing.payment_fail(
                payment=payment,
                message=message,
                raw={"vipps": "create_payment", "error": str(exc)[:500]},
            )
            raise ProviderError(message) from exc
        billing.payment_pending(
            payment=payment,
            gateway_id=reference,
            raw=_raw("create_payment", created.raw),
        )
        if not created.redirect_url:
            raise ProviderError()
        raise RedirectRequired(created.redirect_url)

    def handle_return(self, *, payment: Payment, request: HttpRequest) -> Payment:
        """The payer is back from Vipps: settle from what Vipps says."""
        return self.poll(payment=payment)

    def poll(self, *, payment: Payment) -> Payment:
        try:
            return settle(payment=payment)
        except VippsError as exc:
            logger.warning("Could not settle Vipps payment %s: %s", payment.pk, exc)
            raise ProviderError(
                _(
                    "We could not reach Vipps to check your payment. It will be "
                    "checked again shortly; you do not need to pay again."
                )
            ) from exc

    def handle_webhook(self, request: HttpRequest) -> HttpResponse:
        """A Vipps webhook: verify it on the raw body, record it once, settle the
        payment it names from the state read back from Vipps."""
        body = request.body
        if not verify_webhook(
            secret=settings.VIPPS_WEBHOOK_SECRET,
            method=request.method,
            path_and_query=request.get_full_path(),
            host=request.get_host(),
            headers=request.headers,
            raw_body=body,
        ):
            logger.warning("Vipps webhook with a bad signature refused.")
            return HttpResponse("Bad signature.", status=401, content_type="text/plain")
        try:
            event = parse_webhook_event(body)
        except VippsError as exc:
            logger.warning("Vipps webhook could not be read: %s", exc)
            return HttpResponseBadRequest("Not an ePayment event.")
        event_id = ":".join(
            (
                event.reference,
                event.name,
                event.psp_reference,
                str(event.raw.get("timestamp", "")),
            )
        )
        record, created = billing.event_record(
            provider=IDENTIFIER, event_id=event_id, kind=event.name, payload=event.raw
        )
        if not created and record.processed_at is not None:
            return HttpResponse("Already processed.", content_type="text/plain")
        if event.msn != settings.VIPPS_MERCHANT_SERIAL_NUMBER:
            billing.event_processed(
                event=record, result=f"other sales unit {event.msn}"
            )
            return HttpResponse("Not ours.", content_type="text/plain")
        payment = (
            Payment.objects.filter(provider=IDENTIFIER, gateway_id=event.reference)
            .select_related("order")
            .first()
        )
        if payment is None:
            billing.event_processed(event=record, result="unknown reference")
            return HttpResponse("Unknown reference.", content_type="text/plain")
        try:
            payment = settle(payment=payment)
        except VippsError as exc:
            # Left unprocessed: Vipps delivers it again (a second delivery of an
            # unprocessed event is settled), and the poll settles it meanwhile.
            logger.warning("Vipps webhook %s not settled yet: %s", event_id, exc)
            return HttpResponse("Try again.", status=503, content_type="text/plain")
        billing.event_processed(event=record, result=f"payment {payment.state}")
        return HttpResponse("OK", content_type="text/plain")

    def refund(self, *, refund: Refund) -> Refund:
        """Give back ``refund.amount`` at Vipps and mark it done once Vipps's
        refunded total covers it.

        The refund's own idempotency key goes with it, so repeating this for the same
        refund (after a timeout, say) never refunds twice. A refusal from Vipps fails
        the refund; no answer at all leaves it pending, to be tried again as it is.
        """
        refund.refresh_from_db()
        if refund.state != Refund.State.PENDING:
            return refund
        payment = refund.payment
        if payment.provider != IDENTIFIER or not payment.gateway_id:
            raise ProviderError(_("This payment was not made with Vipps."))
        try:
            answer = client().refund(
                reference=payment.gateway_id,
                amount_minor=to_minor(refund.amount),
                currency=payment.currency,
                idempotency_key=str(refund.idempotency_key),
            )
        except VippsError as exc:
            logger.warning("Vipps refund %s: %s", refund.pk, exc)
            unknown = isinstance(exc, VippsConnectionError) or (exc.status or 0) >= 500
            if unknown:
                raise ProviderError(
                    _(
                        "Vipps did not answer. The refund is still pending; try "
                        "again in a moment and it will not be made twice."
                    )
                ) from exc
            billing.refund_failed(
                refund=refund, raw={"vipps": "refund", "error": str(exc)[:500]}
            )
            detail = exc.detail or exc.title or ""
            raise ProviderError(
                _("Vipps refused the refund: %(detail)s") % {"detail": detail}
                if detail
                else _("Vipps refused the refund.")
            ) from exc
        before = (
            payment.refunds.filter(state=Refund.State.DONE)
            .exclude(pk=refund.pk)
            .aggregate(total=Sum("amount"))["total"]
        )
        expected = to_minor(refund.amount) + (to_minor(before) if before else 0)
        if answer.refunded_minor >= expected:
            billing.refund_done(
                refund=refund,
                gateway_id=answer.psp_reference or "",
                raw=_raw("refund", answer),
            )
        else:
            logger.warning(
                "Vipps refund %s: refunded %s of %s øre; left pending.",
                refund.pk,
                answer.refunded_minor,
                expected,
            )
        refund.refresh_from_db()
        return refund
