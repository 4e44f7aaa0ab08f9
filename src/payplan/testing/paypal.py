"""A fake PayPal API, served by :class:`~payplan.testing.server.FakeServer` on 127.0.0.1.

:class:`FakePayPal` is the responder. It speaks the part of PayPal payplan
uses: the OAuth client-credentials token endpoint, catalog products, billing
plans, subscriptions (get, cancel, deactivate the plan), sales and refunds
(``GET /v1/payments/sale|refund/{id}``, for what :meth:`FakePayPal.record_payment`
recorded) and ``verify-webhook-signature``. It requires a bearer token it issued, replays
requests that reuse a ``PayPal-Request-Id`` (PayPal keeps them 72 hours),
enforces the Subscriptions rules the adapter must respect (at most 2 TRIAL
and 1 REGULAR cycles, cancel only an active or suspended subscription), and
validates every JSON request body against the official OpenAPI specs when
they are present (:attr:`FakePayPal.spec_errors`).

:class:`PayPalSigner` holds an RSA key, a certificate issued by a test root CA, and
signs deliveries the way PayPal does (``transmission_id|time|webhook_id|crc32``).
Its :meth:`PayPalSigner.fetch` is the certificate fetcher to inject into
the adapter (only the fake's own certificate URL answers).

Webhook payload builders, for testing a site's webhook endpoint without
PayPal: :func:`webhook_event` builds PayPal's event envelope (``id``,
``event_version``, ``create_time``, ``resource_type``, ``event_type``,
``summary``, ``resource``, ``links``, as the Webhooks API's ``event`` schema
describes it), :func:`sale_resource` and :func:`sale_refund_resource` the
resources of ``PAYMENT.SALE.COMPLETED`` and ``PAYMENT.SALE.REFUNDED``, and
:meth:`PayPalSigner.signed_delivery` the ``(headers, body)`` an endpoint
receives::

    signer = PayPalSigner()
    event = webhook_event("WH-1", "PAYMENT.SALE.COMPLETED", sale_resource(
        "SALE-1", "500.00", "USD", billing_agreement_id=subscription_id, custom=custom_id))
    headers, body = signer.signed_delivery(event, webhook_id)
    provider.parse_webhook(headers, body)

``cryptography`` (the ``paypal`` extra) is imported when a signer is created.

.. versionadded:: 0.2.0
   Moved here from payplan's own test suite.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import threading
import uuid
import warnings
import zlib
from pathlib import Path
from typing import Any

from .server import RecordedRequest, Reply

__all__ = [
    "CERT_URL",
    "REVOKED_CLIENT",
    "FakePayPal",
    "PayPalSigner",
    "sale_refund_resource",
    "sale_resource",
    "webhook_event",
]

Json = dict[str, Any]

REVOKED_CLIENT = "revoked-client"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-fake"
SPEC_FILES = {
    "/v1/billing/": "paypal-billing_subscriptions_v1.json",
    "/v1/catalogs/": "paypal-catalogs_products_v1.json",
    "/v1/notifications/": "paypal-notifications_webhooks_v1.json",
}


class PayPalSigner:
    """An RSA key and a certificate that sign deliveries as PayPal does.

    The certificate (``CN=messageverificationcerts.sandbox.paypal.com``) is
    issued by a test root CA (:attr:`root`), which the adapter must be told
    to trust: :meth:`certificates` builds that ``PayPalCertificates``.
    """

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payplan test root CA")])
        self.root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=2))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.root_key, hashes.SHA256())
        )
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.sandbox.paypal.com")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(root_name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(self.root_key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.fetched: list[str] = []

    def certificates(self, **kwargs: Any) -> Any:
        """A :class:`~payplan.providers.paypal.PayPalCertificates` that fetches from this signer and trusts its root."""
        from ..providers.paypal import PayPalCertificates

        return PayPalCertificates(self.fetch, trusted=[self.root], **kwargs)

    def fetch(self, url: str) -> bytes:
        """The certificate fetcher tests inject: only the fake's own URL is known."""
        self.fetched.append(url)
        if url != CERT_URL:
            raise LookupError(f"no certificate at {url}")
        return self.pem

    def sign(self, body: bytes, webhook_id: str, *, when: dt.datetime | None = None, bad: bool = False) -> dict[str, str]:
        """The PAYPAL-* headers of a delivery of *body* to the webhook *webhook_id*."""
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.hashes import SHA256

        sent = (when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        transmission = str(uuid.uuid4())
        message = f"{transmission}|{sent}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()
        key = self.other_key if bad else self.key
        signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), SHA256())).decode()
        return {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": CERT_URL,
            "PAYPAL-TRANSMISSION-ID": transmission,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-TRANSMISSION-TIME": sent,
            "Content-Type": "application/json",
        }

    def signed_delivery(
        self, event: Json, webhook_id: str, *, when: dt.datetime | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The ``(headers, body)`` PayPal delivers for *event* to the webhook *webhook_id*."""
        body = json.dumps(event, separators=(",", ":")).encode()
        return self.sign(body, webhook_id, when=when), body

    def verify(self, request: Json) -> bool:
        """What PayPal's verify-webhook-signature answers for *request*."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.hashes import SHA256

        body = json.dumps(request["webhook_event"], separators=(",", ":")).encode()
        message = (
            f"{request['transmission_id']}|{request['transmission_time']}|{request['webhook_id']}|"
            f"{zlib.crc32(body) & 0xFFFFFFFF}"
        ).encode()
        try:
            self.key.public_key().verify(
                base64.b64decode(request["transmission_sig"]), message, padding.PKCS1v15(), SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return request.get("cert_url") == CERT_URL


_API = "https://api.sandbox.paypal.com"


def _money(value: str, currency: str) -> Json:
    return {"total": value, "currency": currency}


def webhook_event(
    event_id: str,
    event_type: str,
    resource: Json,
    *,
    create_time: str = "2027-01-01T10:04:00Z",
    summary: str | None = None,
) -> Json:
    """PayPal's webhook event envelope of *event_type* around *resource*.

    The ``resource_type`` is read from the event type (``PAYMENT.SALE.*``:
    ``sale``, ``BILLING.SUBSCRIPTION.*``: ``subscription``, or the
    resource's own ``resource_type`` when it carries one).
    """
    parts = event_type.split(".")
    kind = "subscription" if parts[:2] == ["BILLING", "SUBSCRIPTION"] else parts[1].lower()
    if event_type == "PAYMENT.SALE.REFUNDED":
        kind = "refund"
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": create_time,
        "resource_type": kind,
        "resource_version": "1.0" if kind == "sale" else "2.0",
        "event_type": event_type,
        "summary": summary or f"{event_type.replace('.', ' ').title()}",
        "resource": json.loads(json.dumps(resource)),
        "links": [
            {"href": f"{_API}/v1/notifications/webhooks-events/{event_id}", "rel": "self", "method": "GET"},
            {"href": f"{_API}/v1/notifications/webhooks-events/{event_id}/resend", "rel": "resend",
             "method": "POST"},
        ],
    }


def sale_resource(
    sale_id: str,
    total: str,
    currency: str,
    *,
    billing_agreement_id: str | None = None,
    custom: str | None = None,
    state: str = "completed",
    create_time: str = "2027-01-01T10:00:00Z",
) -> Json:
    """The sale of a ``PAYMENT.SALE.COMPLETED`` event: *total* is PayPal's decimal string (``"500.00"``).

    A subscription's cycle payments carry the subscription id as
    ``billing_agreement_id`` and the subscription's ``custom_id`` as ``custom``.
    """
    sale: Json = {
        "id": sale_id,
        "state": state,
        "amount": {**_money(total, currency), "details": {"subtotal": total}},
        "payment_mode": "INSTANT_TRANSFER",
        "protection_eligibility": "ELIGIBLE",
        "protection_eligibility_type": "ITEM_NOT_RECEIVED_ELIGIBLE,UNAUTHORIZED_PAYMENT_ELIGIBLE",
        "transaction_fee": {"value": "0.00", "currency": currency},
        "create_time": create_time,
        "update_time": create_time,
        "links": [
            {"href": f"{_API}/v1/payments/sale/{sale_id}", "rel": "self", "method": "GET"},
            {"href": f"{_API}/v1/payments/sale/{sale_id}/refund", "rel": "refund", "method": "POST"},
        ],
    }
    if billing_agreement_id is not None:
        sale["billing_agreement_id"] = billing_agreement_id
    if custom is not None:
        sale["custom"] = custom
    return sale


def sale_refund_resource(
    refund_id: str,
    sale_id: str,
    total: str,
    currency: str,
    *,
    custom: str | None = None,
    create_time: str = "2027-01-02T10:00:00Z",
) -> Json:
    """The refund of a ``PAYMENT.SALE.REFUNDED`` event: *total* of the sale *sale_id*, as a decimal string.

    PayPal's own samples of this event carry the refunded amount negated
    (``"total": "-100.00"``); *total* is given positive and sent that way.
    """
    refund: Json = {
        "id": refund_id,
        "state": "completed",
        "amount": _money(total if total.startswith("-") else "-" + total, currency),
        "sale_id": sale_id,
        "create_time": create_time,
        "update_time": create_time,
        "links": [
            {"href": f"{_API}/v1/payments/refund/{refund_id}", "rel": "self", "method": "GET"},
            {"href": f"{_API}/v1/payments/sale/{sale_id}", "rel": "sale", "method": "GET"},
        ],
    }
    if custom is not None:
        refund["custom"] = custom
    return refund


class _Failure(Exception):
    def __init__(self, status: int, name: str, issue: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {
            "name": name,
            "message": description,
            "debug_id": uuid.uuid4().hex[:13],
            "details": [{"issue": issue, "description": description}],
        }


class FakePayPal:
    """The fake's state and behaviour; serve it with ``FakeServer(FakePayPal(...))``."""

    def __init__(self, signer: PayPalSigner, *, specs: Path | None = None) -> None:
        self.signer = signer
        self.products: dict[str, Json] = {}
        self.plans: dict[str, Json] = {}
        self.subscriptions: dict[str, Json] = {}
        self.payments: dict[str, Json] = {}
        self.tokens: set[str] = set()
        self.spec_errors: list[str] = []
        self.validated = 0
        self._replay: dict[tuple[str, str], Reply] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._created = 0
        self._specs: dict[str, Any] = {}
        if specs is not None and specs.is_dir():
            from openapi_core import OpenAPI

            for prefix, name in SPEC_FILES.items():
                self._specs[prefix] = OpenAPI.from_dict(json.loads((specs / name).read_text()))

    # -- what tests drive ---------------------------------------------------------

    def created(self) -> int:
        """How many products, billing plans and subscriptions were created."""
        return self._created

    def record_payment(self, resource: Json) -> Json:
        """PayPal now holds *resource* (a sale or a refund, by its ``id``): ``GET /v1/payments/sale|refund/{id}`` returns it."""
        with self._lock:
            self.payments[str(resource["id"])] = dict(resource)
        return resource

    def approve(self, subscription_id: str) -> None:
        """The buyer approves: the subscription becomes ACTIVE."""
        with self._lock:
            self.subscriptions[subscription_id]["status"] = "ACTIVE"

    # -- HTTP -------------------------------------------------------------------------

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            try:
                return self._handle(request)
            except _Failure as failure:
                return Reply.json(failure.body, failure.status)

    def _handle(self, request: RecordedRequest) -> Reply:
        path = request.path
        if request.method == "POST" and path == "/v1/oauth2/token":
            return self._token(request)
        auth = request.header("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            raise _Failure(401, "AUTHENTICATION_FAILURE", "INVALID_TOKEN", "Authentication failed")
        self._validate(request)
        key = request.header("PayPal-Request-Id")
        if key and request.method == "POST":
            cached = self._replay.get((path, key))
            if cached is not None:
                return cached
        reply = self._route(request)
        if key and request.method == "POST" and reply.status < 300:
            self._replay[(path, key)] = reply
        return reply

    def _token(self, request: RecordedRequest) -> Reply:
        auth = request.header("Authorization") or ""
        try:
            client_id = base64.b64decode(auth[6:]).decode().split(":", 1)[0] if auth.startswith("Basic ") else ""
        except ValueError:
            client_id = ""
        if not client_id or client_id == REVOKED_CLIENT:
            return Reply.json({"error": "invalid_client", "error_description": "Client Authentication failed"}, 401)
        if request.form().get("grant_type") != "client_credentials":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        token = f"A21AA{uuid.uuid4().hex}"
        self.tokens.add(token)
        return Reply.json(
            {"scope": "https://uri.paypal.com/services/subscriptions", "access_token": token,
             "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400,
             "nonce": uuid.uuid4().hex}
        )

    def _validate(self, request: RecordedRequest) -> None:
        if request.method != "POST" or not request.body:
            return
        for prefix, api in self._specs.items():
            if request.path.startswith(prefix):
                from openapi_core.testing import MockRequest

                mock = MockRequest(
                    "https://api-m.sandbox.paypal.com", "post", request.path, data=request.body,
                    content_type="application/json", headers={"Authorization": "Bearer x"},
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        api.validate_request(mock)
                    except Exception as exc:
                        cause = exc.__cause__
                        found = [getattr(e, "message", str(e)) for e in getattr(cause, "schema_errors", None) or ()]
                        if request.path == "/v1/notifications/verify-webhook-signature":
                            # The spec marks every field of `event` readOnly, yet this endpoint takes the
                            # whole delivered event (the spec's own example sends one): not a body error.
                            found = [m for m in found if "read-only property" not in m]
                            if not found and getattr(cause, "schema_errors", None):
                                self.validated += 1
                                return
                        detail = "; ".join(found) or f"{exc}: {cause}"
                        self.spec_errors.append(f"POST {request.path}: {type(exc).__name__}: {detail}")
                self.validated += 1

    def _new(self, prefix: str) -> str:
        self._created += 1
        return f"{prefix}{next(self._ids):06d}FAKE"

    def _route(self, request: RecordedRequest) -> Reply:
        method, parts = request.method, request.path.strip("/").split("/")
        if method == "POST" and request.path == "/v1/catalogs/products":
            return self._create_product(request.json())
        if method == "POST" and request.path == "/v1/billing/plans":
            return self._create_plan(request.json())
        if method == "POST" and request.path == "/v1/billing/subscriptions":
            return self._create_subscription(request.json())
        if method == "GET" and len(parts) == 4 and parts[:3] in (["v1", "payments", "sale"], ["v1", "payments", "refund"]):
            return Reply.json(self._get(self.payments, parts[3], parts[2]))
        if method == "POST" and request.path == "/v1/notifications/verify-webhook-signature":
            ok = self.signer.verify(request.json())
            return Reply.json({"verification_status": "SUCCESS" if ok else "FAILURE"})
        if len(parts) >= 4 and parts[:3] == ["v1", "billing", "subscriptions"]:
            sub = self._get(self.subscriptions, parts[3], "subscription")
            if method == "GET" and len(parts) == 4:
                return Reply.json(sub)
            if method == "POST" and parts[4:] == ["cancel"]:
                if sub["status"] not in ("ACTIVE", "SUSPENDED"):
                    raise _Failure(
                        422, "UNPROCESSABLE_ENTITY", "SUBSCRIPTION_STATUS_INVALID",
                        f"Invalid subscription status for cancel action; subscription is {sub['status']}",
                    )
                sub["status"] = "CANCELLED"
                return Reply(204, b"")
        if len(parts) >= 4 and parts[:3] == ["v1", "billing", "plans"]:
            plan = self._get(self.plans, parts[3], "plan")
            if method == "GET" and len(parts) == 4:
                return Reply.json(plan)
            if method == "POST" and parts[4:] == ["deactivate"]:
                plan["status"] = "INACTIVE"
                return Reply(204, b"")
        raise _Failure(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"no route {method} {request.path}")

    @staticmethod
    def _get(store: dict[str, Json], key: str, what: str) -> Json:
        if key not in store:
            raise _Failure(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"Requested {what} {key} not found")
        return store[key]

    def _create_product(self, body: Json) -> Reply:
        if not body.get("name") or body.get("type") not in ("PHYSICAL", "DIGITAL", "SERVICE"):
            raise _Failure(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "name and type are required")
        pid = body.get("id") or self._new("PROD-")
        product = {**body, "id": pid, "create_time": "2026-12-01T10:00:00Z"}
        self.products[pid] = product
        return Reply.json(product, 201)

    def _create_plan(self, body: Json) -> Reply:
        if body.get("product_id") not in self.products:
            raise _Failure(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", f"unknown product {body.get('product_id')}")
        cycles = body.get("billing_cycles") or []
        tenures = [c.get("tenure_type") for c in cycles]
        if tenures.count("TRIAL") > 2 or tenures.count("REGULAR") != 1:
            raise _Failure(422, "UNPROCESSABLE_ENTITY", "INVALID_BILLING_CYCLES",
                           f"at most 2 TRIAL and exactly 1 REGULAR cycle, got {tenures}")
        if sorted(c.get("sequence") for c in cycles) != list(range(1, len(cycles) + 1)):
            raise _Failure(422, "UNPROCESSABLE_ENTITY", "INVALID_SEQUENCE", "cycle sequences must run 1, 2, 3")
        if tenures and tenures[-1] != "REGULAR":
            raise _Failure(422, "UNPROCESSABLE_ENTITY", "TRIAL_AFTER_REGULAR", "trial cycles run before the regular one")
        pid = self._new("P-")
        plan = {**body, "id": pid, "status": body.get("status", "ACTIVE"), "create_time": "2026-12-01T10:00:00Z"}
        self.plans[pid] = plan
        return Reply.json(plan, 201)

    def _create_subscription(self, body: Json) -> Reply:
        plan = self.plans.get(body.get("plan_id", ""))
        if plan is None or plan["status"] != "ACTIVE":
            raise _Failure(422, "UNPROCESSABLE_ENTITY", "PLAN_STATUS_INVALID", "the plan is not active")
        sid = self._new("I-")
        token = f"BA-{next(self._ids):08d}"
        sub = {
            "id": sid,
            "status": "APPROVAL_PENDING",
            "plan_id": plan["id"],
            "custom_id": body.get("custom_id"),
            "start_time": body.get("start_time"),
            "create_time": "2026-12-01T10:00:00Z",
            "links": [
                {"href": f"https://www.sandbox.paypal.com/webapps/billing/subscriptions?ba_token={token}",
                 "rel": "approve", "method": "GET"},
                {"href": f"https://api-m.sandbox.paypal.com/v1/billing/subscriptions/{sid}", "rel": "self",
                 "method": "GET"},
            ],
        }
        self.subscriptions[sid] = sub
        return Reply.json(sub, 201)
