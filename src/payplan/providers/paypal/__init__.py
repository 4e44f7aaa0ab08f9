"""PayPal adapter: a payplan plan on PayPal's current Subscriptions API, two bindings.

* :class:`PayPalRestProvider` takes a configured ``paypalrestsdk.Api`` and
  uses it only as an authenticated HTTP client for ``v1/catalogs/products``,
  ``v1/billing/plans`` and ``v1/billing/subscriptions`` (never its
  deprecated billing-agreement models), adding the timeout it lacks.
* :class:`PayPalServerProvider` takes a configured ``paypalserversdk``
  client (PayPal's maintained SDK): its subscriptions controller for plans
  and subscriptions, its HTTP layer for catalog products and webhook checks.

Both share one pure mapping (:func:`map_plan`), send ``PayPal-Request-Id``
on every create, and verify webhooks themselves (certificate and CRC32) or
through ``v1/notifications/verify-webhook-signature``. No SDK is imported
until a binding is used, so this module imports without them.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import abc
import collections
import datetime as dt
import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, ClassVar, Final, Literal

from ..._money import Money
from ..._plan import PaymentPlan
from ..._refunds import refund_key
from ...exceptions import (
    InvalidPlanError,
    ProviderAuthError,
    ProviderError,
    ProviderRequestError,
    UnsupportedByProviderError,
)
from .. import (
    Capability,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    RefundOutcome,
    RefundStatus,
    idempotency_key,
)
from ._errors import from_status, translate
from ._mapping import (
    PAYPAL_CURRENCIES,
    PayPalOptions,
    PayPalRequests,
    from_paypal_amount,
    map_plan,
    plan_id_from_custom_id,
    refund_custom_id,
    to_paypal_amount,
)
from ._webhooks import (
    EVENT_KINDS,
    CertificateFetcher,
    PayPalCertificates,
    check_cert_url,
    parse_events,
    verification_request,
    verify_signature,
)

__all__ = [
    "CertificateFetcher",
    "EVENT_KINDS",
    "PAYPAL_CURRENCIES",
    "PayPalCertificates",
    "PayPalOptions",
    "PayPalProvider",
    "PayPalRequests",
    "PayPalRestProvider",
    "PayPalServerProvider",
    "check_cert_url",
    "from_paypal_amount",
    "map_plan",
    "parse_events",
    "plan_id_from_custom_id",
    "server_sdk_configuration",
    "to_paypal_amount",
    "verification_request",
    "verify_signature",
]

_PRODUCTS: Final = "/v1/catalogs/products"
_PLANS: Final = "/v1/billing/plans"
_SUBSCRIPTIONS: Final = "/v1/billing/subscriptions"
_VERIFY: Final = "/v1/notifications/verify-webhook-signature"
_ENDED: Final = frozenset({"CANCELLED", "EXPIRED"})
_MAX_TRANSMISSIONS: Final = 100_000
_REFUNDS: Final = "/v2/payments/refunds"
_CAPTURES: Final = "/v2/payments/captures"
#: The money events confirmed from PayPal's API before they are credited.
_CONFIRM_KINDS: Final = frozenset({"PAYMENT.SALE.COMPLETED", "PAYMENT.SALE.REFUNDED", "PAYMENT.SALE.REVERSED"})
#: Transaction statuses of a subscription payment that took the money (a later refund is its own event).
_PAID: Final = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
#: How far either side of a sale's time its subscription's transactions are listed.
_SALE_WINDOW: Final = dt.timedelta(days=2)


def _event_type(body: bytes) -> str | None:
    try:
        event = json.loads(body)
    except ValueError:
        return None
    kind = event.get("event_type") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else None


def _request_id(key: str) -> str:
    """A PayPal-Request-Id (at most 108 characters) from an idempotency key."""
    return key if len(key) <= 108 else "pp:" + hashlib.sha256(key.encode()).hexdigest()


_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _paypal_id(value: object) -> bool:
    """Whether *value* looks like a PayPal id (letters, digits, ``-`` and ``_``), safe in a URL path."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


class PayPalProvider(Provider, abc.ABC):
    """What both PayPal bindings share: mapping, publishing, cancelling and webhooks.

    Args:
        options: Return and cancel URLs and payment preferences.
        webhook_id: The id PayPal gave the webhook endpoint (needed to
            verify deliveries).
        verify: ``"certificate"`` (default: payplan checks the signature
            itself) or ``"api"`` (ask ``v1/notifications/verify-webhook-signature``).
        certificates: Where certificates come from (inject a fetcher in tests).
        max_transmission_age: Deliveries whose ``PAYPAL-TRANSMISSION-TIME``
            is further than this from now are refused as stale (None: no check).
        timezone: The time zone event dates are reported in.
        plan_for_subscription: Finds the payplan plan id of a PayPal
            subscription id, for events that carry no ``custom_id``.
        clock: Returns the current UTC time (for the staleness check).
        confirm: Confirm every money event from PayPal's API before it is
            credited (default True): the sale or refund is fetched by id and
            its own amount, state and ids are used, not the delivery's.
            PayPal signs only a CRC32 of the body, which is no secure hash,
            and ``verify="api"`` checks that same signature, so a signed
            body alone never moves money.
        transmissions: Where transmission ids already seen are kept, with a
            digest of their body (default: in memory, the last 100,000). A
            site with several processes passes a shared mapping. A
            transmission id seen before with another body is refused.

    .. versionchanged:: 0.2.0
       *confirm* and *transmissions*; money events are confirmed from the
       API by default, and their ids come from the sale or refund, so the
       same payment counts once whichever delivery carried it.

    .. versionadded:: 0.1.0
    """

    name: ClassVar[str] = "paypal"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.AUTOPAY,
            Capability.BUYER_APPROVAL,
            Capability.CANCEL,
            Capability.PARTIAL_REFUNDS,
            Capability.GOODWILL_REFUNDS,
        }
    )

    def __init__(
        self,
        options: PayPalOptions,
        *,
        webhook_id: str | None = None,
        verify: Literal["certificate", "api"] = "certificate",
        certificates: PayPalCertificates | None = None,
        max_transmission_age: dt.timedelta | None = dt.timedelta(minutes=15),
        timezone: str = "UTC",
        plan_for_subscription: Callable[[str], str | None] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        confirm: bool = True,
        transmissions: MutableMapping[str, str] | None = None,
    ) -> None:
        if verify not in ("certificate", "api"):
            raise ProviderRequestError(
                f"expected verify='certificate' or 'api', got {verify!r}", provider=self.name
            )
        self.options = options
        self.webhook_id = webhook_id
        self.verify = verify
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.certificates = certificates or PayPalCertificates(clock=self._clock)
        self.max_transmission_age = max_transmission_age
        self.timezone = timezone
        self.plan_for_subscription = plan_for_subscription
        self.confirm = confirm
        self._transmissions: MutableMapping[str, str] = (
            transmissions if transmissions is not None else collections.OrderedDict()
        )
        self._own_transmissions = transmissions is None
        self._transmission_lock = threading.Lock()

    # -- transport each binding provides ------------------------------------

    @abc.abstractmethod
    def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, request_id: str | None, action: str
    ) -> dict[str, Any]:
        """Send one authenticated call; return the JSON answer or raise a payplan error."""

    # -- the interface --------------------------------------------------------

    def check(self, plan: PaymentPlan) -> None:
        """Refuse a plan PayPal cannot express exactly (see :func:`map_plan`).

        Raises:
            UnsupportedByProviderError: the reason PayPal cannot express it.
        """
        map_plan(plan, self.options)

    def publish(self, plan: PaymentPlan, payer: Payer) -> ProviderBinding:
        """Create the catalog product, the billing plan and the subscription.

        Each create carries a ``PayPal-Request-Id`` derived from the plan id
        and version, so publishing again (or retrying after a timeout)
        returns the same objects. The binding's ``approval_url`` is where
        the buyer must approve before anything is charged.

        Raises:
            UnsupportedByProviderError: the plan cannot be expressed (nothing is created).
            ProviderConnectionError: PayPal did not answer; retry the same call.
            ProviderAuthError, ProviderRequestError: PayPal refused.
        """
        bodies = map_plan(plan, self.options, email=payer.email)
        product = self._send(
            "POST", _PRODUCTS, bodies.product_body(), idempotency_key(plan, "paypal-product"), "creating the product"
        )
        product_id = _id(product, "product")
        billing_plan = self._send(
            "POST", _PLANS, bodies.billing_plan(product_id), idempotency_key(plan, "paypal-plan"),
            "creating the billing plan",
        )
        plan_id = _id(billing_plan, "billing plan")
        subscription = self._send(
            "POST", _SUBSCRIPTIONS, bodies.subscription(plan_id), idempotency_key(plan, "paypal-subscription"),
            "creating the subscription",
        )
        approve = next(
            (
                link.get("href")
                for link in subscription.get("links", ())
                if isinstance(link, Mapping) and link.get("rel") == "approve"
            ),
            None,
        )
        status = subscription.get("status")
        return ProviderBinding(
            provider=self.name,
            plan_id=plan.id,
            plan_version=plan.version,
            ids={"product": product_id, "plan": plan_id, "subscription": _id(subscription, "subscription")},
            approval_url=approve if isinstance(approve, str) else None,
            status=status if isinstance(status, str) else None,
        )

    def cancel(self, binding: ProviderBinding) -> None:
        """Stop the plan: cancel the subscription, or, before the buyer approved, deactivate its billing plan.

        An APPROVED subscription (the buyer approved, PayPal has not
        activated it yet) is cancelled like an ACTIVE or SUSPENDED one: it
        is the subscription that would charge, and deactivating its plan is
        not documented to stop it. One still APPROVAL_PENDING cannot be
        cancelled, so its billing plan is deactivated and nothing can be
        approved. Cancelling twice is harmless.

        .. versionchanged:: 0.3.0
           An APPROVED subscription is cancelled (only its billing plan was deactivated).
        """
        subscription = binding.id("subscription")
        status = self._send("GET", f"{_SUBSCRIPTIONS}/{subscription}", None, None, "reading the subscription").get(
            "status"
        )
        if status in _ENDED:
            return
        if status == "APPROVAL_PENDING":
            plan = self._send("GET", f"{_PLANS}/{binding.id('plan')}", None, None, "reading the billing plan")
            if plan.get("status") != "INACTIVE":
                self._send("POST", f"{_PLANS}/{binding.id('plan')}/deactivate", None, None, "deactivating the plan")
            return
        self._send(
            "POST", f"{_SUBSCRIPTIONS}/{subscription}/cancel", {"reason": "Cancelled through payplan"}, None,
            "cancelling the subscription",
        )

    def refund(
        self,
        binding: ProviderBinding,
        charge_reference: str,
        amount: Money,
        *,
        reason: str | None = None,
        sequence: int = 1,
        idempotency_key: str | None = None,
        lowers_price: bool = False,
    ) -> RefundOutcome:
        """Refund *amount* of the subscription payment *charge_reference* (Payments v2 captures refund).

        A subscription payment's id (the sale of ``PAYMENT.SALE.COMPLETED``,
        the event's ``reference``) is its capture id in PayPal's current
        Payments API: ``POST /v2/payments/captures/{id}/refund``. The
        ``PayPal-Request-Id`` is *idempotency_key* or
        :func:`~payplan.refund_key` (a retry refunds once). The refund's
        ``custom_id`` names the plan and, for a goodwill refund
        (*lowers_price*), says it lowers the price
        (``payplan-refund:<plan>:goodwill``), which its
        ``PAYMENT.SALE.REFUNDED`` event carries back; *reason* goes to the
        buyer as ``note_to_payer``.

        Raises:
            InvalidPlanError: *amount* is not above zero.
            UnsupportedByProviderError: a goodwill refund for a plan id too
                long for PayPal's 127-character ``custom_id``.
            ProviderError: PayPal refused or did not answer.

        .. versionadded:: 0.3.0
        """
        if amount.minor <= 0:
            raise InvalidPlanError(f"expected a refund above zero, got {amount}")
        if not _paypal_id(charge_reference):
            raise ProviderRequestError(
                f"expected a PayPal capture (sale) id to refund, got {charge_reference!r}", provider=self.name
            )
        custom = refund_custom_id(binding.plan_id, lowers_price=lowers_price)
        if custom is None and lowers_price:
            raise UnsupportedByProviderError(
                f"paypal carries a goodwill refund in the refund's 127-character custom_id; plan id "
                f"{binding.plan_id!r} does not fit",
                provider=self.name,
            )
        body: dict[str, Any] = {"amount": to_paypal_amount(amount)}
        if custom is not None:
            body["custom_id"] = custom
        if reason:
            body["note_to_payer"] = reason[:255]
        key = idempotency_key or refund_key(binding.plan_id, charge_reference, amount, sequence=sequence)
        answer = self._send(
            "POST", f"{_CAPTURES}/{urllib.parse.quote(charge_reference)}/refund", body, _request_id(key),
            f"refunding {charge_reference}",
        )
        state = answer.get("status")
        status = (
            RefundStatus.SUCCEEDED if state == "COMPLETED"
            else RefundStatus.FAILED if state in ("FAILED", "CANCELLED")
            else RefundStatus.PENDING
        )
        ident = answer.get("id")
        return RefundOutcome(
            status=status,
            amount=amount,
            charge_reference=charge_reference,
            reference=ident if isinstance(ident, str) and ident else None,
            message=None if status is not RefundStatus.FAILED else f"paypal refund {state}",
            provider=self.name,
            lowers_price=lowers_price,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        """Verify a PayPal delivery and normalize it into payplan events.

        Raises:
            ProviderAuthError: a signature header is missing, stale or
                wrong, or the certificate is not acceptable.
            ProviderRequestError: the body is not a PayPal event.
        """
        if not self.webhook_id:
            raise ProviderAuthError(
                "expected a webhook_id to verify PayPal deliveries, got none", provider=self.name
            )
        self._check_age(headers)
        if self.verify == "api":
            answer = self._send(
                "POST", _VERIFY, verification_request(headers, body, webhook_id=self.webhook_id), None,
                "verifying a webhook signature",
            )
            if answer.get("verification_status") != "SUCCESS":
                raise ProviderAuthError(
                    f"PayPal did not verify the webhook signature: {answer.get('verification_status')!r}",
                    provider=self.name,
                )
        else:
            verify_signature(headers, body, webhook_id=self.webhook_id, certificates=self.certificates)
        tid = self._transmission_id(headers)
        digest = hashlib.sha256(body).hexdigest()
        # A money event confirmed from PayPal's API is PayPal's own word, whichever body carried
        # its id: the genuine delivery is never refused because a forgery used its transmission first.
        confirmed = self.confirm and _event_type(body) in _CONFIRM_KINDS
        if not confirmed:
            self._check_transmission(tid, digest)
        if confirmed:
            body = self._confirmed(body)
            if not body:
                return ()
        events = parse_events(body, timezone=self.timezone, plan_for_subscription=self.plan_for_subscription)
        if events:  # accepted: only now is the transmission id kept
            self._record_transmission(tid, digest, check=not confirmed)
        return events

    def _transmission_id(self, headers: Mapping[str, str]) -> str:
        tid = {str(k).lower(): v for k, v in headers.items()}.get("paypal-transmission-id")
        if not isinstance(tid, str) or not tid:
            raise ProviderAuthError("expected a PAYPAL-TRANSMISSION-ID header", provider=self.name)
        return tid

    def _check_transmission(self, tid: str, digest: str) -> None:
        """Refuse a transmission id accepted before with another body (a forged body under captured headers)."""
        with self._transmission_lock:
            seen = self._transmissions.get(tid)
        if seen is not None and seen != digest:
            raise ProviderAuthError(
                f"PayPal transmission {tid[:64]!r} was seen before with another body: refused as forged",
                provider=self.name,
            )

    def _record_transmission(self, tid: str, digest: str, *, check: bool) -> None:
        """Keep the transmission id of an accepted delivery (checked again under the lock: two at once)."""
        with self._transmission_lock:
            seen = self._transmissions.get(tid)
            if check and seen is not None and seen != digest:
                raise ProviderAuthError(
                    f"PayPal transmission {tid[:64]!r} was seen before with another body: refused as forged",
                    provider=self.name,
                )
            if seen is None:
                self._transmissions[tid] = digest
            if self._own_transmissions and isinstance(self._transmissions, collections.OrderedDict):
                while len(self._transmissions) > _MAX_TRANSMISSIONS:
                    self._transmissions.popitem(last=False)

    def _confirmed(self, body: bytes) -> bytes:
        """The delivery with its money resource rebuilt from PayPal's own records, or b"" when it moved no money yet.

        Reads only what PayPal does not list as deprecated: a sale through
        its subscription's transactions (``GET /v1/billing/subscriptions/{id}/transactions``,
        and the subscription for its ``custom_id``), a refund through
        Payments v2 (``GET /v2/payments/refunds/{id}``).
        """
        event = json.loads(body)
        if not isinstance(event, dict):
            return body
        kind = event.get("event_type")
        resource = event.get("resource")
        ident = resource.get("id") if isinstance(resource, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(ident, str) or not _paypal_id(ident):
            raise ProviderRequestError(
                f"paypal {kind} event: expected resource.id as a PayPal id, got {ident!r}", provider=self.name
            )
        if kind == "PAYMENT.SALE.COMPLETED":
            fetched = self._confirm_sale(str(kind), ident, resource, event)
        else:
            fetched = self._confirm_refund(str(kind), ident, resource)
        if fetched is None:
            return b""  # not (or no longer) completed: nothing to credit yet
        return json.dumps({**event, "resource": fetched}).encode()

    def _confirm_sale(
        self, kind: str, sale_id: str, resource: Mapping[str, Any], event: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        subscription = resource.get("billing_agreement_id")
        if subscription is None:
            return None  # not a subscription's payment: nothing payplan published
        if not _paypal_id(subscription):
            raise ProviderRequestError(
                f"paypal {kind} event: expected resource.billing_agreement_id as a PayPal id, got {subscription!r}",
                provider=self.name,
            )
        stamp = resource.get("create_time") or event.get("create_time")
        try:
            when = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            raise ProviderRequestError(
                f"paypal {kind} event: expected an RFC 3339 create_time, got {stamp!r}", provider=self.name
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        window = urllib.parse.urlencode({
            "start_time": (when - _SALE_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_time": (when + _SALE_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
        sub_path = f"{_SUBSCRIPTIONS}/{urllib.parse.quote(str(subscription))}"
        listed = self._send("GET", f"{sub_path}/transactions?{window}", None, None, f"confirming {kind} {sale_id}")
        found = [t for t in listed.get("transactions") or () if isinstance(t, Mapping) and t.get("id") == sale_id]
        if not found:
            raise ProviderRequestError(
                f"paypal {kind} event: PayPal lists no transaction {sale_id!r} on subscription {subscription!r} "
                f"around {stamp}",
                provider=self.name,
            )
        transaction = found[0]
        if transaction.get("status") not in _PAID:
            return None
        breakdown = transaction.get("amount_with_breakdown")
        gross = breakdown.get("gross_amount") if isinstance(breakdown, Mapping) else None
        if not isinstance(gross, Mapping):
            raise ProviderRequestError(
                f"paypal {kind} event: expected transaction {sale_id!r} to have amount_with_breakdown.gross_amount",
                provider=self.name,
            )
        sub = self._send("GET", sub_path, None, None, f"reading subscription {subscription} of {sale_id}")
        confirmed: dict[str, Any] = {
            "id": sale_id,
            "state": "completed",
            "amount": {"total": gross.get("value"), "currency": gross.get("currency_code")},
            "billing_agreement_id": subscription,
            "create_time": transaction.get("time") or stamp,
        }
        if isinstance(sub.get("custom_id"), str):
            confirmed["custom"] = sub["custom_id"]
        return confirmed

    def _confirm_refund(self, kind: str, refund_id: str, resource: Mapping[str, Any]) -> dict[str, Any] | None:
        fetched = self._send(
            "GET", f"{_REFUNDS}/{urllib.parse.quote(refund_id)}", None, None, f"confirming {kind} {refund_id}"
        )
        if fetched.get("id") != refund_id:
            raise ProviderRequestError(
                f"paypal {kind} event: PayPal returned {fetched.get('id')!r} for {refund_id!r}", provider=self.name
            )
        if fetched.get("status") != "COMPLETED":
            return None
        amount = fetched.get("amount")
        captured = next(
            (
                str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
                for link in fetched.get("links") or ()
                if isinstance(link, Mapping) and link.get("rel") == "up" and isinstance(link.get("href"), str)
            ),
            None,
        )
        confirmed: dict[str, Any] = {
            "id": refund_id,
            "state": "completed",
            "amount": {"total": amount.get("value"), "currency": amount.get("currency_code")}
            if isinstance(amount, Mapping) else None,
            "sale_id": captured,  # from PayPal's refund, never the delivery's (a forged body could name another sale)
            "create_time": fetched.get("create_time") or resource.get("create_time"),
        }
        if isinstance(fetched.get("custom_id"), str):
            confirmed["custom"] = fetched["custom_id"]
        return confirmed

    def _check_age(self, headers: Mapping[str, str]) -> None:
        limit = self.max_transmission_age
        if limit is None:
            return
        sent = {k.lower(): v for k, v in headers.items()}.get("paypal-transmission-time")
        if not sent:
            raise ProviderAuthError("expected a PAYPAL-TRANSMISSION-TIME header", provider=self.name)
        try:
            when = dt.datetime.fromisoformat(sent.replace("Z", "+00:00"))
        except ValueError:
            raise ProviderAuthError(f"expected an RFC 3339 PAYPAL-TRANSMISSION-TIME, got {sent!r}", provider=self.name) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        now = self._clock()
        if abs(now - when) > limit:
            raise ProviderAuthError(
                f"expected a delivery sent within {limit} of {now.isoformat()}, got one sent {sent}",
                provider=self.name,
            )


def _id(answer: Mapping[str, Any], what: str) -> str:
    value = answer.get("id")
    if not isinstance(value, str) or not value:
        raise ProviderRequestError(f"expected PayPal to return the {what} id, got {dict(answer)!r}", provider="paypal")
    return value


class PayPalRestProvider(PayPalProvider):
    """PayPal through a configured ``paypalrestsdk.Api``, used only as an authenticated HTTP client.

    The Api's own ``request`` has no timeout, returns HTTP 400 as
    ``{"error": ...}`` instead of raising, and retries a 401 without
    limit, and its ``http_call`` logs request headers and response bodies
    (credentials and tokens) at DEBUG in sandbox mode. This binding sends
    each call itself with ``requests`` and a timeout, using the Api's
    endpoint, proxies, credentials and response handling; fetches the OAuth
    token the same way (cached on the Api until it expires), refreshes a
    rejected token once, and raises payplan errors. Nothing it sends is
    logged.

    Args:
        api: ``paypalrestsdk.Api(mode=..., client_id=..., client_secret=...)``
            (``endpoint=`` points it elsewhere).
        options: See :class:`PayPalProvider`.
        timeout: ``(connect, read)`` seconds for every call.
        **kwargs: See :class:`PayPalProvider`.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self, api: Any, options: PayPalOptions, *, timeout: tuple[float, float] = (5.0, 30.0), **kwargs: Any
    ) -> None:
        super().__init__(options, **kwargs)
        self.api = api
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.api.endpoint!r}, webhook_id={self.webhook_id!r})"

    def _http(self, url: str, method: str, **kwargs: Any) -> Any:
        """One HTTP call with the Api's proxies, answered through the Api's own response handling.

        Not ``Api.http_call``: in sandbox mode it logs every request's
        headers and every response's body at DEBUG through the
        ``paypalrestsdk`` logger, that is the Basic client credentials and
        each access token. payplan never hands it a credential to log.
        """
        import requests

        response = requests.request(method, url, proxies=self.api.proxies, **kwargs)
        return self.api.handle_response(response, response.content.decode("utf-8"))

    def _token(self, *, fresh: bool = False) -> str:
        api = self.api
        if fresh:
            api.token_hash = None
        api.validate_token_hash()
        if api.token_hash is None:
            token = self._http(
                api.token_endpoint.rstrip("/") + "/v1/oauth2/token",
                "POST",
                data="grant_type=client_credentials",
                headers={
                    "Authorization": f"Basic {api.basic_auth()}",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                    "User-Agent": api.user_agent,
                },
                timeout=self.timeout,
            )
            api.token_request_at = dt.datetime.now()
            api.token_hash = token
        return f"{api.token_hash['token_type']} {api.token_hash['access_token']}"

    def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, request_id: str | None, action: str
    ) -> dict[str, Any]:
        from paypalrestsdk import exceptions as sdk_errors

        url = self.api.endpoint.rstrip("/") + path
        for attempt in (1, 2):
            try:
                headers = {
                    "Authorization": self._token(fresh=attempt == 2),
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "Prefer": "return=representation",
                }
                if request_id is not None:
                    headers["PayPal-Request-Id"] = request_id
                kwargs: dict[str, Any] = {"headers": headers, "timeout": self.timeout}
                if body is not None:
                    kwargs["data"] = json.dumps(body)
                answer = self._http(url, method, **kwargs)
            except sdk_errors.UnauthorizedAccess as exc:
                if attempt == 1:
                    continue
                raise from_status(401, exc.content, action=action) from exc
            except ProviderError:
                raise
            except Exception as exc:
                error = translate(exc, action=action)
                if error is None:
                    raise
                raise error from exc
            return answer if isinstance(answer, dict) else {}
        raise AssertionError("unreachable")  # pragma: no cover


class PayPalServerProvider(PayPalProvider):
    """PayPal through a configured ``paypalserversdk.PaypalServersdkClient``.

    Billing plans and subscriptions go through ``client.subscriptions``
    (plain dict bodies: the SDK's ``PlanRequest.from_dictionary`` turns
    ``auto_bill_outstanding=False`` into the default ``True``); catalog
    products and webhook checks, which the SDK lacks, go through its HTTP
    layer with the same authentication. Timeouts come from the client's
    configuration (``timeout=``, 60 seconds by default).

    .. versionadded:: 0.1.0
    """

    def __init__(self, client: Any, options: PayPalOptions, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.client = client

    def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, request_id: str | None, action: str
    ) -> dict[str, Any]:
        subs = self.client.subscriptions
        options: dict[str, Any] = {}
        if body is not None:
            options["body"] = dict(body)
        if request_id is not None:
            options["paypal_request_id"] = request_id
        split = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(split.query))
        path = split.path
        parts = path.strip("/").split("/")
        try:
            if method == "GET" and path.startswith(_SUBSCRIPTIONS + "/") and parts[4:] == ["transactions"]:
                response = subs.list_subscription_transactions({"id": parts[3], **query})
            elif method == "POST" and path.startswith(_CAPTURES + "/") and parts[4:] == ["refund"]:
                response = self.client.payments.refund_captured_payment(
                    {"capture_id": parts[3], **options, "prefer": "return=representation"}
                )
            elif method == "GET" and path.startswith(_REFUNDS + "/"):
                response = self.client.payments.get_refund({"refund_id": parts[3]})
            elif method == "POST" and path == _PLANS:
                response = subs.create_billing_plan({**options, "prefer": "return=representation"})
            elif method == "POST" and path == _SUBSCRIPTIONS:
                response = subs.create_subscription({**options, "prefer": "return=representation"})
            elif method == "GET" and path.startswith(_SUBSCRIPTIONS + "/"):
                response = subs.get_subscription({"id": parts[3]})
            elif method == "GET" and path.startswith(_PLANS + "/"):
                response = subs.get_billing_plan(parts[3])
            elif method == "POST" and path.endswith("/cancel"):
                response = subs.cancel_subscription({"id": parts[3], **options})
            elif method == "POST" and path.endswith("/deactivate"):
                response = subs.deactivate_billing_plan(parts[3])
            else:
                response = _raw(self.client, method, path, body, request_id)
        except ProviderError:
            raise
        except Exception as exc:
            error = translate(exc, action=action)
            if error is None:
                raise
            raise error from exc
        status = getattr(response, "status_code", 200)
        text = getattr(response, "text", None) or ""
        if isinstance(status, int) and status >= 400:
            raise from_status(status, text, action=action)
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            raise ProviderRequestError(f"expected JSON from PayPal {action}, got {text[:200]!r}", provider=self.name) from None
        return answer if isinstance(answer, dict) else {}


def server_sdk_configuration(base_url: str) -> Any:
    """A ``paypalserversdk`` ``Configuration`` subclass that sends every call to *base_url*.

    The server SDK has no ``base_url`` parameter; its base URLs are the
    class attribute ``Configuration.environments``. Use this to reach a
    proxy, or a local fake in tests::

        config = server_sdk_configuration("http://127.0.0.1:8080")
        client = PaypalServersdkClient(config=config(environment=Environment.SANDBOX, ...))

    .. versionadded:: 0.1.0
    """
    from paypalserversdk.configuration import Configuration, Environment, Server

    url = base_url.rstrip("/")

    class LocalConfiguration(Configuration):  # type: ignore[misc]
        environments: ClassVar[dict[Any, Any]] = {
            Environment.SANDBOX: {Server.DEFAULT: url},
            Environment.PRODUCTION: {Server.DEFAULT: url},
        }

    return LocalConfiguration


def _raw(client: Any, method: str, path: str, body: Mapping[str, Any] | None, request_id: str | None) -> Any:
    """One call through the server SDK's own HTTP layer and OAuth (for APIs it has no controller for)."""
    from apimatic_core.authentication.multiple.single_auth import Single
    from apimatic_core.request_builder import RequestBuilder
    from apimatic_core.response_handler import ResponseHandler
    from apimatic_core.types.parameter import Parameter
    from paypalserversdk.api_helper import APIHelper
    from paypalserversdk.configuration import Server
    from paypalserversdk.controllers.base_controller import BaseController
    from paypalserversdk.exceptions.api_exception import ApiException
    from paypalserversdk.http.http_method_enum import HttpMethodEnum

    builder = (
        RequestBuilder()
        .server(Server.DEFAULT)
        .path(path)
        .http_method(getattr(HttpMethodEnum, method))
        .header_param(Parameter().key("Content-Type").value("application/json"))
        .header_param(Parameter().key("accept").value("application/json"))
        .header_param(Parameter().key("Prefer").value("return=representation"))
        .auth(Single("Oauth2"))
    )
    if request_id is not None:
        builder = builder.header_param(Parameter().key("PayPal-Request-Id").value(request_id))
    if body is not None:
        builder = builder.body_param(Parameter().value(dict(body))).body_serializer(APIHelper.json_serialize)
    controller = BaseController(client.global_configuration)
    return (
        controller.new_api_call_builder.request(builder)
        .response(
            ResponseHandler()
            .deserializer(APIHelper.json_deserialize)
            .is_api_response(True)
            .local_error("default", "PayPal error", ApiException)
        )
        .execute()
    )
