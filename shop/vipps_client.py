"""A thin client for the Vipps MobilePay ePayment API v1, plus webhook signatures.

Plain Python on ``requests``: no Django models, no settings; the caller passes a
:class:`VippsConfig`. Amounts cross this boundary as integers of minor units (øre);
``to_minor`` / ``from_minor`` (re-exported from :mod:`shop.money`, the one rounding
helper) convert them from and to ``Decimal``.

Every modifying call (create, capture, refund, cancel) sends an ``Idempotency-Key``.
The caller passes a stable key so that a retry is the same operation; the only
default is documented on :meth:`VippsClient.create_payment` (the payment reference).
Those keyed calls, and only those, are retried at most twice on a connection error
or a 5xx answer; nothing else is retried.

``POST /accesstoken/get`` follows Vipps' Access token API guide (it is not in the
ePayment OpenAPI file); webhook signatures follow the Webhooks API's "Request
authentication" page.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from typing import Any

import requests

from shop.money import from_minor as from_minor  # re-exported: the one rounding helper
from shop.money import to_minor as to_minor

TEST_BASE_URL = "https://apitest.vipps.no"
PRODUCTION_BASE_URL = "https://api.vipps.no"
MAX_RETRIES = 2
TOKEN_REFRESH_MARGIN = 60.0  # seconds before expiry at which a token is renewed
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
_REFERENCE_RE = re.compile(r"[a-zA-Z0-9-]{8,50}")


@dataclass(frozen=True, kw_only=True)
class VippsConfig:
    """Credentials and identification of one Vipps sales unit (MSN)."""

    client_id: str
    client_secret: str = field(repr=False)
    subscription_key: str = field(repr=False)  # Ocp-Apim-Subscription-Key
    merchant_serial_number: str
    base_url: str = TEST_BASE_URL
    system_name: str = "guildhall"
    system_version: str = "0.1.0"
    plugin_name: str = "guildhall-shop"
    plugin_version: str = "0.1.0"
    timeout: float = 10.0  # seconds, per HTTP request
    retry_backoff: float = 0.5  # seconds before retry n is ``backoff * n``


class VippsError(Exception):
    """A Vipps call failed.

    ``status`` is the HTTP status (``None`` without an answer); ``type``, ``title``,
    ``detail``, ``extra_details`` and ``trace_id`` come from the RFC 7807 problem body
    when there is one, and ``problem`` keeps that body whole. ``type`` is what
    identifies the kind of error; titles and details may change.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        p: dict[str, Any] = dict(problem or {})
        self.problem = p
        self.type, self.title, self.detail = (
            p.get("type"),
            p.get("title"),
            p.get("detail"),
        )
        self.extra_details: list[dict[str, Any]] | None = p.get("extraDetails")
        self.trace_id: str | None = p.get("traceId") or p.get("instance")


class VippsAuthError(VippsError):
    """Credentials were refused: the token call failed, or an API call got 401/403."""


class VippsConnectionError(VippsError):
    """No HTTP answer at all (connection refused or reset, timeout)."""


def _check_reference(reference: str) -> str:
    if not isinstance(reference, str) or not _REFERENCE_RE.fullmatch(reference):
        raise ValueError(f"Vipps references are 8-50 of [a-zA-Z0-9-]: {reference!r}")
    return reference


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not 0 < len(key) <= 50:
        raise ValueError("An Idempotency-Key is a non-empty string of <= 50 chars.")
    return key


def _check_minor(amount_minor: int) -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("Amounts are whole minor units (int); see to_minor().")
    if amount_minor < 0:
        raise ValueError("Amounts are never negative.")
    return amount_minor


def _amount(amount_minor: int, currency: str) -> dict[str, Any]:
    return {"currency": currency, "value": _check_minor(amount_minor)}


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("z", "Z"))


def _lenient(parse: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a malformed response (missing field, wrong type) into a VippsError."""

    @functools.wraps(parse)
    def wrapper(*args: Any) -> Any:
        try:
            return parse(*args)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VippsError(
                f"Unexpected Vipps response ({exc!r}): {args[-1]!r}"
            ) from exc

    return wrapper


@dataclass(frozen=True, kw_only=True)
class VippsCreatedPayment:
    """Answer to ``create_payment``: where to send the user."""

    reference: str
    redirect_url: str | None
    raw: dict[str, Any]

    @classmethod
    @_lenient
    def from_json(cls, raw: dict[str, Any]) -> VippsCreatedPayment:
        """Build from a ``CreatePaymentResponse`` body."""
        return cls(
            reference=raw["reference"], redirect_url=raw.get("redirectUrl"), raw=raw
        )


@dataclass(frozen=True, kw_only=True)
class VippsPayment:
    """A payment's state and aggregate amounts (GetPayment or a modification answer)."""

    reference: str
    state: str  # CREATED, ABORTED, EXPIRED, AUTHORIZED or TERMINATED
    currency: str
    amount_minor: int
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    cancelled_minor: int
    psp_reference: str | None
    redirect_url: str | None
    raw: dict[str, Any]

    @classmethod
    @_lenient
    def from_json(cls, raw: dict[str, Any]) -> VippsPayment:
        """Build from a ``GetPaymentResponse`` or ``ModificationResponse`` body."""
        agg = {name: amount["value"] for name, amount in raw["aggregate"].items()}
        return cls(
            reference=raw["reference"],
            state=raw["state"],
            currency=raw["amount"]["currency"],
            amount_minor=raw["amount"]["value"],
            authorized_minor=agg["authorizedAmount"],
            captured_minor=agg["capturedAmount"],
            refunded_minor=agg["refundedAmount"],
            cancelled_minor=agg["cancelledAmount"],
            psp_reference=raw.get("pspReference"),
            redirect_url=raw.get("redirectUrl"),
            raw=raw,
        )


@dataclass(frozen=True, kw_only=True)
class VippsEvent:
    """One entry of a payment's event log (``PaymentEvent``)."""

    reference: str
    psp_reference: str
    name: str  # CREATED, AUTHORIZED, CAPTURED, REFUNDED, CANCELLED, ...
    amount_minor: int
    currency: str
    timestamp: datetime
    idempotency_key: str | None
    success: bool
    raw: dict[str, Any]

    @classmethod
    @_lenient
    def from_json(cls, raw: dict[str, Any]) -> VippsEvent:
        """Build from one ``PaymentEvent`` (or, in the subclass, ``WebhookEvent``)."""
        extra = {"msn": raw["msn"]} if issubclass(cls, VippsWebhookEvent) else {}
        return cls(
            reference=raw["reference"],
            psp_reference=raw["pspReference"],
            name=raw["name"],
            amount_minor=raw["amount"]["value"],
            currency=raw["amount"]["currency"],
            timestamp=_timestamp(raw["timestamp"]),
            idempotency_key=raw.get("idempotencyKey"),
            success=bool(raw["success"]),
            raw=raw,
            **extra,
        )


@dataclass(frozen=True, kw_only=True)
class VippsWebhookEvent(VippsEvent):
    """An ePayment webhook event (``WebhookEvent``): a payment event plus the MSN."""

    msn: str


class VippsClient:
    """ePayment API v1 calls for one sales unit. Thread-safe for the token cache.

    ``session`` may be injected (tests, connection pooling); ``clock`` returns epoch
    seconds and exists so tests can move time past a token's expiry.
    """

    def __init__(
        self,
        config: VippsConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_renew_at = 0.0

    # -- plumbing ------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def _system_headers(self) -> dict[str, str]:
        c = self.config
        return {
            "Ocp-Apim-Subscription-Key": c.subscription_key,
            "Merchant-Serial-Number": c.merchant_serial_number,
            "Vipps-System-Name": c.system_name,
            "Vipps-System-Version": c.system_version,
            "Vipps-System-Plugin-Name": c.plugin_name,
            "Vipps-System-Plugin-Version": c.plugin_version,
        }

    def access_token(self) -> str:
        """A bearer token from ``POST /accesstoken/get``, cached until shortly before
        it expires (``expires_in``, else ``expires_on``; both may be strings)."""
        with self._lock:
            now = self._clock()
            if self._token and now < self._token_renew_at:
                return self._token
            headers = {
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
                **self._system_headers(),
            }
            try:
                resp = self.session.post(
                    self._url("/accesstoken/get"),
                    headers=headers,
                    timeout=self.config.timeout,
                )
            except requests.RequestException as exc:
                raise VippsConnectionError(f"Vipps access token: {exc}") from exc
            data = self._body(resp)
            if resp.status_code != 200 or not isinstance(data, dict):
                raise VippsAuthError(
                    f"Vipps access token refused (HTTP {resp.status_code})",
                    status=resp.status_code,
                    problem=data if isinstance(data, dict) else None,
                )
            self._token, seconds = self._token_lifetime(now, data)
            self._token_renew_at = (
                now + seconds - min(TOKEN_REFRESH_MARGIN, seconds / 2)
            )
            return self._token

    @staticmethod
    @_lenient
    def _token_lifetime(now: float, data: dict[str, Any]) -> tuple[str, float]:
        if data.get("expires_in") not in (None, ""):
            return str(data["access_token"]), float(data["expires_in"])
        return str(data["access_token"]), float(data["expires_on"]) - now

    @staticmethod
    def _body(resp: requests.Response) -> Any:
        try:
            return resp.json() if resp.content else None
        except ValueError:
            return None

    def _decode(self, resp: requests.Response) -> Any:
        data = self._body(resp)
        status = resp.status_code
        if status < 400:
            if data is None:
                raise VippsError(f"Vipps answered {status} without JSON", status=status)
            return data
        problem = data if isinstance(data, dict) else {"detail": resp.text[:500]}
        if status in (401, 403):
            if status == 401:
                with self._lock:
                    self._token = None  # the next call fetches a fresh token
            cls: type[VippsError] = VippsAuthError
        else:
            cls = VippsError
        summary = ": ".join(
            str(p) for p in (problem.get("title"), problem.get("detail")) if p
        )
        raise cls(f"Vipps HTTP {status}: {summary}", status=status, problem=problem)

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One API call; keyed calls get up to MAX_RETRIES on no answer or 5xx."""
        attempts = 1 + (MAX_RETRIES if idempotency_key else 0)
        for attempt in range(1, attempts + 1):
            headers = {
                "Authorization": f"Bearer {self.access_token()}",
                **self._system_headers(),
            }
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
            try:
                resp = self.session.request(
                    method,
                    self._url(path),
                    headers=headers,
                    json=body,
                    timeout=self.config.timeout,
                )
            except requests.RequestException as exc:
                if attempt < attempts:
                    self._sleep(self.config.retry_backoff * attempt)
                    continue
                raise VippsConnectionError(f"Vipps {method} {path}: {exc}") from exc
            if resp.status_code >= 500 and attempt < attempts:
                self._sleep(self.config.retry_backoff * attempt)
                continue
            return self._decode(resp)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- ePayment API --------------------------------------------------------------

    def create_payment(
        self,
        *,
        reference: str,
        amount_minor: int,
        currency: str,
        return_url: str,
        payment_description: str,
        phone_number: str | None = None,
        idempotency_key: str | None = None,
    ) -> VippsCreatedPayment:
        """Create a WALLET payment with the WEB_REDIRECT user flow.

        ``idempotency_key`` defaults to ``reference``: a reference names one payment,
        so repeating the call with it is the same operation. ``phone_number`` is an
        MSISDN (``4791234567``), sent only when already known.
        """
        body: dict[str, Any] = {
            "amount": _amount(amount_minor, currency),
            "paymentMethod": {"type": "WALLET"},
            "reference": _check_reference(reference),
            "returnUrl": return_url,
            "userFlow": "WEB_REDIRECT",
            "paymentDescription": payment_description,
        }
        if phone_number:
            body["customer"] = {"phoneNumber": phone_number}
        key = _check_key(idempotency_key if idempotency_key is not None else reference)
        data = self._send(
            "POST", "/epayment/v1/payments", body=body, idempotency_key=key
        )
        return VippsCreatedPayment.from_json(data)

    def get_payment(self, *, reference: str) -> VippsPayment:
        """The payment's state and aggregate amounts (``GET /payments/{reference}``)."""
        path = f"/epayment/v1/payments/{_check_reference(reference)}"
        return VippsPayment.from_json(self._send("GET", path))

    def get_payment_events(self, *, reference: str) -> list[VippsEvent]:
        """The payment's event log, oldest first."""
        path = f"/epayment/v1/payments/{_check_reference(reference)}/events"
        data = self._send("GET", path)
        if not isinstance(data, list):
            raise VippsError(f"Unexpected Vipps events response: {data!r}")
        return [VippsEvent.from_json(item) for item in data]

    def _modify(
        self, action: str, reference: str, key: str, body: dict[str, Any] | None
    ) -> VippsPayment:
        path = f"/epayment/v1/payments/{_check_reference(reference)}/{action}"
        data = self._send("POST", path, body=body, idempotency_key=_check_key(key))
        return VippsPayment.from_json(data)

    def capture(
        self,
        *,
        reference: str,
        amount_minor: int,
        currency: str = "NOK",
        idempotency_key: str,
    ) -> VippsPayment:
        """Capture ``amount_minor`` of an authorized payment (partial captures allowed;
        each needs its own key)."""
        body = {"modificationAmount": _amount(amount_minor, currency)}
        return self._modify("capture", reference, idempotency_key, body)

    def refund(
        self,
        *,
        reference: str,
        amount_minor: int,
        currency: str = "NOK",
        idempotency_key: str,
    ) -> VippsPayment:
        """Refund ``amount_minor`` of what was captured."""
        body = {"modificationAmount": _amount(amount_minor, currency)}
        return self._modify("refund", reference, idempotency_key, body)

    def cancel(self, *, reference: str, idempotency_key: str) -> VippsPayment:
        """Cancel what has not been captured (no request body, per the spec)."""
        return self._modify("cancel", reference, idempotency_key, None)


# -- webhooks ------------------------------------------------------------------------


def _content_sha256(raw_body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(raw_body).digest()).decode("ascii")


def _authorization(
    secret: str,
    method: str,
    path_and_query: str,
    date: str,
    host: str,
    content_hash: str,
) -> str:
    signed = f"{method.upper()}\n{path_and_query}\n{date};{host};{content_hash}"
    mac = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(mac).decode("ascii")
    return f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}"


def sign_webhook(
    *,
    secret: str,
    path_and_query: str,
    host: str,
    raw_body: bytes,
    method: str = "POST",
    date: str | None = None,
) -> dict[str, str]:
    """The headers Vipps sends with a webhook: ``X-Ms-Date`` (RFC 1123, now unless
    given), ``X-Ms-Content-Sha256`` and ``Authorization``. For tests and fakes."""
    date = date or formatdate(usegmt=True)
    content_hash = _content_sha256(raw_body)
    return {
        "X-Ms-Date": date,
        "X-Ms-Content-Sha256": content_hash,
        "Authorization": _authorization(
            secret, method, path_and_query, date, host, content_hash
        ),
    }


def verify_webhook(
    *,
    secret: str,
    method: str,
    path_and_query: str,
    host: str,
    headers: Mapping[str, str],
    raw_body: bytes,
) -> bool:
    """Whether a webhook request is signed by Vipps with ``secret``.

    The body's base64 SHA-256 must equal ``X-Ms-Content-Sha256``, and
    ``Authorization`` must be ``HMAC-SHA256 SignedHeaders=x-ms-date;host;
    x-ms-content-sha256&Signature=`` + base64 HMAC-SHA256 (key: the secret's UTF-8
    bytes) of ``"<METHOD>\\n<path_and_query>\\n<x-ms-date>;<host>;<content hash>"``.
    ``host`` is the host the webhook URL was registered with; ``raw_body`` is the body
    exactly as received. Both comparisons are constant-time.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    date = lower.get("x-ms-date")
    sent_hash = lower.get("x-ms-content-sha256")
    sent_auth = lower.get("authorization")
    if not (date and sent_hash and sent_auth and secret):
        return False
    content_hash = _content_sha256(raw_body)
    if not hmac.compare_digest(sent_hash.encode(), content_hash.encode()):
        return False
    expected = _authorization(secret, method, path_and_query, date, host, content_hash)
    return hmac.compare_digest(sent_auth.encode(), expected.encode())


def parse_webhook_event(raw_body: bytes | str) -> VippsWebhookEvent:
    """Parse a (verified) webhook body into a :class:`VippsWebhookEvent`.

    Raises :class:`VippsError` if it is not JSON or lacks a required field.
    """
    try:
        raw = json.loads(raw_body)
    except ValueError as exc:
        raise VippsError(f"Webhook body is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise VippsError("Webhook body is not a JSON object.")
    return VippsWebhookEvent.from_json(raw)
