"""PayPal webhooks: payplan's own signature check, the online route's body, and normalization.

PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(body)``
with RSA-SHA256 (``SHA256withRSA``); the certificate is at the
``PAYPAL-CERT-URL`` header, which must be an https URL on a paypal.com host.
paypalrestsdk's own ``WebhookEvent.verify()`` is broken with current
pyOpenSSL (PROVIDERS.md 3.1), so payplan checks with ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import threading
import urllib.parse
import warnings
import zlib
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from ..._money import Money
from ...exceptions import (
    InvalidPlanError,
    ProviderAuthError,
    ProviderRequestError,
    UnsupportedByProviderError,
)
from .. import EventKind, ProviderEvent
from .._payload import Fields
from ._mapping import NAME, from_paypal_amount, parse_custom_id, parse_refund_custom_id

__all__ = [
    "CertificateFetcher",
    "EVENT_KINDS",
    "PayPalCertificates",
    "check_cert_url",
    "parse_events",
    "verification_request",
    "verify_signature",
]

#: PayPal event types payplan understands, and what each means for a plan.
EVENT_KINDS: Final[Mapping[str, EventKind]] = {
    "PAYMENT.SALE.COMPLETED": EventKind.PAYMENT_SUCCEEDED,
    "BILLING.SUBSCRIPTION.PAYMENT.FAILED": EventKind.PAYMENT_FAILED,
    "BILLING.SUBSCRIPTION.CANCELLED": EventKind.PLAN_CANCELED,
    "BILLING.SUBSCRIPTION.SUSPENDED": EventKind.PLAN_SUSPENDED,
    "PAYMENT.SALE.REFUNDED": EventKind.REFUNDED,
    "PAYMENT.SALE.REVERSED": EventKind.REFUNDED,
}

class CertificateFetcher(Protocol):
    """Fetches the PEM bytes of the certificate at an (already checked) paypal.com URL.

    .. versionadded:: 0.1.0
    """

    def __call__(self, url: str, /) -> bytes:
        """The PEM bytes at *url*."""

_HEADERS: Final = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)


def _auth(message: str) -> ProviderAuthError:
    return ProviderAuthError(message, provider=NAME)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _signature_headers(headers: Mapping[str, str]) -> dict[str, str]:
    low = _lower(headers)
    missing = [h.upper() for h in _HEADERS if not low.get(h)]
    if missing:
        raise _auth(f"expected the PayPal signature headers, missing {', '.join(missing)}")
    return low


def check_cert_url(url: str) -> str:
    """Return *url* if it is an https URL on paypal.com or one of its subdomains.

    Raises:
        ProviderAuthError: any other scheme or host (a forged delivery could
            point at the attacker's own certificate).

    .. versionadded:: 0.1.0
    """
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not (host == "paypal.com" or host.endswith(".paypal.com")) or parts.username:
        raise _auth(f"expected PAYPAL-CERT-URL as an https URL on a paypal.com host, got {url!r}")
    return url


def _default_fetch(url: str) -> bytes:  # pragma: no cover - needs the internet
    import requests

    response = requests.get(url, timeout=(5, 10))
    response.raise_for_status()
    return response.content


def _default_roots() -> list[Any]:
    """The CA certificates ``requests`` trusts (certifi's bundle)."""
    import certifi
    from cryptography import x509

    with open(certifi.where(), "rb") as bundle, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few bundled roots have serial numbers RFC 5280 disallows
        return list(x509.load_pem_x509_certificates(bundle.read()))


def _common_names(cert: Any) -> list[str]:
    from cryptography.x509.oid import NameOID

    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


class PayPalCertificates:
    """PayPal's signing certificates, fetched from checked URLs, verified as PayPal's SDK verifies them, and cached.

    A certificate is accepted only if, as in PayPal's own SDK, its chain
    (the PEM at the URL: the signing certificate, then intermediates)
    leads to a trusted root, every certificate in it is within its validity
    period, and the signing certificate's subject common name ends in
    ``.paypal.com``. TLS to a paypal.com host is not relied on alone.

    Args:
        fetch: Gets the PEM bytes at a URL; the default uses ``requests``
            with a timeout. Tests inject their own.
        trusted: The root certificates a chain must end in (``cryptography``
            certificates); by default the CA bundle ``requests`` uses
            (certifi). Tests pass their own test root.
        clock: Returns the current UTC time, for the validity checks.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       The chain and the subject name are checked; *trusted* added.
    """

    def __init__(
        self,
        fetch: CertificateFetcher | None = None,
        *,
        trusted: Sequence[Any] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._fetch = fetch or _default_fetch
        self._trusted = list(trusted) if trusted is not None else None
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._cache: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    def _roots(self) -> list[Any]:
        with self._lock:
            if self._trusted is None:
                self._trusted = _default_roots()
            return self._trusted

    def get(self, url: str) -> Any:
        """The signing certificate at *url*, checked for host, chain, name and validity period.

        Raises:
            ProviderAuthError: a URL off paypal.com, an unreadable
                certificate, a chain that does not lead to a trusted root, a
                subject not ending in ``.paypal.com``, or a certificate in
                the chain expired or not yet valid.
        """
        from cryptography import x509

        check_cert_url(url)
        with self._lock:
            chain = self._cache.get(url)
        if chain is None:
            try:
                pem = self._fetch(url)
                chain = list(x509.load_pem_x509_certificates(pem))
            except ProviderAuthError:
                raise
            except Exception as exc:
                raise _auth(f"could not load the PayPal certificate at {url}: {exc}") from exc
            if not chain:
                raise _auth(f"expected a PEM certificate at {url}, got none")
            names = _common_names(chain[0])
            if not names or not all(n.lower().endswith(".paypal.com") for n in names):
                raise _auth(f"expected a certificate issued to a name ending in .paypal.com, got {names}")
            chain = self._chain_to_root(chain, url)
            with self._lock:
                self._cache[url] = chain
        now = self._clock()
        for cert in chain:
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                with self._lock:
                    self._cache.pop(url, None)
                raise _auth(
                    f"a certificate in the PayPal chain at {url} ({cert.subject.rfc4514_string()}) is valid from "
                    f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()}, "
                    f"not at {now.isoformat()}"
                )
        return chain[0]

    def _chain_to_root(self, chain: list[Any], url: str) -> list[Any]:
        """The path from the signing certificate to a trusted root, each link's signature checked."""
        from cryptography import x509

        roots = self._roots()
        path = [chain[0]]
        current = chain[0]
        for _ in range(10):
            if current in roots:
                return path
            for root in roots:
                if root.subject == current.issuer and _issued_by(current, root):
                    return [*path, root]
            step = next(
                (
                    c
                    for c in chain[1:]
                    if c not in path and c.subject == current.issuer and _is_ca(c, x509) and _issued_by(current, c)
                ),
                None,
            )
            if step is None:
                break
            path.append(step)
            current = step
        raise _auth(
            f"the PayPal certificate at {url} ({chain[0].subject.rfc4514_string()}) does not chain to a trusted root"
        )


def _issued_by(cert: Any, issuer: Any) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:
        return False
    return True


def _is_ca(cert: Any, x509: Any) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def signed_message(headers: Mapping[str, str], body: bytes, webhook_id: str) -> bytes:
    """The bytes PayPal signs: ``transmission_id|transmission_time|webhook_id|crc32(body)``."""
    low = _signature_headers(headers)
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{low['paypal-transmission-id']}|{low['paypal-transmission-time']}|{webhook_id}|{crc}".encode()


def verify_signature(
    headers: Mapping[str, str], body: bytes, *, webhook_id: str, certificates: PayPalCertificates
) -> None:
    """Check a delivery's signature with the certificate from its ``PAYPAL-CERT-URL``.

    Raises:
        ProviderAuthError: a header is missing, the algorithm is not
            ``SHA256withRSA``, the certificate URL or certificate is not
            acceptable, or the signature does not match.

    .. versionadded:: 0.1.0
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.hashes import SHA256

    if not webhook_id:
        raise _auth("expected the webhook id PayPal gave this endpoint, got none")
    low = _signature_headers(headers)
    algo = low["paypal-auth-algo"]
    if algo != "SHA256withRSA":
        raise _auth(f"expected PAYPAL-AUTH-ALGO 'SHA256withRSA', got {algo!r}")
    cert = certificates.get(low["paypal-cert-url"])
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise _auth(f"expected an RSA key in the PayPal certificate, got {type(key).__name__}")
    try:
        signature = base64.b64decode(low["paypal-transmission-sig"], validate=True)
    except (binascii.Error, ValueError):
        raise _auth("expected PAYPAL-TRANSMISSION-SIG as base64") from None
    try:
        key.verify(signature, signed_message(headers, body, webhook_id), padding.PKCS1v15(), SHA256())
    except InvalidSignature:
        raise _auth("the PayPal webhook signature does not match the body") from None


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ProviderRequestError("expected a PayPal webhook body in JSON", provider=NAME) from None
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str) or not event.get("id"):
        raise ProviderRequestError(
            "expected a PayPal event object with 'id' and 'event_type'", provider=NAME
        )
    return event


def verification_request(headers: Mapping[str, str], body: bytes, *, webhook_id: str) -> dict[str, Any]:
    """The body of ``POST /v1/notifications/verify-webhook-signature`` for a delivery.

    Raises:
        ProviderAuthError: a signature header is missing.
        ProviderRequestError: the body is not a PayPal event.

    .. versionadded:: 0.1.0
    """
    low = _signature_headers(headers)
    if not webhook_id:
        raise _auth("expected the webhook id PayPal gave this endpoint, got none")
    return {
        "auth_algo": low["paypal-auth-algo"],
        "cert_url": low["paypal-cert-url"],
        "transmission_id": low["paypal-transmission-id"],
        "transmission_sig": low["paypal-transmission-sig"],
        "transmission_time": low["paypal-transmission-time"],
        "webhook_id": webhook_id,
        "webhook_event": _event(body),
    }


def _time(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ProviderRequestError(f"expected an RFC 3339 create_time, got {value!r}", provider=NAME)
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ProviderRequestError(f"expected an RFC 3339 create_time, got {value!r}", provider=NAME) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _amount(read: Fields, node: Mapping[str, Any], key: str, path: str) -> Money:
    """A PayPal amount: ``{"value", "currency_code"}`` (v2) or ``{"total", "currency"}`` (v1)."""
    value = read.mapping(node, key, path)
    try:
        if "currency_code" in value:
            return from_paypal_amount(value.get("value"), value.get("currency_code"))
        return from_paypal_amount(value.get("total"), value.get("currency"))
    except (InvalidPlanError, UnsupportedByProviderError) as exc:
        raise read.error(path, "a PayPal amount (a decimal string and a currency PayPal takes)", dict(value)) from exc


def parse_events(
    body: bytes,
    *,
    timezone: str = "UTC",
    plan_for_subscription: Callable[[str], str | None] | None = None,
) -> tuple[ProviderEvent, ...]:
    """Normalize one (already verified) PayPal delivery into payplan events.

    The plan is found from the subscription's ``custom_id`` (or a sale's
    ``custom``), else from *plan_for_subscription* given the subscription
    (billing agreement) id, or for a refund, which names only the sale,
    the refunded sale id. Event types payplan does not handle, and events
    about subscriptions that are not payplan's, give no events.

    A refund payplan asked for carries its plan and whether it lowers the
    price in its ``custom_id`` (``refund_custom_id``): a goodwill
    refund's event has ``lowers_price``; a refund made in PayPal's
    dashboard carries none and stays a reversal.

    A completed sale does not say which installment it paid, so its
    ``installment`` is None (the ledger allocates it oldest first); a failed
    payment names the installment after those PayPal's
    ``billing_info.cycle_executions`` counts as completed.

    Raises:
        ProviderRequestError: the body is not a PayPal event, or lacks a
            field payplan needs.

    .. versionadded:: 0.1.0
    """
    event = _event(body)
    kind = EVENT_KINDS.get(event["event_type"])
    if kind is None:
        return ()
    read = Fields(NAME, f"paypal {event['event_type']} event {str(event['id'])[:40]!r}")
    event_id = read.text(event, "id", "id")
    resource = read.mapping(event, "resource", "resource")
    subscription = event["event_type"].startswith("BILLING.SUBSCRIPTION.")
    custom = read.optional_text(resource, "custom_id" if subscription else "custom",
                                "resource.custom_id" if subscription else "resource.custom")
    parsed = parse_custom_id(custom)
    plan_id = parsed[0] if parsed else None
    refund_of = parse_refund_custom_id(custom) if kind is EventKind.REFUNDED else None
    if refund_of is not None:
        plan_id = refund_of[0]
    resource_id = read.optional_text(resource, "id", "resource.id")
    agreement = resource_id if subscription else read.optional_text(
        resource, "billing_agreement_id", "resource.billing_agreement_id")
    lookup = agreement or read.optional_text(resource, "sale_id", "resource.sale_id")
    if plan_id is None and plan_for_subscription is not None and lookup:
        plan_id = plan_for_subscription(lookup)
    if plan_id is None:
        return ()
    stamp = read.rfc3339(event, "create_time", "create_time")
    occurred = stamp.astimezone(zoneinfo.ZoneInfo(timezone)).date()
    amount = None
    reason = None
    installment = None
    reference = resource_id if not subscription else None
    if kind is EventKind.PAYMENT_FAILED:
        info = read.mapping(resource, "billing_info", "resource.billing_info")
        failed = read.mapping(info, "last_failed_payment", "resource.billing_info.last_failed_payment")
        amount = _amount(read, failed, "amount", "resource.billing_info.last_failed_payment.amount")
        if amount.minor <= 0:
            # PayPal's failed_payment_details.amount is "the failed payment amount": a
            # failure of nothing is not a payment that failed, so it is malformed.
            raise read.error("resource.billing_info.last_failed_payment.amount", "an amount above zero", str(amount))
        reason = read.optional_text(failed, "reason_code", "resource.billing_info.last_failed_payment.reason_code")
        reference = agreement
        installment = _failed_installment(resource, parsed[1] if parsed else None)
    elif kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.REFUNDED):
        amount = _amount(read, resource, "amount", "resource.amount")
        if kind is EventKind.REFUNDED and amount.minor < 0:
            amount = -amount  # PayPal may show a refund as a negative total
        if amount.minor <= 0:
            raise read.error("resource.amount", "an amount above zero", str(amount))
    elif kind in (EventKind.PLAN_CANCELED, EventKind.PLAN_SUSPENDED):
        note = read.optional_text(resource, "status_change_note", "resource.status_change_note")
        reason = note or event["event_type"].rsplit(".", 1)[-1].lower()
        reference = agreement
    ident = f"{NAME}:{event_id}"
    if kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.REFUNDED) and resource_id:
        # The sale or refund itself, so a payment counts once whichever delivery (or forgery) carried it.
        ident = f"{NAME}:{resource_id}:{event['event_type'].rsplit('.', 1)[-1].lower()}"
    return (
        ProviderEvent(
            id=ident,
            provider=NAME,
            kind=kind,
            plan_id=plan_id,
            occurred_on=occurred,
            installment=installment,
            amount=amount,
            reference=reference,
            reason=reason,
            sequence=int(stamp.timestamp() * 1_000_000),
            lowers_price=refund_of is not None and refund_of[1],
        ),
    )


def _failed_installment(resource: Mapping[str, Any], first: int | None) -> int | None:
    info = resource.get("billing_info")
    runs = info.get("cycle_executions") if isinstance(info, Mapping) else None
    if first is None or not isinstance(runs, list):
        return None
    done = 0
    for run in runs:
        count = run.get("cycles_completed") if isinstance(run, Mapping) else None
        if type(count) is not int or count < 0:
            return None
        done += count
    return first + done
