"""A local fake of the Vipps MobilePay Access Token and ePayment v1 APIs.

An ``http.server`` on 127.0.0.1 (random port) in a daemon thread. It is stateful
enough for the client's tests: CREATED -> AUTHORIZED (``approve``, as the user would in
the app) -> captures -> refunds, or cancel; idempotency keys replay the first answer;
errors come back as RFC 7807 problem details. Every request and answer is recorded
in ``exchanges`` so that tests can check them against the OpenAPI description.
Nothing here talks to the real Vipps.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shop.vipps_client import sign_webhook

PROBLEM = "application/problem+json"
JSON = "application/json"
_DROP = object()  # answer: close the connection without a response
# The sample credentials of Vipps' Access token API guide.
CLIENT_ID = "fb492b5e-7907-4d83-ba20-c7fb60ca35de"
CLIENT_SECRET = "Y8Kteew6GE2ZmeycEt6egg=="
SUBSCRIPTION_KEY = "0f14ebcab0ec4b29ae0cb90d91b4a84a"


@dataclass
class Exchange:
    """One request the fake received and the answer it gave (``status`` None: dropped)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""

    def header(self, name: str) -> str | None:
        return next(
            (v for k, v in self.headers.items() if k.lower() == name.lower()), None
        )

    def json(self) -> Any:
        return json.loads(self.body)

    def response_json(self) -> Any:
        return json.loads(self.response_body)


@dataclass
class _Payment:
    reference: str
    currency: str
    amount: int
    psp_reference: str
    redirect_url: str
    state: str = "CREATED"
    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    cancelled: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeVipps:
    """The fake server; use as a context manager or call ``start``/``stop``."""

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        subscription_key: str = SUBSCRIPTION_KEY,
        msn: str = "123456",
        token_lifetime: int = 3600,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.subscription_key = subscription_key
        self.msn = msn
        self.token_lifetime = token_lifetime
        self.exchanges: list[Exchange] = []
        self.payments: dict[str, _Payment] = {}
        self.tokens: set[str] = set()
        self._idempotency: dict[tuple[str, str], tuple[bytes, int, str, bytes]] = {}
        self._faults: list[int | object] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> FakeVipps:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                ex = Exchange(self.command, self.path, dict(self.headers.items()), body)
                with fake._lock:
                    fake.exchanges.append(ex)
                    answer = fake._faults.pop(0) if fake._faults else None
                    if answer is None:
                        answer = fake._route(ex)
                    elif isinstance(answer, int):
                        answer = fake._problem(
                            answer, "Internal Server Error", "Injected fault"
                        )
                if answer is _DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                ex.status, content_type, ex.response_body = answer
                ex.response_headers = {
                    "Content-Type": content_type,
                    "Content-Length": str(len(ex.response_body)),
                }
                self.send_response(ex.status)
                for name, value in ex.response_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(ex.response_body)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeVipps:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test controls ------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status`` problem details."""
        with self._lock:
            self._faults.extend([status] * count)

    def drop_next(self, count: int = 1) -> None:
        """Close the connection without answering the next ``count`` requests."""
        with self._lock:
            self._faults.extend([_DROP] * count)

    def approve(self, reference: str) -> None:
        """The user approves the payment in the app: CREATED -> AUTHORIZED."""
        with self._lock:
            p = self.payments[reference]
            assert p.state == "CREATED", p.state
            p.state, p.authorized = "AUTHORIZED", p.amount
            self._event(p, "AUTHORIZED", p.amount, None)

    def abort(self, reference: str) -> None:
        """The user cancels in the app instead of approving: CREATED -> ABORTED."""
        self._finish(reference, "ABORTED")

    def expire(self, reference: str) -> None:
        """The user does nothing until the payment times out: CREATED -> EXPIRED."""
        self._finish(reference, "EXPIRED")

    def _finish(self, reference: str, state: str) -> None:
        with self._lock:
            p = self.payments[reference]
            assert p.state == "CREATED", p.state
            p.state = state
            self._event(p, state, p.amount, None)

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def webhook(
        self, *, reference: str, secret: str, url_path: str, host: str, index: int = -1
    ) -> tuple[dict[str, str], bytes]:
        """A signed ePayment webhook (headers, body) for one of the payment's events."""
        event = {"msn": self.msn, **self.payments[reference].events[index]}
        body = json.dumps(event).encode()
        headers = sign_webhook(
            secret=secret, path_and_query=url_path, host=host, raw_body=body
        )
        headers.update({"Host": host, "Content-Type": JSON})
        return headers, body

    # -- the API -----------------------------------------------------------------

    @staticmethod
    def _problem(status: int, title: str, detail: str, **extra: Any) -> tuple:
        body = {
            "type": f"https://developer.vippsmobilepay.com/docs/APIs/epayment-api/errors#{status}",
            "title": title,
            "detail": detail,
            "status": status,
            "traceId": secrets.token_hex(8),
            **extra,
        }
        return status, PROBLEM, json.dumps(body).encode()

    @staticmethod
    def _ok(status: int, body: Any, content_type: str = JSON) -> tuple:
        return status, content_type, json.dumps(body).encode()

    def _route(self, ex: Exchange) -> Any:
        path = ex.path.split("?", 1)[0]
        if ex.method == "POST" and path == "/accesstoken/get":
            return self._token(ex)
        if ex.header("Ocp-Apim-Subscription-Key") != self.subscription_key:
            return self._problem(401, "Unauthorized", "Invalid subscription key")
        auth = ex.header("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self._problem(401, "Unauthorized", "Invalid or expired access token")
        if ex.header("Merchant-Serial-Number") != self.msn:
            return self._problem(403, "Forbidden", "Unknown Merchant-Serial-Number")
        if ex.method == "POST" and path == "/epayment/v1/payments":
            return self._idempotent(ex, self._create)
        m = re.fullmatch(
            r"/epayment/v1/payments/([^/]+)(?:/(events|capture|refund|cancel))?", path
        )
        if not m:
            return self._problem(404, "Not Found", f"No route {ex.method} {path}")
        reference, action = m.groups()
        payment = self.payments.get(reference)
        if payment is None:
            return self._problem(404, "Not Found", f"Payment {reference} not found")
        if ex.method == "GET" and action is None:
            return self._ok(200, self._payment_json(payment, full=True))
        if ex.method == "GET" and action == "events":
            return self._ok(200, payment.events)
        if ex.method == "POST" and action in ("capture", "refund", "cancel"):
            return self._idempotent(ex, lambda e: self._adjust(e, payment, action))
        return self._problem(405, "Method Not Allowed", f"{ex.method} {path}")

    def _token(self, ex: Exchange) -> tuple:
        if (
            ex.header("client_id") != self.client_id
            or ex.header("client_secret") != self.client_secret
            or ex.header("Ocp-Apim-Subscription-Key") != self.subscription_key
        ):
            body = {
                "error": "unauthorized_client",
                "error_description": "Bad credentials",
            }
            return self._ok(401, body)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        now = int(datetime.now(UTC).timestamp())
        # Strings, as in the Access token API guide's sample response.
        return self._ok(
            200,
            {
                "token_type": "Bearer",
                "expires_in": str(self.token_lifetime),
                "ext_expires_in": "0",
                "expires_on": str(now + self.token_lifetime),
                "not_before": str(now),
                "resource": "00000002-0000-0000-c000-000000000000",
                "access_token": token,
            },
        )

    def _idempotent(self, ex: Exchange, act: Any) -> tuple:
        key = ex.header("Idempotency-Key")
        if not key:
            return self._problem(
                400, "Bad Request", "Idempotency-Key header is required"
            )
        scope = (ex.path, key)
        if scope in self._idempotency:
            body, status, ctype, answer = self._idempotency[scope]
            if body != ex.body:
                return self._problem(
                    409, "Conflict", "Idempotency-Key reused with another body"
                )
            return status, ctype, answer
        status, ctype, answer = act(ex)
        if status < 500:
            self._idempotency[scope] = (ex.body, status, ctype, answer)
        return status, ctype, answer

    def _create(self, ex: Exchange) -> tuple:
        req = ex.json()
        reference, amount = req["reference"], req["amount"]
        if reference in self.payments:
            return self._problem(
                409, "Conflict", f"Reference {reference} is already used"
            )
        return_url = req.get("returnUrl") or ""
        if req.get("userFlow") == "WEB_REDIRECT" and not return_url.startswith(
            "https://"
        ):
            return self._problem(
                400,
                "Bad Request",
                "The request body contains one or more validation errors.",
                extraDetails=[{"name": "returnUrl", "reason": "Must use https://"}],
            )
        if amount["value"] < 100:
            return self._problem(
                400, "Bad Request", "Amount must be at least 100 minor units"
            )
        token = secrets.token_urlsafe(16)
        p = _Payment(
            reference=reference,
            currency=amount["currency"],
            amount=amount["value"],
            psp_reference=str(secrets.randbelow(10**10)),
            redirect_url=f"https://landing.vipps.no?token={token}",
        )
        self.payments[reference] = p
        self._event(p, "CREATED", p.amount, ex.header("Idempotency-Key"))
        return self._ok(201, {"redirectUrl": p.redirect_url, "reference": reference})

    def _adjust(self, ex: Exchange, p: _Payment, action: str) -> tuple:
        key = ex.header("Idempotency-Key")
        value = ex.json()["modificationAmount"]["value"] if action != "cancel" else 0
        if action == "cancel":
            if p.state not in ("CREATED", "AUTHORIZED"):
                return self._problem(409, "Conflict", f"Payment is {p.state}")
            p.cancelled = p.authorized - p.captured
            if p.captured == 0:
                p.state = "TERMINATED"
            self._event(p, "CANCELLED", p.cancelled, key)
        elif p.state != "AUTHORIZED":
            return self._problem(
                400, "Bad Request", f"Cannot {action} a {p.state} payment"
            )
        elif action == "capture":
            if value > p.authorized - p.captured - p.cancelled:
                return self._problem(
                    400, "Bad Request", "Capture exceeds authorized amount"
                )
            p.captured += value
            self._event(p, "CAPTURED", value, key)
        else:
            if value > p.captured - p.refunded:
                return self._problem(
                    400, "Bad Request", "Refund exceeds captured amount"
                )
            p.refunded += value
            self._event(p, "REFUNDED", value, key)
        # The spec (AdjustResponse) declares this 200 body as application/problem+json.
        body = {
            **self._payment_json(p, full=False),
            "amount": self._amount(p, p.amount),
        }
        return self._ok(200, body, PROBLEM)

    # -- JSON shapes -----------------------------------------------------------------

    @staticmethod
    def _amount(p: _Payment, value: int) -> dict[str, Any]:
        return {"currency": p.currency, "value": value}

    def _payment_json(self, p: _Payment, *, full: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "aggregate": {
                "authorizedAmount": self._amount(p, p.authorized),
                "cancelledAmount": self._amount(p, p.cancelled),
                "capturedAmount": self._amount(p, p.captured),
                "refundedAmount": self._amount(p, p.refunded),
            },
            "amount": self._amount(p, p.amount),
            "state": p.state,
            "pspReference": p.psp_reference,
            "reference": p.reference,
        }
        if full:
            body.update(
                paymentMethod={"type": "WALLET"}, profile={}, redirectUrl=p.redirect_url
            )
        return body

    def _event(self, p: _Payment, name: str, value: int, key: str | None) -> None:
        p.events.append(
            {
                "reference": p.reference,
                "pspReference": p.psp_reference,
                "name": name,
                "amount": self._amount(p, value),
                "timestamp": _now(),
                "idempotencyKey": key,
                "success": True,
            }
        )
