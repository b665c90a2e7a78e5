"""A local fake of the parts of Stripe's HTTP API that the Checkout provider uses.

An ``http.server`` on 127.0.0.1 (random port) in a daemon thread, speaking Stripe's
form-encoded requests and JSON answers. Objects are built from the examples in
``tests/shop/data/stripe/`` (shaped as Stripe documents them). Tests move sessions
along as the payer and Stripe would (``pay``, ``expire``, ``fail_async``), build
events and sign them with Stripe's scheme. Idempotency keys replay the first answer,
as Stripe does. Nothing here talks to the real Stripe.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DATA = Path(__file__).parent / "data" / "stripe"
SECRET_KEY = "sk_test_51GuildhallFakeKey0000000000000000"
WEBHOOK_SECRET = "whsec_guildhallfaketestsecret0000000000"


def recorded(name: str) -> dict[str, Any]:
    """One of the recorded example objects, as a fresh dict."""
    return json.loads((DATA / f"{name}.json").read_text())


def sign(payload: bytes | str, secret: str = WEBHOOK_SECRET, timestamp=None) -> str:
    """A ``Stripe-Signature`` header: ``t=<ts>,v1=<hex HMAC-SHA256 of "t.payload">``."""
    if isinstance(payload, bytes):
        payload = payload.decode()
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket form encoding (``a[b][0][c]=v``) back into nested data."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: lists(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return lists(root)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}"


@dataclass
class Request:
    """A request the fake received (``params`` decoded from the form or query)."""

    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


class StripeApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, code: str = ""):
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code

    def body(self) -> dict[str, Any]:
        error = recorded("error_invalid_request")["error"]
        error.update(type=self.kind, message=str(self), code=self.code or None)
        return {"error": error}


class FakeStripe:
    """The fake; a context manager. ``base_url`` goes into ``STRIPE_API_BASE``."""

    def __init__(self, secret_key: str = SECRET_KEY):
        self.secret_key = secret_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[Request] = []
        #: Status new refunds get ("succeeded", or "pending" to finish by webhook).
        self.refund_status = "succeeded"
        #: While True every request gets a 500 ``api_error``, as in an outage.
        self.outage = False
        self._idempotent: dict[str, tuple[dict, int, dict]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # Running ------------------------------------------------------------------------

    def __enter__(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._handle(self)

            def do_POST(self):
                fake._handle(self)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        ).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        params = decode_form(parse_qsl(body or url.query, keep_blank_values=True))
        request = Request(handler.command, url.path, dict(handler.headers), params)
        with self._lock:
            self.requests.append(request)
            status, answer = self._answer(request)
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", _new_id("req"))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
            error = StripeApiError(401, "invalid_request_error", "Invalid API Key.")
            return 401, error.body()
        if self.outage:
            return 500, StripeApiError(500, "api_error", "Something went wrong.").body()
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key in self._idempotent:
            params, status, answer = self._idempotent[key]
            if params != request.params:
                error = StripeApiError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with.",
                )
                return 400, error.body()
            return status, answer
        try:
            status, answer = 200, self._route(request)
        except StripeApiError as error:
            status, answer = error.status, error.body()
        if request.method == "POST" and key:
            self._idempotent[key] = (request.params, status, answer)
        return status, answer

    def _route(self, request: Request) -> dict[str, Any]:
        method, path, params = request.method, request.path, request.params
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            return self._session_create(params)
        if match := re.fullmatch(r"/v1/checkout/sessions/([\w]+)", path):
            return self._session_view(self._session(match[1]), params)
        if match := re.fullmatch(r"/v1/checkout/sessions/([\w]+)/expire", path):
            session = self._session(match[1])
            if session["status"] != "open":
                raise StripeApiError(
                    400,
                    "invalid_request_error",
                    f'Only Checkout Sessions with a status in ["open"] can be '
                    f"expired. This Checkout Session has a status of "
                    f'"{session["status"]}".',
                )
            self.expire(session["id"])
            return self._session_view(session, {})
        if (method, path) == ("POST", "/v1/refunds"):
            return self._refund_create(params)
        if (method, path) == ("GET", "/v1/refunds"):
            found = [
                r
                for r in self.refunds.values()
                if r["payment_intent"] == params.get("payment_intent")
            ]
            return {"object": "list", "data": found, "has_more": False, "url": path}
        if match := re.fullmatch(r"/v1/refunds/([\w]+)", path):
            if match[1] not in self.refunds:
                raise StripeApiError(404, "invalid_request_error", "No such refund")
            return self.refunds[match[1]]
        raise StripeApiError(404, "invalid_request_error", f"Unrecognized {path}")

    # Stripe's objects -----------------------------------------------------------------

    def _session(self, session_id: str) -> dict[str, Any]:
        if session_id not in self.sessions:
            raise StripeApiError(
                404,
                "invalid_request_error",
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
            )
        return self.sessions[session_id]

    def _session_view(self, session: dict, params: dict) -> dict[str, Any]:
        view = copy.deepcopy(self._public(session))
        if "payment_intent" in params.get("expand", []) and view["payment_intent"]:
            view["payment_intent"] = copy.deepcopy(self.intents[view["payment_intent"]])
        return view

    def _session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        for required in ("mode", "line_items", "success_url"):
            if required not in params:
                raise StripeApiError(
                    400, "invalid_request_error", f"Missing required param: {required}."
                )
        (line,) = params["line_items"]
        price = line["price_data"]
        amount = int(price["unit_amount"]) * int(line["quantity"])
        session = recorded("checkout_session")
        session_id = _new_id("cs_test")
        session.update(
            id=session_id,
            created=int(time.time()),
            expires_at=int(time.time()) + 24 * 3600,
            amount_subtotal=amount,
            amount_total=amount,
            currency=price["currency"],
            client_reference_id=params.get("client_reference_id"),
            customer_email=params.get("customer_email"),
            metadata=params.get("metadata", {}),
            locale=params.get("locale"),
            success_url=params["success_url"],
            cancel_url=params.get("cancel_url"),
            url=f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1",
        )
        session["_intent_metadata"] = params.get("payment_intent_data", {}).get(
            "metadata", {}
        )
        self.sessions[session_id] = session
        return self._public(session)

    @staticmethod
    def _public(session: dict) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def _refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            raise StripeApiError(
                400, "invalid_request_error", "This PaymentIntent has no charge."
            )
        already = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["payment_intent"] == intent["id"] and r["status"] != "failed"
        )
        amount = int(params.get("amount", intent["amount"] - already))
        if amount > intent["amount"] - already:
            raise StripeApiError(
                400,
                "invalid_request_error",
                "Refund amount is greater than unrefunded amount on charge.",
                code="amount_too_large",
            )
        refund = recorded("refund")
        refund.update(
            id=_new_id("re"),
            amount=amount,
            currency=intent["currency"],
            charge=intent["latest_charge"],
            payment_intent=intent["id"],
            metadata=params.get("metadata", {}),
            status=self.refund_status,
            created=int(time.time()),
        )
        self.refunds[refund["id"]] = refund
        return refund

    # What the payer and Stripe do (called by tests) -----------------------------------

    def _intent_for(self, session: dict, status: str) -> dict[str, Any]:
        intent = self.intents.get(session["payment_intent"] or "")
        if intent is None:
            intent = recorded("payment_intent")
            intent.update(
                id=_new_id("pi"),
                latest_charge=_new_id("ch"),
                amount=session["amount_total"],
                currency=session["currency"],
                metadata=session["_intent_metadata"],
                created=int(time.time()),
            )
            self.intents[intent["id"]] = intent
            session["payment_intent"] = intent["id"]
        intent["status"] = status
        intent["amount_received"] = intent["amount"] if status == "succeeded" else 0
        return intent

    def pay(self, session_id: str) -> dict[str, Any]:
        """The payer paid by card: complete and paid."""
        session = self._session(session_id)
        self._intent_for(session, "succeeded")
        session.update(status="complete", payment_status="paid", url=None)
        return self._public(session)

    def complete_unpaid(self, session_id: str) -> dict[str, Any]:
        """The payer chose a delayed method: complete, money not there yet."""
        session = self._session(session_id)
        self._intent_for(session, "processing")
        session.update(status="complete", payment_status="unpaid", url=None)
        return self._public(session)

    def fail_async(self, session_id: str) -> dict[str, Any]:
        """The delayed payment failed after the session completed."""
        session = self._session(session_id)
        self._intent_for(session, "requires_payment_method")
        return self._public(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        session = self._session(session_id)
        session.update(status="expired", url=None)
        return self._public(session)

    def finish_refund(self, refund_id: str, status: str = "succeeded") -> dict:
        self.refunds[refund_id]["status"] = status
        return self.refunds[refund_id]

    # Events ---------------------------------------------------------------------------

    def event(self, kind: str, obj: dict[str, Any] | None = None, **object_changes):
        """An event of ``kind`` about ``obj`` (by default the last session), built on
        the recorded envelope; ``object_changes`` alter the body only."""
        if obj is None:
            obj = self._public(list(self.sessions.values())[-1])
        event = recorded("event_checkout_session_completed")
        event.update(id=_new_id("evt"), type=kind, created=int(time.time()))
        event["data"] = {"object": {**copy.deepcopy(obj), **object_changes}}
        return event

    def requests_to(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]
