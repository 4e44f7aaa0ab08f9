"""A fake PayPal API, served by :class:`~payplan.testing.server.FakeServer` on 127.0.0.1.

:class:`FakePayPal` is the responder. It speaks the part of PayPal payplan
uses: the OAuth client-credentials token endpoint, catalog products, billing
plans, subscriptions (get, cancel, deactivate the plan, list transactions),
Payments v2 refunds of a subscription's payments (``POST /v2/payments/captures/{id}/refund``,
``GET /v2/payments/refunds/{id}``) and ``verify-webhook-signature``. It no
longer answers PayPal's deprecated ``/v1/payments`` reads. It requires a bearer token it issued, replays
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

A public clock, like Stripe's test clocks: the fake starts at :attr:`FakePayPal.now`
and :meth:`FakePayPal.advance_to` moves it forward, running on the way the
billing cycles PayPal runs. When the buyer approves (:meth:`FakePayPal.approve`)
the setup fee is charged at once (``setup_fee_failure_action`` decides what a
failure does); then each TRIAL and REGULAR cycle is billed at ``start_time``
plus whole periods of its ``frequency``. A failed payment is retried as PayPal
documents it: every 5 days, at most twice per cycle; after the second retry
fails it counts in ``billing_info.failed_payments_count``, its amount goes to
the ``outstanding_balance`` (billed with the next cycle when
``auto_bill_outstanding``), and the subscription is SUSPENDED once the count
reaches ``payment_failure_threshold`` (0: never). After its last cycle the
subscription EXPIRES. Payments follow :meth:`FakePayPal.script` (the sandbox's
:class:`~payplan.testing.SandboxCard` outcomes, keyed by subscription id or
the subscriber's e-mail). Each step queues the signed deliveries PayPal sends
(``BILLING.SUBSCRIPTION.ACTIVATED``, ``PAYMENT.SALE.COMPLETED``,
``BILLING.SUBSCRIPTION.PAYMENT.FAILED``, ``BILLING.SUBSCRIPTION.SUSPENDED``,
``BILLING.SUBSCRIPTION.EXPIRED``, ``BILLING.SUBSCRIPTION.CANCELLED``)::

    paypal = FakePayPal(signer, now=dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC))
    provider = PayPalRestProvider(api, options, webhook_id=paypal.webhook_id,
                                  certificates=signer.certificates(), clock=paypal.clock)
    binding = provider.publish(plan, Payer(email="client@example.com"))
    paypal.approve(binding.id("subscription"))          # the deposit (setup fee) is charged now
    for delivery in paypal.advance_to(dt.date(2027, 3, 1)):
        events = provider.parse_webhook(delivery.headers, delivery.body)

Pass ``clock=paypal.clock`` to the adapter: deliveries are signed at the
fake's time, and the adapter refuses stale ones (15 minutes by default) by
its own clock, so hand each over as it happens:
``paypal.advance_to(day, deliver=lambda d: provider.parse_webhook(d.headers, d.body))``
calls *deliver* with the clock standing at each delivery's time.

``cryptography`` (the ``paypal`` extra) is imported when a signer is created.

.. versionadded:: 0.2.0
   Moved here from payplan's own test suite.
.. versionchanged:: 0.3.0
   The clock (:meth:`FakePayPal.advance_to`), billing cycles, retries,
   card scripts and queued signed deliveries.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._calendar import add_months
from ._sandbox import SandboxCard
from .server import ClockedFake, Delivery, RecordedRequest, Reply

__all__ = [
    "CERT_URL",
    "REVOKED_CLIENT",
    "FakePayPal",
    "WEBHOOK_ID",
    "PayPalSigner",
    "sale_refund_resource",
    "sale_resource",
    "webhook_event",
]

Json = dict[str, Any]

REVOKED_CLIENT = "revoked-client"
#: The webhook id the fake signs its queued deliveries for, unless told another.
WEBHOOK_ID = "8PT597110X687430LFAKE"
#: Days between PayPal's retries of a failed payment, and how many retries a cycle gets.
RETRY_DAYS = 5
RETRIES = 2
#: PayPal's reason code for each scripted outcome.
_REASONS = {
    SandboxCard.DECLINE: "PAYMENT_DENIED",
    SandboxCard.EXPIRED: "EXPIRED_CARD",
    SandboxCard.AUTHENTICATION: "TRANSACTION_RECEIVING_LIMIT_EXCEEDED",
}
_START = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
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
            .not_valid_before(now - dt.timedelta(days=3650))
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
            .not_valid_before(now - dt.timedelta(days=1825))  # valid around any fake clock
            .not_valid_after(now + dt.timedelta(days=1825))
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
_API_M = "https://api-m.sandbox.paypal.com"


_ZERO_DECIMAL = frozenset({"HUF", "JPY", "TWD"})


def _decimal(minor: int, currency: str) -> str:
    """Minor units as PayPal's decimal string (``50000`` USD -> ``"500.00"``)."""
    if currency in _ZERO_DECIMAL:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def _minor(value: str) -> int:
    """PayPal's decimal string as minor units (``"500.00"`` -> ``50000``; ``"500"`` -> ``50000``)."""
    text = str(value).strip()
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    return sign * (int(whole or 0) * 100 + int((frac + "00")[:2]))


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


class _Billing:
    """What the fake keeps about a subscription's billing beside the object PayPal shows."""

    def __init__(self, cycles: list[Json], start: dt.datetime) -> None:
        self.cycles = cycles
        self.start = start
        self.index = 0                  # the next cycle to bill, counted over every cycle
        self.retries = 0                # retries made in this cycle
        self.attempt_at: dt.datetime | None = None   # the next payment attempt (a cycle or a retry)
        self.amount = 0                 # what the cycle being billed asks, in cents-like minor units
        self.total = sum(int(c.get("total_cycles") or 0) for c in cycles)


class FakePayPal(ClockedFake):
    """The fake's state, behaviour and clock; serve it with ``FakeServer(FakePayPal(...))``.

    Args:
        signer: Signs the queued deliveries (and answers verify-webhook-signature).
        specs: The folder of PayPal's OpenAPI documents, to validate request bodies.
        now: Where the clock starts (UTC; default 2026-12-01 10:00).
        webhook_id: The webhook the queued deliveries are signed for (:data:`WEBHOOK_ID`).
    """

    def __init__(
        self,
        signer: PayPalSigner,
        *,
        specs: Path | None = None,
        now: dt.datetime | None = None,
        webhook_id: str = WEBHOOK_ID,
    ) -> None:
        self.signer = signer
        self.webhook_id = webhook_id
        self.products: dict[str, Json] = {}
        self.plans: dict[str, Json] = {}
        self.subscriptions: dict[str, Json] = {}
        self.payments: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.transactions: dict[str, list[Json]] = {}
        self.tokens: set[str] = set()
        self.spec_errors: list[str] = []
        self.validated = 0
        self._replay: dict[tuple[str, str], Reply] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._created = 0
        self._now = _START if now is None else now.astimezone(dt.UTC)
        self._billing: dict[str, _Billing] = {}
        self._scripts: dict[str, list[SandboxCard]] = {}
        self._queue: list[Delivery] = []
        self._last_outcome = SandboxCard.SUCCESS
        self._specs: dict[str, Any] = {}
        if specs is not None and specs.is_dir():
            from openapi_core import OpenAPI

            for prefix, name in SPEC_FILES.items():
                self._specs[prefix] = OpenAPI.from_dict(json.loads((specs / name).read_text()))

    # -- the clock -------------------------------------------------------------------

    @property
    def now(self) -> dt.datetime:
        """The fake's current time (UTC)."""
        return self._now

    def clock(self) -> dt.datetime:
        """The fake's current time: pass ``clock=paypal.clock`` to the adapter."""
        return self._now

    def script(self, key: str, *outcomes: SandboxCard) -> None:
        """Make the next payments of a subscription (its id) or a subscriber (their e-mail) behave as *outcomes*.

        Once the script runs out, payments succeed.
        """
        with self._lock:
            self._scripts.setdefault(key, []).extend(outcomes)

    def advance_to(
        self, when: dt.date | dt.datetime, *, deliver: Callable[[Delivery], object] | None = None
    ) -> list[Delivery]:
        """Move the clock to *when*, billing on the way; returns (and takes) every queued delivery.

        A date means 12:00 UTC that day (PayPal bills about 10:00 UTC).
        Cycles and retries due before *when* run in time order.

        Args:
            when: Where the clock goes.
            deliver: Called with each delivery as it happens, the clock
                standing at its time (so an adapter reading ``clock=paypal.clock``
                finds it fresh), instead of returning it. It may call the fake.

        Raises:
            ValueError: *when* is before the fake's current time.
        """
        with self._lock:
            if isinstance(when, dt.datetime):
                if when.tzinfo is None:
                    raise ValueError(f"expected an aware datetime, got {when!r}")
                target = when.astimezone(dt.UTC)
            else:
                target = dt.datetime.combine(when, dt.time(12), tzinfo=dt.UTC)
            if target < self._now:
                raise ValueError(f"expected a time on or after {self._now.isoformat()}, got {target.isoformat()}")

        def step() -> bool:
            due = [(b.attempt_at, sid) for sid, b in self._billing.items()
                   if b.attempt_at is not None and b.attempt_at <= target
                   and self.subscriptions[sid]["status"] == "ACTIVE"]
            if not due:
                self._now = target
                return False
            moment, sid = min(due)
            self._now = max(self._now, moment)
            self._bill(sid)
            return True

        return self._walk(step, deliver)

    # -- what tests drive ---------------------------------------------------------

    def created(self) -> int:
        """How many products, billing plans and subscriptions were created."""
        return self._created

    def record_payment(self, resource: Json) -> Json:
        """PayPal now holds *resource*, a v1 sale or refund as a webhook carries it, by its ``id``.

        A sale with a ``billing_agreement_id`` becomes a transaction of that
        subscription (``GET /v1/billing/subscriptions/{id}/transactions``,
        COMPLETED, or PENDING for a sale not ``completed``); a refund (it has
        a ``sale_id``) becomes a Payments v2 refund (``GET /v2/payments/refunds/{id}``),
        its ``custom`` as ``custom_id``.
        """
        with self._lock:
            self.payments[str(resource["id"])] = dict(resource)
            amount = resource.get("amount") or {}
            currency = str(amount.get("currency") or "USD")
            value = str(amount.get("total") or "0").lstrip("-")
            stamp = str(resource.get("create_time") or self._stamp())
            if "sale_id" in resource:
                self.refunds[str(resource["id"])] = self._refund_object(
                    str(resource["id"]), str(resource["sale_id"]), _minor(value), currency,
                    custom_id=resource.get("custom"), status="COMPLETED" if resource.get("state") == "completed"
                    else "PENDING", stamp=stamp)
            elif resource.get("billing_agreement_id"):
                found = self.transactions.setdefault(str(resource["billing_agreement_id"]), [])
                found[:] = [t for t in found if t["id"] != resource["id"]]
                found.append(self._transaction(
                    str(resource["id"]), "COMPLETED" if resource.get("state") == "completed" else "PENDING",
                    _minor(value), currency, stamp, "buyer@example.com"))
        return resource

    def dashboard_refund(self, sale_id: str, amount: str) -> Json:
        """The merchant refunds *amount* (a decimal string) of a sale in PayPal's dashboard: no payplan
        ``custom_id``; ``PAYMENT.SALE.REFUNDED`` is queued. Returns the v2 refund."""
        with self._lock:
            return self._make_refund(sale_id, _minor(amount), None, None)

    def approve(self, subscription_id: str, *, activate: bool = True) -> None:
        """The buyer approves the subscription: it becomes ACTIVE and the setup fee is charged now.

        With ``activate=False`` it stays APPROVED (approved, not yet
        active: nothing is charged), as between the buyer's approval and
        PayPal's activation.
        """
        with self._lock:
            sub = self.subscriptions[subscription_id]
            if not activate:
                self._status(sub, "APPROVED")
                return
            self._activate(subscription_id)

    # -- billing -------------------------------------------------------------------------

    def _status(self, sub: Json, status: str, note: str | None = None) -> None:
        sub["status"] = status
        sub["status_update_time"] = self._stamp()
        sub["update_time"] = self._stamp()
        if note is not None:
            sub["status_change_note"] = note

    def _stamp(self, when: dt.datetime | None = None) -> str:
        return (when or self._now).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _plan_of(self, sub: Json) -> Json:
        return self.plans[sub["plan_id"]]

    def _outcome(self, sub: Json) -> SandboxCard:
        for key in (sub["id"], (sub.get("subscriber") or {}).get("email_address")):
            queue = self._scripts.get(key) if key else None
            if queue:
                return queue.pop(0)
        return SandboxCard.SUCCESS

    def _activate(self, sid: str) -> None:
        sub = self.subscriptions[sid]
        plan = self._plan_of(sub)
        prefs = plan.get("payment_preferences") or {}
        currency = None
        cycles = sorted(plan.get("billing_cycles") or [], key=lambda c: c["sequence"])
        for c in cycles:
            currency = ((c.get("pricing_scheme") or {}).get("fixed_price") or {}).get("currency_code") or currency
        fee = prefs.get("setup_fee")
        currency = currency or (fee or {}).get("currency_code") or "USD"
        start = dt.datetime.fromisoformat(str(sub.get("start_time") or self._stamp()).replace("Z", "+00:00"))
        billing = _Billing(cycles, max(start, self._now))  # a start already past: billing starts at approval
        self._billing[sid] = billing
        sub["billing_info"] = {
            "outstanding_balance": {"currency_code": currency, "value": _decimal(0, currency)},
            "cycle_executions": [
                {"tenure_type": c["tenure_type"], "sequence": c["sequence"], "cycles_completed": 0,
                 "cycles_remaining": c["total_cycles"], "current_pricing_scheme_version": 1,
                 "total_cycles": c["total_cycles"]}
                for c in cycles
            ],
            "failed_payments_count": 0,
        }
        sub["quantity"] = "1"
        sub["plan_overridden"] = False
        sub["shipping_amount"] = {"currency_code": currency, "value": _decimal(0, currency)}
        sub.setdefault("subscriber", {}).update(
            {"name": {"given_name": "John", "surname": "Doe"}, "payer_id": "2J6QB8YJQSJRJ"})
        sub["subscriber"].setdefault("email_address", "buyer@example.com")
        self._status(sub, "ACTIVE")
        if fee and _minor(fee["value"]) > 0 and not self._pay(sid, _minor(fee["value"]), currency):
            if prefs.get("setup_fee_failure_action", "CANCEL") == "CANCEL":
                self._status(sub, "CANCELLED", "setup fee payment failed")
                self._queue_subscription("BILLING.SUBSCRIPTION.CANCELLED", sid)
                return
            self._add_outstanding(sub, _minor(fee["value"]))
        self._queue_subscription("BILLING.SUBSCRIPTION.ACTIVATED", sid)
        billing.attempt_at = billing.start if billing.total else None
        self._schedule(sid)

    def _cycle(self, billing: _Billing) -> tuple[Json, int]:
        """The cycle of overall index *billing.index*, and its position inside that cycle."""
        n = billing.index
        for cycle in billing.cycles:
            if n < cycle["total_cycles"]:
                return cycle, n
            n -= cycle["total_cycles"]
        raise IndexError(billing.index)

    def _billing_time(self, billing: _Billing, index: int) -> dt.datetime:
        frequency = billing.cycles[0]["frequency"]
        unit, count = frequency["interval_unit"], int(frequency.get("interval_count") or 1)
        step = count * index
        if unit == "MONTH":
            day = add_months(billing.start.date(), step)
        elif unit == "YEAR":
            day = add_months(billing.start.date(), 12 * step)
        else:
            day = billing.start.date() + dt.timedelta(days=(7 if unit == "WEEK" else 1) * step)
        return dt.datetime.combine(day, billing.start.timetz())

    def _schedule(self, sid: str) -> None:
        """Write next_billing_time and final_payment_time as PayPal shows them."""
        sub, billing = self.subscriptions[sid], self._billing[sid]
        info = sub["billing_info"]
        if billing.index < billing.total:
            info["next_billing_time"] = self._stamp(billing.attempt_at or self._billing_time(billing, billing.index))
            info["final_payment_time"] = self._stamp(self._billing_time(billing, billing.total - 1))
        else:
            info.pop("next_billing_time", None)

    def _add_outstanding(self, sub: Json, amount: int) -> None:
        balance = sub["billing_info"]["outstanding_balance"]
        balance["value"] = _decimal(_minor(balance["value"]) + amount, balance["currency_code"])

    def _bill(self, sid: str) -> None:
        sub, billing = self.subscriptions[sid], self._billing[sid]
        cycle, _ = self._cycle(billing)
        price = (cycle.get("pricing_scheme") or {}).get("fixed_price") or {"value": "0", "currency_code": "USD"}
        currency = price["currency_code"]
        info = sub["billing_info"]
        prefs = self._plan_of(sub).get("payment_preferences") or {}
        if billing.retries == 0:
            billing.amount = _minor(price["value"])
            if prefs.get("auto_bill_outstanding", True):
                billing.amount += _minor(info["outstanding_balance"]["value"])
        amount = billing.amount
        ok = amount <= 0 or self._pay(sid, amount, currency)
        if ok:
            if prefs.get("auto_bill_outstanding", True) and billing.retries == 0:
                info["outstanding_balance"]["value"] = _decimal(0, currency)
            info.pop("last_failed_payment", None)
            self._next_cycle(sid)
            return
        reason = _REASONS.get(self._last_outcome, "PAYMENT_DENIED")
        failed: Json = {"amount": {"currency_code": currency, "value": _decimal(amount, currency)},
                        "time": self._stamp(), "reason_code": reason}
        if billing.retries < RETRIES:
            billing.retries += 1
            billing.attempt_at = self._now + dt.timedelta(days=RETRY_DAYS)
            failed["next_payment_retry_time"] = self._stamp(billing.attempt_at)
            info["last_failed_payment"] = failed
            self._schedule(sid)
            self._queue_subscription("BILLING.SUBSCRIPTION.PAYMENT.FAILED", sid)
            return
        # The second retry failed too: one payment failure, its amount outstanding, the cycle passes.
        info["last_failed_payment"] = failed
        info["failed_payments_count"] += 1
        if prefs.get("auto_bill_outstanding", True):
            info["outstanding_balance"]["value"] = _decimal(amount, currency)
        else:
            self._add_outstanding(sub, amount)
        self._queue_subscription("BILLING.SUBSCRIPTION.PAYMENT.FAILED", sid)
        threshold = int(prefs.get("payment_failure_threshold", 0) or 0)
        self._next_cycle(sid)
        if threshold and info["failed_payments_count"] >= threshold and sub["status"] == "ACTIVE":
            self._status(sub, "SUSPENDED", "payment failure threshold reached")
            self._queue_subscription("BILLING.SUBSCRIPTION.SUSPENDED", sid)

    def _next_cycle(self, sid: str) -> None:
        sub, billing = self.subscriptions[sid], self._billing[sid]
        cycle, _ = self._cycle(billing)
        for run in sub["billing_info"]["cycle_executions"]:
            if run["sequence"] == cycle["sequence"]:
                run["cycles_completed"] += 1
                run["cycles_remaining"] = max(0, run["total_cycles"] - run["cycles_completed"])
        billing.index += 1
        billing.retries = 0
        if billing.index >= billing.total:
            billing.attempt_at = None
            self._schedule(sid)
            if sub["status"] == "ACTIVE":
                self._status(sub, "EXPIRED")
                self._queue_subscription("BILLING.SUBSCRIPTION.EXPIRED", sid)
            return
        billing.attempt_at = self._billing_time(billing, billing.index)
        self._schedule(sid)

    def _pay(self, sid: str, amount: int, currency: str) -> bool:
        """One payment attempt on the subscription: a sale and a transaction, or a declined transaction."""
        sub = self.subscriptions[sid]
        outcome = self._outcome(sub)
        self._last_outcome = outcome
        ok = outcome is SandboxCard.SUCCESS
        sale_id = f"{next(self._ids):02d}{uuid.uuid4().hex[:15].upper()}"
        value = _decimal(amount, currency)
        fee = _decimal(amount * 29 // 1000 + 30 if ok else 0, currency)
        self.transactions.setdefault(sid, []).append(self._transaction(
            sale_id, "COMPLETED" if ok else "DECLINED", amount, currency, self._stamp(),
            (sub.get("subscriber") or {}).get("email_address", "buyer@example.com"), paid=ok))
        if not ok:
            return False
        sale = sale_resource(sale_id, value, currency, billing_agreement_id=sid, custom=sub.get("custom_id"),
                             create_time=self._stamp())
        sale["transaction_fee"] = {"value": fee, "currency": currency}
        self.payments[sale_id] = sale
        sub["billing_info"]["last_payment"] = {"amount": {"currency_code": currency, "value": value},
                                               "time": self._stamp()}
        self._queue_event("PAYMENT.SALE.COMPLETED", sale)
        return True

    @staticmethod
    def _transaction(ident: str, status: str, amount: int, currency: str, stamp: str, email: str,
                     *, paid: bool = True) -> Json:
        """A subscription transaction with the keys of the Subscriptions API's ``transaction``."""
        fee = amount * 29 // 1000 + 30 if paid else 0
        return {
            "status": status,
            "id": ident,
            "amount_with_breakdown": {
                "gross_amount": {"currency_code": currency, "value": _decimal(amount, currency)},
                "fee_amount": {"currency_code": currency, "value": _decimal(fee, currency)},
                "net_amount": {"currency_code": currency, "value": _decimal(amount - fee if paid else 0, currency)},
            },
            "payer_name": {"given_name": "John", "surname": "Doe"},
            "payer_email": email,
            "time": stamp,
        }

    def _refund_object(self, refund_id: str, capture_id: str, amount: int, currency: str, *,
                       custom_id: object, status: str, stamp: str, note: object = None) -> Json:
        """A Payments v2 refund (``GET /v2/payments/refunds/{id}``)."""
        value = _decimal(amount, currency)
        refund: Json = {
            "id": refund_id,
            "amount": {"currency_code": currency, "value": value},
            "seller_payable_breakdown": {
                "gross_amount": {"currency_code": currency, "value": value},
                "paypal_fee": {"currency_code": currency, "value": _decimal(0, currency)},
                "net_amount": {"currency_code": currency, "value": value},
                "total_refunded_amount": {"currency_code": currency, "value": value},
            },
            "status": status,
            "create_time": stamp,
            "update_time": stamp,
            "links": [
                {"href": f"{_API_M}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"{_API_M}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
            ],
        }
        if isinstance(custom_id, str):
            refund["custom_id"] = custom_id
        if isinstance(note, str):
            refund["note_to_payer"] = note
        return refund

    def _make_refund(self, sale_id: str, amount: int | None, custom_id: object, note: object) -> Json:
        sale = self.payments.get(sale_id)
        if sale is None or "sale_id" in sale:
            raise _Failure(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"Specified resource ID {sale_id} does not exist")
        currency = str(sale["amount"]["currency"])
        total = _minor(str(sale["amount"]["total"]))
        done = sum(_minor(r["amount"]["value"]) for r in self.refunds.values()
                   if r["links"][1]["href"].endswith("/" + sale_id) and r["status"] == "COMPLETED")
        amount = total - done if amount is None else amount
        if amount <= 0 or done + amount > total:
            raise _Failure(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED",
                           "The refund amount must be less than or equal to the capture amount that has not yet been refunded.")
        refund_id = f"{next(self._ids):02d}{uuid.uuid4().hex[:15].upper()}"
        refund = self._refund_object(refund_id, sale_id, amount, currency, custom_id=custom_id, status="COMPLETED",
                                     stamp=self._stamp(), note=note)
        self.refunds[refund_id] = refund
        whole = done + amount == total
        sale["state"] = "refunded" if whole else "partially_refunded"
        for found in self.transactions.values():
            for t in found:
                if t["id"] == sale_id:
                    t["status"] = "REFUNDED" if whole else "PARTIALLY_REFUNDED"
        resource = sale_refund_resource(refund_id, sale_id, _decimal(amount, currency), currency,
                                        custom=custom_id if isinstance(custom_id, str) else None,
                                        create_time=self._stamp())
        resource["parent_payment"] = f"PAYID-{sale_id}"
        self.payments[refund_id] = resource
        self._queue_event("PAYMENT.SALE.REFUNDED", resource)
        return refund

    def _queue_event(self, event_type: str, resource: Json) -> None:
        event = webhook_event(f"WH-{uuid.uuid4().hex[:17].upper()}", event_type, resource, create_time=self._stamp())
        headers, body = self.signer.signed_delivery(event, self.webhook_id, when=self._now)
        self._queue.append(Delivery(headers, body))

    def _queue_subscription(self, event_type: str, sid: str) -> None:
        self._queue_event(event_type, self.subscriptions[sid])

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
        if method == "GET" and len(parts) == 4 and parts[:3] == ["v2", "payments", "refunds"]:
            return Reply.json(self._get(self.refunds, parts[3], "refund"))
        if method == "POST" and len(parts) == 5 and parts[:3] == ["v2", "payments", "captures"] and parts[4] == "refund":
            body = request.json() if request.body else {}
            amount = body.get("amount")
            minor = None if not amount else _minor(str(amount.get("value")))
            return Reply.json(self._make_refund(parts[3], minor, body.get("custom_id"), body.get("note_to_payer")), 201)
        if method == "POST" and request.path == "/v1/notifications/verify-webhook-signature":
            ok = self.signer.verify(request.json())
            return Reply.json({"verification_status": "SUCCESS" if ok else "FAILURE"})
        if len(parts) >= 4 and parts[:3] == ["v1", "billing", "subscriptions"]:
            sub = self._get(self.subscriptions, parts[3], "subscription")
            if method == "GET" and len(parts) == 4:
                return Reply.json(sub)
            if method == "POST" and parts[4:] == ["cancel"]:
                if sub["status"] not in ("APPROVED", "ACTIVE", "SUSPENDED"):
                    raise _Failure(
                        422, "UNPROCESSABLE_ENTITY", "SUBSCRIPTION_STATUS_INVALID",
                        f"Invalid subscription status for cancel action; subscription is {sub['status']}",
                    )
                self._status(sub, "CANCELLED", str(request.json().get("reason") or "") or None)
                self._queue_subscription("BILLING.SUBSCRIPTION.CANCELLED", sub["id"])
                return Reply(204, b"")
            if method == "GET" and parts[4:] == ["transactions"]:
                return Reply.json(self._list_transactions(sub["id"], request.query_params()))
        if len(parts) >= 4 and parts[:3] == ["v1", "billing", "plans"]:
            plan = self._get(self.plans, parts[3], "plan")
            if method == "GET" and len(parts) == 4:
                return Reply.json(plan)
            if method == "POST" and parts[4:] == ["deactivate"]:
                plan["status"] = "INACTIVE"
                return Reply(204, b"")
        raise _Failure(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"no route {method} {request.path}")

    def _list_transactions(self, sid: str, query: dict[str, str]) -> Json:
        """GET /v1/billing/subscriptions/{id}/transactions: start_time and end_time are required."""
        try:
            begin = dt.datetime.fromisoformat(query["start_time"].replace("Z", "+00:00"))
            end = dt.datetime.fromisoformat(query["end_time"].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise _Failure(400, "INVALID_REQUEST", "INVALID_PARAMETER_SYNTAX",
                           "start_time and end_time are required, in RFC 3339") from None
        found = [t for t in self.transactions.get(sid, [])
                 if begin <= dt.datetime.fromisoformat(t["time"].replace("Z", "+00:00")) <= end]
        return {"transactions": json.loads(json.dumps(found)), "total_items": len(found), "total_pages": 1,
                "links": [{"href": f"{_API}/v1/billing/subscriptions/{sid}/transactions", "rel": "SELF",
                           "method": "GET"}]}

    @staticmethod
    def _get(store: dict[str, Json], key: str, what: str) -> Json:
        if key not in store:
            raise _Failure(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"Requested {what} {key} not found")
        return store[key]

    def _create_product(self, body: Json) -> Reply:
        if not body.get("name") or body.get("type") not in ("PHYSICAL", "DIGITAL", "SERVICE"):
            raise _Failure(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "name and type are required")
        pid = body.get("id") or self._new("PROD-")
        product = {**body, "id": pid, "create_time": self._stamp(), "update_time": self._stamp()}
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
        plan = {**body, "id": pid, "status": body.get("status", "ACTIVE"), "create_time": self._stamp(),
                "update_time": self._stamp()}
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
            "status_update_time": self._stamp(),
            "plan_id": plan["id"],
            "start_time": body.get("start_time") or self._stamp(),
            "quantity": "1",
            "create_time": self._stamp(),
            "plan_overridden": False,
            "links": [
                {"href": f"https://www.sandbox.paypal.com/webapps/billing/subscriptions?ba_token={token}",
                 "rel": "approve", "method": "GET"},
                {"href": f"https://api-m.sandbox.paypal.com/v1/billing/subscriptions/{sid}", "rel": "self",
                 "method": "GET"},
            ],
        }
        if body.get("custom_id") is not None:
            sub["custom_id"] = body["custom_id"]
        if body.get("subscriber"):
            sub["subscriber"] = json.loads(json.dumps(body["subscriber"]))
        self.subscriptions[sid] = sub
        return Reply.json(sub, 201)
