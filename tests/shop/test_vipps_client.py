"""Tests of shop.vipps_client against a local fake Vipps, checked against the spec.

Every request the client sends to the fake and every answer the fake gives (and the
client parses) is validated against the official ePayment v1 OpenAPI description
(``data/vipps/epayment.v1.yml``) when the ``vipps`` fixture tears down: the path and
method exist, required headers and the bearer token are present, the request body
matches the operation's ``requestBody`` schema and the response body the schema of
its status. The Access Token API is not in that file; its exchanges are checked
against the Access token API guide (headers, response fields).
"""

from __future__ import annotations

import copy
import json
import re
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT4

from shop.vipps_client import (
    VippsAuthError,
    VippsClient,
    VippsConfig,
    VippsConnectionError,
    VippsError,
    VippsEvent,
    VippsPayment,
    VippsWebhookEvent,
    from_minor,
    parse_webhook_event,
    sign_webhook,
    to_minor,
    verify_webhook,
)
from tests.shop.vipps_fake import Exchange, FakeVipps

DATA = Path(__file__).parent / "data" / "vipps"
SPEC_URI = "urn:vipps:epayment.v1"
REFERENCE = "guildhall-order-0001"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


# -- the OpenAPI contract ------------------------------------------------------------


def _apply_errata(spec: dict[str, Any]) -> None:
    """Patch two evident mistakes of epayment.v1.yml 1.4.1 (asserted, so a fixed
    spec makes this fail and the patch can go)."""
    schemas = spec["components"]["schemas"]
    # PaymentEvent requires "paymentAction" but defines (and Vipps sends) "name".
    event = schemas["PaymentEvent"]
    assert (
        "paymentAction" in event["required"]
        and "paymentAction" not in event["properties"]
    )
    event["required"] = [
        "name" if r == "paymentAction" else r for r in event["required"]
    ]
    # Customer is a oneOf of three objects none of which requires its only field, so
    # every customer matches all three and fails oneOf.
    for name, prop in [
        ("CustomerPhoneNumber", "phoneNumber"),
        ("PersonalQrCode", "personalQr"),
        ("CustomerToken", "customerToken"),
    ]:
        assert "required" not in schemas[name]
        schemas[name]["required"] = [prop]


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema draft 4: ``nullable`` becomes
    ``anyOf [..., null]`` and local ``$ref`` s point into the registered document."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#/"):
        out["$ref"] = SPEC_URI + out["$ref"]
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return "T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme)


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


def _no_network(uri: str) -> Resource:
    # e.g. CreatePaymentRequest.receipt refers to a schema on GitHub: never fetched.
    raise NoSuchResource(ref=uri)


TOKEN_RESPONSE = {
    "type": "object",
    "required": ["token_type", "expires_in", "access_token"],
    "properties": {
        "token_type": {"enum": ["Bearer"]},
        "access_token": {"type": "string", "minLength": 1},
        **{
            name: {"type": ["string", "integer"], "pattern": "^[0-9]+$"}
            for name in ("expires_in", "ext_expires_in", "expires_on", "not_before")
        },
    },
}


class Contract:
    """Checks recorded exchanges against epayment.v1.yml."""

    def __init__(self, path: Path) -> None:
        spec = yaml.safe_load(path.read_text())
        _apply_errata(spec)
        self.doc = _to_json_schema(spec)
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self.registry = Registry(retrieve=_no_network).with_resource(SPEC_URI, resource)

    def deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            pointer = node["$ref"].removeprefix(SPEC_URI + "#/")
            node = self.doc
            for part in pointer.split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def errors(self, schema: dict[str, Any], instance: Any) -> list[str]:
        validator = Draft4Validator(
            schema, registry=self.registry, format_checker=FORMATS
        )
        return [
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(instance)
        ]

    def schema(self, name: str) -> dict[str, Any]:
        return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}

    def operation(self, method: str, path: str) -> tuple[dict, dict, dict[str, str]]:
        for template, item in self.doc["paths"].items():
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            m = re.fullmatch(pattern, path)
            if m and method.lower() in item:
                return item, item[method.lower()], m.groupdict()
        raise LookupError(f"{method} {path} is not in the spec")

    def check(self, ex: Exchange, undeclared_ok: set[int] = frozenset()) -> list[str]:
        """Problems with one exchange (empty: it conforms)."""
        path = urlsplit(ex.path).path
        if path == "/accesstoken/get":
            return self._check_token(ex)
        try:
            item, op, path_params = self.operation(ex.method, path)
        except LookupError as exc:
            return [str(exc)]
        where = f"{ex.method} {path}"
        problems = [
            f"{where} request{p}"
            for p in self._check_request(ex, item, op, path_params)
        ]
        problems += [
            f"{where} -> {ex.status}{p}"
            for p in self._check_response(ex, op, undeclared_ok)
        ]
        return problems

    def _check_request(
        self, ex: Exchange, item: dict, op: dict, path_params: dict
    ) -> list[str]:
        problems = []
        params = {}
        for p in [*item.get("parameters", []), *op.get("parameters", [])]:
            p = self.deref(p)
            params[(p["name"].lower(), p["in"])] = p
        for (name, where), p in params.items():
            value = path_params.get(p["name"]) if where == "path" else ex.header(name)
            if value is None:
                if p.get("required"):
                    problems.append(f" lacks required {where} parameter {p['name']}")
                continue
            problems += [f" {p['name']}{e}" for e in self.errors(p["schema"], value)]
        for requirement in op.get("security", self.doc["security"]):
            if "Bearer-Authorization" in requirement:
                auth = ex.header("Authorization") or ""
                if not re.fullmatch(r"Bearer \S+", auth):
                    problems.append(" lacks Authorization: Bearer <token>")
        body = self.deref(op["requestBody"]) if "requestBody" in op else None
        if body is None:
            if ex.body:
                problems.append(" has a body but the operation takes none")
            return problems
        if not ex.body:
            if body.get("required"):
                problems.append(" lacks its required body")
            return problems
        ctype = (ex.header("Content-Type") or "").split(";")[0].strip()
        if ctype not in body["content"]:
            return [
                *problems,
                f" Content-Type {ctype!r} not in {list(body['content'])}",
            ]
        return problems + self.errors(body["content"][ctype]["schema"], ex.json())

    def _check_response(
        self, ex: Exchange, op: dict, undeclared_ok: set[int]
    ) -> list[str]:
        if ex.status is None:
            return []  # the fake dropped the connection on purpose
        declared = op["responses"].get(str(ex.status)) or op["responses"].get("default")
        if declared is None:
            if ex.status not in undeclared_ok:
                return [" is not declared for this operation"]
            # Undeclared errors must still be well-formed problem details.
            return self.errors(self.schema("Problem"), ex.response_json())
        content = self.deref(declared).get("content") or {}
        if not content:
            return []
        ctype = ex.response_headers.get("Content-Type", "").split(";")[0].strip()
        if ctype not in content:
            return [f" Content-Type {ctype!r} not in {list(content)}"]
        return self.errors(content[ctype]["schema"], ex.response_json())

    def _check_token(self, ex: Exchange) -> list[str]:
        problems = [
            f"token request lacks header {h}"
            for h in ("client_id", "client_secret", "Ocp-Apim-Subscription-Key")
            if not ex.header(h)
        ]
        if ex.method != "POST" or ex.body:
            problems.append("token request is a POST without a body")
        if ex.status == 200:
            problems += self.errors(TOKEN_RESPONSE, ex.response_json())
        return problems


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract(DATA / "epayment.v1.yml")


# -- the harness -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    fake: FakeVipps
    client: VippsClient
    clock: Clock
    undeclared_ok: set[int] = field(default_factory=set)
    sleeps: list[float] = field(default_factory=list)

    def api(self) -> list[Exchange]:
        """The recorded ePayment (non-token) exchanges."""
        return [e for e in self.fake.exchanges if e.path != "/accesstoken/get"]

    def tokens(self) -> list[Exchange]:
        return [e for e in self.fake.exchanges if e.path == "/accesstoken/get"]


def make_config(fake: FakeVipps, **overrides: Any) -> VippsConfig:
    values = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "subscription_key": fake.subscription_key,
        "merchant_serial_number": fake.msn,
        "base_url": fake.base_url,
        "timeout": 5.0,
        **overrides,
    }
    return VippsConfig(**values)


@pytest.fixture
def vipps(contract: Contract):
    with FakeVipps() as fake:
        clock = Clock()
        h = Harness(fake=fake, client=None, clock=clock)  # type: ignore[arg-type]
        h.client = VippsClient(
            make_config(fake),
            session=requests.Session(),
            clock=clock,
            sleep=h.sleeps.append,
        )
        yield h
    problems = [p for ex in fake.exchanges for p in contract.check(ex, h.undeclared_ok)]
    assert not problems, "\n".join(problems)


def create(h: Harness, reference: str = REFERENCE, amount: int = 45000, **kw: Any):
    return h.client.create_payment(
        reference=reference,
        amount_minor=amount,
        currency="NOK",
        return_url="https://guildhall.example.org/shop/vipps/return/?order=1",
        payment_description="Membership fee 2025",
        **kw,
    )


# -- money -----------------------------------------------------------------------------


def test_money_conversion_at_the_boundary():
    assert to_minor(Decimal("450.00")) == 45000
    assert to_minor(Decimal("0.005")) == 1  # ROUND_HALF_UP
    assert from_minor(12345) == Decimal("123.45")
    with pytest.raises(TypeError):
        to_minor(450.0)
    with pytest.raises(TypeError):
        from_minor(123.45)


def test_amounts_must_be_whole_minor_units_and_references_valid(vipps):
    with pytest.raises(TypeError):
        create(vipps, amount=450.0)
    with pytest.raises(TypeError):
        create(vipps, amount=Decimal("450"))
    with pytest.raises(ValueError):
        create(vipps, amount=-1)
    with pytest.raises(ValueError):
        create(vipps, reference="short")
    with pytest.raises(ValueError):
        create(vipps, reference="has space in it")
    assert vipps.fake.exchanges == []  # refused before anything was sent


def test_config_repr_hides_secrets():
    config = VippsConfig(
        client_id="id",
        client_secret="s3cret",
        subscription_key="k3y",
        merchant_serial_number="123456",
    )
    assert "s3cret" not in repr(config) and "k3y" not in repr(config)
    assert config.base_url == "https://apitest.vipps.no"


# -- the payment life cycle ------------------------------------------------------------


def test_create_authorize_capture_refund(vipps):
    created = create(vipps)
    assert created.reference == REFERENCE
    assert created.redirect_url.startswith("https://landing.vipps.no?token=")
    assert created.raw == {"redirectUrl": created.redirect_url, "reference": REFERENCE}

    payment = vipps.client.get_payment(reference=REFERENCE)
    assert (payment.state, payment.amount_minor, payment.authorized_minor) == (
        "CREATED",
        45000,
        0,
    )

    vipps.fake.approve(REFERENCE)
    payment = vipps.client.get_payment(reference=REFERENCE)
    assert payment.state == "AUTHORIZED"
    assert payment.authorized_minor == 45000 and payment.psp_reference
    assert from_minor(payment.authorized_minor) == Decimal("450.00")

    captured = vipps.client.capture(
        reference=REFERENCE, amount_minor=30000, idempotency_key="cap-1"
    )
    assert (captured.captured_minor, captured.refunded_minor) == (30000, 0)
    refunded = vipps.client.refund(
        reference=REFERENCE, amount_minor=10000, idempotency_key="ref-1"
    )
    assert (refunded.state, refunded.captured_minor, refunded.refunded_minor) == (
        "AUTHORIZED",
        30000,
        10000,
    )
    assert refunded.raw["aggregate"]["refundedAmount"] == {
        "currency": "NOK",
        "value": 10000,
    }

    events = vipps.client.get_payment_events(reference=REFERENCE)
    assert [(e.name, e.amount_minor) for e in events] == [
        ("CREATED", 45000),
        ("AUTHORIZED", 45000),
        ("CAPTURED", 30000),
        ("REFUNDED", 10000),
    ]
    assert [e.idempotency_key for e in events] == [REFERENCE, None, "cap-1", "ref-1"]
    assert all(e.success and e.timestamp.tzinfo for e in events)


def test_every_call_sends_the_required_headers(vipps):
    create(vipps, phone_number="4791234567")
    vipps.fake.approve(REFERENCE)
    vipps.client.get_payment(reference=REFERENCE)
    vipps.client.get_payment_events(reference=REFERENCE)
    vipps.client.capture(
        reference=REFERENCE, amount_minor=45000, idempotency_key="cap-1"
    )
    vipps.client.refund(
        reference=REFERENCE, amount_minor=45000, idempotency_key="ref-1"
    )
    [token] = vipps.tokens()
    access_token = token.response_json()["access_token"]
    assert token.header("client_id") == vipps.fake.client_id
    assert token.header("client_secret") == vipps.fake.client_secret
    for ex in vipps.fake.exchanges:
        assert ex.header("Ocp-Apim-Subscription-Key") == vipps.fake.subscription_key
        assert ex.header("Merchant-Serial-Number") == "123456"
        assert ex.header("Vipps-System-Name") == "guildhall"
        assert ex.header("Vipps-System-Plugin-Name") == "guildhall-shop"
        assert ex.header("Vipps-System-Version") and ex.header(
            "Vipps-System-Plugin-Version"
        )
    for ex in vipps.api():
        assert ex.header("Authorization") == f"Bearer {access_token}"
    assert vipps.api()[0].json()["customer"] == {"phoneNumber": "4791234567"}
    assert vipps.api()[0].json()["userFlow"] == "WEB_REDIRECT"


def test_idempotency_key_on_every_modifying_call_and_none_on_reads(vipps):
    create(vipps)
    create(vipps, reference="guildhall-order-0002", idempotency_key="create-2")
    vipps.fake.approve(REFERENCE)
    vipps.client.capture(reference=REFERENCE, amount_minor=100, idempotency_key="cap-1")
    vipps.client.refund(reference=REFERENCE, amount_minor=100, idempotency_key="ref-1")
    vipps.client.cancel(reference=REFERENCE, idempotency_key="can-1")
    vipps.client.get_payment(reference=REFERENCE)
    keys = [
        (ex.method, ex.path.rsplit("/", 1)[-1], ex.header("Idempotency-Key"))
        for ex in vipps.api()
    ]
    assert keys == [
        ("POST", "payments", REFERENCE),  # the documented default: the reference
        ("POST", "payments", "create-2"),
        ("POST", "capture", "cap-1"),
        ("POST", "refund", "ref-1"),
        ("POST", "cancel", "can-1"),
        ("GET", REFERENCE, None),
    ]
    with pytest.raises(TypeError):
        vipps.client.capture(reference=REFERENCE, amount_minor=100)  # key is required


def test_retrying_create_with_the_same_key_is_the_same_payment(vipps):
    first = create(vipps, idempotency_key="order-1-attempt")
    again = create(vipps, idempotency_key="order-1-attempt")
    assert again.redirect_url == first.redirect_url
    assert list(vipps.fake.payments) == [REFERENCE]
    assert [e["name"] for e in vipps.fake.payments[REFERENCE].events] == ["CREATED"]
    with pytest.raises(VippsError) as err:
        create(vipps, idempotency_key="another-key")  # same reference, new operation
    assert err.value.status == 409


def test_keyed_calls_are_retried_on_5xx_with_the_same_key(vipps):
    vipps.undeclared_ok.add(500)
    vipps.client.access_token()
    vipps.fake.fail_next(2)
    created = create(vipps, idempotency_key="order-1")
    assert created.reference == REFERENCE
    posts = vipps.api()
    assert [e.status for e in posts] == [500, 500, 201]
    assert {e.header("Idempotency-Key") for e in posts} == {"order-1"}
    assert vipps.sleeps == [0.5, 1.0]


def test_retries_are_bounded(vipps):
    vipps.undeclared_ok.add(500)
    vipps.client.access_token()
    vipps.fake.fail_next(3)
    with pytest.raises(VippsError) as err:
        create(vipps)
    assert err.value.status == 500 and err.value.detail == "Injected fault"
    assert len(vipps.api()) == 3  # one try and two retries
    assert vipps.fake.payments == {}


def test_keyed_calls_are_retried_on_a_dropped_connection(vipps):
    vipps.client.access_token()
    vipps.fake.drop_next(1)
    assert create(vipps).reference == REFERENCE
    assert [e.status for e in vipps.api()] == [None, 201]
    assert vipps.sleeps == [0.5]  # the client's own retry, not urllib3's


def test_reads_are_not_retried(vipps):
    vipps.undeclared_ok.add(500)
    create(vipps)
    vipps.fake.fail_next(1)
    with pytest.raises(VippsError) as err:
        vipps.client.get_payment(reference=REFERENCE)
    assert err.value.status == 500
    assert [e.method for e in vipps.api()] == ["POST", "GET"]
    assert vipps.sleeps == []


def test_no_server_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = VippsConfig(
        client_id="id",
        client_secret="secret",
        subscription_key="key",
        merchant_serial_number="123456",
        base_url=f"http://127.0.0.1:{port}",
        timeout=2.0,
    )
    with pytest.raises(VippsConnectionError) as err:
        VippsClient(config).get_payment(reference=REFERENCE)
    assert isinstance(err.value, VippsError) and err.value.status is None


# -- tokens and errors --------------------------------------------------------------------


def test_token_is_cached_and_renewed_before_expiry(vipps):
    create(vipps)
    vipps.client.get_payment(reference=REFERENCE)
    vipps.client.get_payment_events(reference=REFERENCE)
    assert len(vipps.tokens()) == 1
    vipps.clock.now += 3600 - 61  # the fake's tokens live 3600 s; renewed 60 s early
    vipps.client.get_payment(reference=REFERENCE)
    assert len(vipps.tokens()) == 1
    vipps.clock.now += 2
    vipps.client.get_payment(reference=REFERENCE)
    assert len(vipps.tokens()) == 2
    first, second = (t.response_json()["access_token"] for t in vipps.tokens())
    assert (
        vipps.api()[-1].header("Authorization")
        == f"Bearer {second}"
        != f"Bearer {first}"
    )


def test_401_is_an_auth_error_and_drops_the_cached_token(vipps):
    vipps.undeclared_ok.add(401)
    create(vipps)
    vipps.fake.revoke_tokens()
    with pytest.raises(VippsAuthError) as err:
        vipps.client.get_payment(reference=REFERENCE)
    assert err.value.status == 401 and err.value.title == "Unauthorized"
    assert vipps.client.get_payment(reference=REFERENCE).state == "CREATED"
    assert len(vipps.tokens()) == 2


def test_refused_credentials_are_an_auth_error(vipps):
    client = VippsClient(make_config(vipps.fake, client_secret="wrong"))
    with pytest.raises(VippsAuthError) as err:
        client.get_payment(reference=REFERENCE)
    assert (
        err.value.status == 401 and err.value.problem["error"] == "unauthorized_client"
    )
    assert vipps.api() == []


def test_400_problem_details_become_a_vipps_error(vipps):
    with pytest.raises(VippsError) as err:
        vipps.client.create_payment(
            reference=REFERENCE,
            amount_minor=45000,
            currency="NOK",
            return_url="http://not-https.example.org/",
            payment_description="Membership fee",
        )
    e = err.value
    assert type(e) is VippsError and e.status == 400
    assert e.title == "Bad Request"
    assert e.detail == "The request body contains one or more validation errors."
    assert e.extra_details == [{"name": "returnUrl", "reason": "Must use https://"}]
    assert e.trace_id and e.type.startswith("https://")
    assert "validation errors" in str(e)


def test_capture_beyond_the_authorized_amount_is_refused(vipps):
    create(vipps)
    with pytest.raises(VippsError, match="CREATED"):
        vipps.client.capture(
            reference=REFERENCE, amount_minor=100, idempotency_key="cap-0"
        )
    vipps.fake.approve(REFERENCE)
    with pytest.raises(VippsError) as err:
        vipps.client.capture(
            reference=REFERENCE, amount_minor=45001, idempotency_key="cap-1"
        )
    assert err.value.status == 400 and "exceeds" in err.value.detail


def test_unknown_payment_is_a_404(vipps):
    vipps.undeclared_ok.add(404)  # the spec declares only 200 for getPayment
    with pytest.raises(VippsError) as err:
        vipps.client.get_payment(reference="guildhall-order-9999")
    assert err.value.status == 404


def test_cancel_terminates_an_uncaptured_payment(vipps):
    create(vipps)
    vipps.fake.approve(REFERENCE)
    payment = vipps.client.cancel(reference=REFERENCE, idempotency_key="can-1")
    assert (payment.state, payment.cancelled_minor, payment.captured_minor) == (
        "TERMINATED",
        45000,
        0,
    )
    assert (
        vipps.client.cancel(reference=REFERENCE, idempotency_key="can-1") == payment
    )  # replay
    with pytest.raises(VippsError) as err:
        vipps.client.capture(
            reference=REFERENCE, amount_minor=100, idempotency_key="cap-1"
        )
    assert err.value.status == 400


def test_malformed_responses_are_vipps_errors():
    with pytest.raises(VippsError, match="Unexpected"):
        VippsPayment.from_json({"reference": REFERENCE, "state": "CREATED"})
    with pytest.raises(VippsError):
        parse_webhook_event(b"not json")
    with pytest.raises(VippsError):
        parse_webhook_event(b'{"msn": "123456"}')


# -- recorded payloads --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("create_payment_response.json", "CreatePaymentResponse"),
        ("get_payment_created.json", "GetPaymentResponse"),
        ("get_payment_authorized.json", "GetPaymentResponse"),
        ("capture_response.json", "ModificationResponse"),
        ("webhook_event_authorized.json", "WebhookEvent"),
    ],
)
def test_recorded_payloads_match_the_spec(contract, name, schema):
    assert contract.errors(contract.schema(schema), load(name)) == []


def test_recorded_payloads_parse():
    payment = VippsPayment.from_json(load("get_payment_authorized.json"))
    assert (payment.state, payment.currency, payment.amount_minor) == (
        "AUTHORIZED",
        "NOK",
        49900,
    )
    assert (
        payment.captured_minor,
        payment.refunded_minor,
        payment.cancelled_minor,
    ) == (20000, 5000, 0)
    assert payment.psp_reference == "7686f7788898767977"
    assert payment.raw["paymentMethod"]["cardBin"] == "540185"
    assert VippsPayment.from_json(load("capture_response.json")).redirect_url is None
    events = [VippsEvent.from_json(e) for e in load("payment_events.json")]
    assert [e.name for e in events] == ["CREATED", "AUTHORIZED"]
    assert events[0].timestamp == datetime(2022, 12, 31, tzinfo=UTC)
    assert events[1].idempotency_key is None


def test_recorded_event_log_matches_the_spec(contract):
    schema = contract.deref(
        contract.doc["paths"]["/epayment/v1/payments/{reference}/events"]["get"][
            "responses"
        ]["200"]
    )["content"]["application/json"]["schema"]
    assert contract.errors(schema, load("payment_events.json")) == []


# -- webhooks -------------------------------------------------------------------------------


def test_the_documented_signature_example_verifies():
    vector = load("webhook_docs_vector.json")
    kwargs = {
        "method": "POST",
        "path_and_query": vector["path_and_query"],
        "host": vector["host"],
        "headers": vector["headers"],
        "raw_body": vector["body"].encode(),
    }
    assert verify_webhook(secret=vector["secret"], **kwargs)
    signed = sign_webhook(
        secret=vector["secret"],
        path_and_query=vector["path_and_query"],
        host=vector["host"],
        raw_body=vector["body"].encode(),
        date=vector["headers"]["x-ms-date"],
    )
    assert signed == {
        "X-Ms-Date": vector["headers"]["x-ms-date"],
        "X-Ms-Content-Sha256": vector["headers"]["x-ms-content-sha256"],
        "Authorization": vector["headers"]["authorization"],
    }


def _recorded_webhook() -> tuple[dict[str, Any], bytes]:
    signed = load("webhook_event_authorized.signed.json")
    return signed, (DATA / signed["body_file"]).read_bytes()


def _verify(signed: dict[str, Any], body: bytes, **changes: Any) -> bool:
    kwargs = {
        "secret": signed["secret"],
        "method": signed["method"],
        "path_and_query": signed["path_and_query"],
        "host": signed["host"],
        "headers": signed["headers"],
        "raw_body": body,
        **changes,
    }
    return verify_webhook(**kwargs)


def test_a_recorded_signed_event_verifies_and_parses():
    signed, body = _recorded_webhook()
    assert _verify(signed, body)
    lowercase = {k.lower(): v for k, v in signed["headers"].items()}
    assert _verify(signed, body, headers=lowercase)
    event = parse_webhook_event(body)
    assert isinstance(event, VippsWebhookEvent)
    assert (event.msn, event.reference, event.psp_reference) == (
        "123456",
        "24ab7cd6ef658155992",
        "1234567891",
    )
    assert (event.name, event.amount_minor, event.currency, event.success) == (
        "AUTHORIZED",
        35000,
        "NOK",
        True,
    )
    assert event.idempotency_key == "49ca711a9487112e1def"
    assert event.timestamp == datetime(2023, 8, 14, 12, 48, 46, 260000, tzinfo=UTC)
    assert event.raw == json.loads(body)


def test_tampered_or_wrongly_signed_webhooks_are_refused():
    signed, body = _recorded_webhook()
    tampered = body.replace(b"35000", b"3500")
    assert not _verify(signed, tampered)
    # Even with a content hash that matches the tampered body, the HMAC does not.
    rehashed = copy.deepcopy(signed)
    rehashed["headers"]["X-Ms-Content-Sha256"] = sign_webhook(
        secret="x", path_and_query="/", host="h", raw_body=tampered
    )["X-Ms-Content-Sha256"]
    assert not _verify(rehashed, tampered)
    assert not _verify(signed, body, secret="not-the-secret")
    assert not _verify(signed, body, host="evil.example.org")
    assert not _verify(signed, body, path_and_query="/shop/vipps/webhook/")
    assert not _verify(signed, body, secret="")
    for header, value in [
        ("X-Ms-Date", "Mon, 14 Aug 2023 12:48:48 GMT"),
        (
            "Authorization",
            signed["headers"]["Authorization"].replace(
                "SignedHeaders=", "SignedHeaders=host;"
            ),
        ),
    ]:
        changed = copy.deepcopy(signed)
        changed["headers"][header] = value
        assert not _verify(changed, body), header
    for header in ("X-Ms-Date", "X-Ms-Content-Sha256", "Authorization"):
        missing = copy.deepcopy(signed)
        del missing["headers"][header]
        assert not _verify(missing, body), header


def test_webhooks_signed_by_the_fake_verify_and_match_the_spec(vipps, contract):
    create(vipps)
    vipps.fake.approve(REFERENCE)
    headers, body = vipps.fake.webhook(
        reference=REFERENCE,
        secret="hook-secret",
        url_path="/shop/vipps/webhook/",
        host="guildhall.example.org",
    )
    assert verify_webhook(
        secret="hook-secret",
        method="POST",
        path_and_query="/shop/vipps/webhook/",
        host=headers["Host"],
        headers=headers,
        raw_body=body,
    )
    assert contract.errors(contract.schema("WebhookEvent"), json.loads(body)) == []
    event = parse_webhook_event(body)
    assert (event.name, event.reference, event.amount_minor) == (
        "AUTHORIZED",
        REFERENCE,
        45000,
    )


# -- the contract checker itself ------------------------------------------------------------


def _exchange(**overrides: Any) -> Exchange:
    values: dict[str, Any] = {
        "method": "POST",
        "path": f"/epayment/v1/payments/{REFERENCE}/capture",
        "headers": {
            "Authorization": "Bearer abc",
            "Ocp-Apim-Subscription-Key": "key",
            "Merchant-Serial-Number": "123456",
            "Idempotency-Key": "cap-1",
            "Content-Type": "application/json",
        },
        "body": json.dumps(
            {"modificationAmount": {"currency": "NOK", "value": 100}}
        ).encode(),
        "status": 200,
        "response_headers": {"Content-Type": "application/problem+json"},
        "response_body": (DATA / "capture_response.json").read_bytes(),
    }
    values.update(overrides)
    return Exchange(**values)


def test_the_contract_checker_accepts_a_good_exchange_and_flags_bad_ones(contract):
    good = _exchange()
    assert contract.check(good) == []
    no_key = copy.deepcopy(good.headers)
    del no_key["Idempotency-Key"]
    bad_amount = json.dumps(
        {"modificationAmount": {"currency": "SEK", "value": "100"}}
    ).encode()
    cases = {
        "Idempotency-Key": _exchange(headers=no_key),
        "currency": _exchange(body=bad_amount),
        "Merchant-Serial-Number": _exchange(
            headers={**good.headers, "Merchant-Serial-Number": "12"}
        ),
        "not in the spec": _exchange(path="/epayment/v2/payments"),
        "not declared": _exchange(status=500),
        "'aggregate' is a required property": _exchange(
            response_body=b'{"reference": "x"}'
        ),
        "Bearer": _exchange(headers={**good.headers, "Authorization": "Basic abc"}),
        "takes none": _exchange(
            path=f"/epayment/v1/payments/{REFERENCE}", method="GET"
        ),
    }
    for expected, ex in cases.items():
        problems = contract.check(ex)
        assert any(expected in p for p in problems), (expected, problems)
    assert contract.check(_exchange(status=500, response_body=b'{"type": "x"}'), {500})
