"""Card payments through Stripe Checkout.

The payer is sent to a Checkout Session Stripe hosts; Stripe tells us the outcome by
webhook and by the payer's return. Neither is believed as it stands: the webhook's
signature is checked on the raw body, each event is recorded once, and the session is
always read back from Stripe before a payment is confirmed or failed. Amounts become
øre only here, at the gateway's boundary.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import stripe as stripe_sdk
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import billing
from ..models import Payment, Refund
from ..money import from_minor, to_minor
from .base import PaymentProvider, ProviderError, RedirectRequired, register

logger = logging.getLogger(__name__)

#: Events about a Checkout Session; the session is read back before acting.
SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
#: Events about refunds (a charge's, or one refund's); refunds are read back too.
REFUND_EVENTS = {
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
}
#: Why an attempt ended, in words the payer can act on (stored on the payment).
PAYER_MESSAGES = {
    "cancelled": gettext_lazy(
        "You cancelled the card payment. You can try again below."
    ),
    "expired": gettext_lazy(
        "The card payment was not completed in time. You can try again below."
    ),
    "declined": gettext_lazy(
        "The card payment was declined. You can try again, or choose another way "
        "to pay."
    ),
}
#: Languages Checkout speaks that we may ask for; anything else lets Stripe choose.
CHECKOUT_LOCALES = {"da", "de", "en", "es", "fi", "fr", "nb", "nl", "pl", "sv"}
LOCALE_ALIASES = {"no": "nb", "nn": "nb"}
#: Payment intent states after which an unpaid, completed session will not be paid.
INTENT_GIVEN_UP = {"requires_payment_method", "canceled"}
UNSETTLED = (Payment.State.CREATED, Payment.State.PENDING)


def _client() -> stripe_sdk.StripeClient:
    """A client for the configured account (``STRIPE_API_BASE`` only moves in tests)."""
    return stripe_sdk.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe_sdk.RequestsClient(timeout=20),
        max_network_retries=2,
    )


def _checkout_locale(language: str) -> str:
    code = (language or "").split("-")[0].lower()
    code = LOCALE_ALIASES.get(code, code)
    return code if code in CHECKOUT_LOCALES else "auto"


def _intent(session: dict[str, Any]) -> tuple[str, str]:
    """The session's payment intent as (id, status); empty strings if not there."""
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        return intent.get("id") or "", intent.get("status") or ""
    return intent or "", ""


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@register
class StripeProvider(PaymentProvider):
    """Stripe Checkout: card (and wallet) payments on a page Stripe hosts."""

    identifier = "stripe"
    verbose_name = gettext_lazy("Card (Stripe)")
    description = gettext_lazy("Pay by card on Stripe's secure payment page.")

    def is_enabled(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)

    # The payer --------------------------------------------------------------------

    def start_payment(self, *, payment: Payment, request: HttpRequest) -> None:
        """Create the Checkout Session (once per payment) and send the payer to it."""
        order = payment.order
        back = request.build_absolute_uri(
            reverse("shop:payment_return", kwargs={"payment_uuid": payment.uuid})
        )
        with translation.override(order.language):
            name = _("Order %(code)s") % {"code": order.code}
        reference = {"payment_uuid": str(payment.uuid), "order_code": order.code}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": payment.currency.lower(),
                        "unit_amount": to_minor(payment.amount),
                        "product_data": {"name": name},
                    },
                }
            ],
            "client_reference_id": str(payment.uuid),
            "metadata": reference,
            "payment_intent_data": {"metadata": reference},
            # The payer pays in the order's currency, so amounts read back match.
            "adaptive_pricing": {"enabled": False},
            "locale": _checkout_locale(order.language),
            "success_url": back,
            "cancel_url": back,
        }
        if order.customer_email:
            params["customer_email"] = order.customer_email
        try:
            session = _client().v1.checkout.sessions.create(
                params, options={"idempotency_key": f"checkout-{payment.uuid}"}
            )
        except stripe_sdk.StripeError as error:
            logger.warning("Stripe refused a session for %s: %r", payment.uuid, error)
            message = _(
                "Card payment is not available right now. Please try again in a "
                "moment, or choose another way to pay."
            )
            billing.payment_fail(payment=payment, message=message)
            raise ProviderError(message) from error
        data = session.to_dict(for_json=True)
        billing.payment_pending(payment=payment, gateway_id=data["id"], raw=data)
        raise RedirectRequired(data["url"])

    def handle_return(self, *, payment: Payment, request: HttpRequest) -> Payment:
        """Back from Checkout: apply the session's state. A session still open means
        the payer turned back, so it is expired and the attempt cancelled."""
        try:
            return self._sync(payment, cancel_open=True)
        except stripe_sdk.StripeError as error:
            logger.warning(
                "Stripe unreachable on return of %s: %r", payment.uuid, error
            )
            raise ProviderError(
                _(
                    "We could not reach the card service yet. This page shows the "
                    "payment once it is done."
                )
            ) from error

    def poll(self, *, payment: Payment) -> Payment:
        """Read the session back from Stripe when no webhook came."""
        try:
            return self._sync(payment)
        except stripe_sdk.StripeError as error:
            raise ProviderError() from error

    # Stripe -----------------------------------------------------------------------

    def handle_webhook(self, request: HttpRequest) -> HttpResponse:
        """Verify, record once, then act on what Stripe says when asked again."""
        try:
            _client().construct_event(
                request.body,
                request.headers.get("Stripe-Signature"),
                settings.STRIPE_WEBHOOK_SECRET,
            )
            payload = json.loads(request.body)
            event_id, kind = payload["id"], payload["type"]
            obj = payload["data"]["object"]
        except (stripe_sdk.SignatureVerificationError, ValueError, KeyError, TypeError):
            logger.warning("Rejected a Stripe webhook with a bad signature or body.")
            return HttpResponseBadRequest("Invalid signature or payload.")
        event, created = billing.event_record(
            provider=self.identifier, event_id=event_id, kind=kind, payload=payload
        )
        if not created and event.processed_at is not None:
            return HttpResponse("Already processed.")
        try:
            if kind in SESSION_EVENTS:
                result = self._session_event(obj)
            elif kind in REFUND_EVENTS:
                result = self._refund_event(obj)
            else:
                result = "Ignored."
        except stripe_sdk.StripeError as error:
            # Left unprocessed: Stripe delivers it again and it is applied then.
            logger.warning("Stripe unreachable for event %s: %r", event_id, error)
            return HttpResponse("Stripe unreachable; retry later.", status=503)
        billing.event_processed(event=event, result=result)
        return HttpResponse(result)

    def _session_event(self, obj: dict[str, Any]) -> str:
        candidates = [
            _as_uuid(obj.get("client_reference_id")),
            _as_uuid((obj.get("metadata") or {}).get("payment_uuid")),
        ]
        payments = Payment.objects.filter(provider=self.identifier)
        payment = payments.filter(
            Q(uuid__in=[c for c in candidates if c])
            | Q(gateway_id=obj.get("id") or "-")
        ).first()
        if payment is None:
            return "No payment for this session."
        payment = self._sync(payment, session_id=obj.get("id") or "")
        return f"Payment {payment.uuid} is {payment.state}."

    def _sync(
        self, payment: Payment, *, session_id: str = "", cancel_open: bool = False
    ) -> Payment:
        """Retrieve the session from Stripe and apply its state to ``payment``."""
        client = _client()
        expand = {"expand": ["payment_intent"]}
        session_id = session_id or payment.gateway_id
        if not session_id:
            return payment  # no session was ever made for this attempt
        session = client.v1.checkout.sessions.retrieve(session_id, expand).to_dict(
            for_json=True
        )
        if session.get("client_reference_id") != str(payment.uuid):
            logger.error("Session %s is not payment %s's.", session_id, payment.uuid)
            return payment
        cancelled = False
        if cancel_open and session["status"] == "open" and payment.state in UNSETTLED:
            try:
                client.v1.checkout.sessions.expire(session_id)
                cancelled = True
            except stripe_sdk.InvalidRequestError:
                pass  # completed meanwhile; what is read back below decides
            session = client.v1.checkout.sessions.retrieve(session_id, expand).to_dict(
                for_json=True
            )
        self._apply(payment, session, cancelled=cancelled)
        payment.refresh_from_db()
        return payment

    def _apply(self, payment: Payment, session: dict[str, Any], *, cancelled: bool):
        if session.get("payment_status") == "paid":
            if (session.get("currency") or "").upper() != payment.currency:
                logger.error(
                    "Session %s paid in %s.", session["id"], session["currency"]
                )
                return
            billing.payment_confirm(
                payment=payment,
                amount=from_minor(session["amount_total"]),
                gateway_id=session["id"],
                raw=session,
            )
            return
        if session["status"] == "expired":
            why = "cancelled" if cancelled else "expired"
        elif session["status"] == "complete" and _intent(session)[1] in INTENT_GIVEN_UP:
            why = "declined"
        else:
            return  # still open, or a delayed payment on its way
        if payment.state not in UNSETTLED:
            return  # failed or cancelled already: the first reason stays
        with translation.override(payment.order.language):
            message = str(PAYER_MESSAGES[why])
        billing.payment_fail(
            payment=payment, message=message, raw=session, cancelled=cancelled
        )

    # Refunds ----------------------------------------------------------------------

    def refund(self, *, refund: Refund) -> Refund:
        """Refund on the payment intent; a retry reuses the refund's idempotency key."""
        try:
            intent_id = self._intent_id(refund.payment)
            if not intent_id:
                raise ProviderError(_("Stripe has no card payment to refund here."))
            result = _client().v1.refunds.create(
                {
                    "payment_intent": intent_id,
                    "amount": to_minor(refund.amount),
                    "metadata": {"refund_key": str(refund.idempotency_key)},
                },
                options={"idempotency_key": str(refund.idempotency_key)},
            )
        except stripe_sdk.StripeError as error:
            status = error.http_status or 0
            if 400 <= status < 500 and status not in (409, 429):
                billing.refund_failed(refund=refund, raw={"error": str(error)})
                raise ProviderError(
                    _("Stripe refused the refund: %(reason)s")
                    % {"reason": error.user_message or error}
                ) from error
            # Unknown whether it went through: stays pending, safe to try again.
            raise ProviderError(
                _("Stripe did not answer. The refund is still pending; try again.")
            ) from error
        self._apply_refund(result.to_dict(for_json=True))
        refund.refresh_from_db()
        if refund.state == Refund.State.FAILED:
            raise ProviderError(_("Stripe could not carry out the refund."))
        return refund

    def _intent_id(self, payment: Payment) -> str:
        for entry in reversed(payment.raw.get("history", [])):
            if isinstance(entry, dict) and _intent(entry)[0]:
                return _intent(entry)[0]
        if not payment.gateway_id:
            return ""
        session = _client().v1.checkout.sessions.retrieve(payment.gateway_id)
        return _intent(session.to_dict(for_json=True))[0]

    def _refund_event(self, obj: dict[str, Any]) -> str:
        client = _client()
        if obj.get("object") == "charge":
            found = client.v1.refunds.list(
                {"payment_intent": obj.get("payment_intent"), "limit": 100}
            ).to_dict(for_json=True)["data"]
        else:
            found = [client.v1.refunds.retrieve(obj["id"]).to_dict(for_json=True)]
        return " ".join(self._apply_refund(data) for data in found) or "No refunds."

    def _apply_refund(self, data: dict[str, Any]) -> str:
        """Apply a refund object read from Stripe to our refund row."""
        key = _as_uuid((data.get("metadata") or {}).get("refund_key"))
        match = Q(gateway_id=data["id"]) | (Q(idempotency_key=key) if key else Q())
        refund = Refund.objects.filter(match, payment__provider=self.identifier).first()
        if refund is None:
            return f"{data['id']}: not ours."
        status = data.get("status")
        if status == "succeeded":
            billing.refund_done(refund=refund, gateway_id=data["id"], raw=data)
        elif status in ("failed", "canceled"):
            billing.refund_failed(refund=refund, raw=data)
        elif not refund.gateway_id:
            # Pending at Stripe: keep its id so the webhook finds the row.
            billing.refund_pending(refund=refund, gateway_id=data["id"], raw=data)
        return f"{data['id']}: {status}."
