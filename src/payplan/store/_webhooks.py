"""The webhook inbox's front door: one function from a request to the HTTP answer."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping

from attrs import frozen

from ..exceptions import ProviderAuthError, ProviderError, StoreError
from ..providers import Provider
from ._model import InboxStatus, Store

__all__ = ["DEFAULT_MAX_BODY", "WebhookOutcome", "WebhookResponse", "receive_webhook"]

DEFAULT_MAX_BODY = 512 * 1024
"""The largest webhook body :func:`receive_webhook` reads (512 KiB; providers send a few KiB).

.. versionadded:: 0.1.0
"""


class WebhookOutcome(enum.Enum):
    """What happened to a webhook request, each with its HTTP status.

    .. versionadded:: 0.1.0
    """

    APPLIED = ("applied", 200)
    """Every event it carries is now in the ledger."""
    DUPLICATE = ("duplicate", 200)
    """Already applied before: nothing changed (the provider may stop retrying)."""
    IGNORED = ("ignored", 200)
    """A verified event type payplan does not use; nothing stored."""
    DEFERRED = ("deferred", 202)
    """Stored; the ledger cannot take it yet (a refund before its payment); it applies later by itself."""
    FORGED = ("forged", 401)
    """The signature is missing, wrong or stale; nothing stored."""
    MALFORMED = ("malformed", 400)
    """Signed, but not an event payplan can read; nothing stored."""
    TOO_LARGE = ("too_large", 413)
    """The body is larger than the limit; not read, nothing stored."""
    FAILED = ("failed", 422)
    """Stored as failed with its error (an unknown plan, another currency); retried on redelivery."""
    UNAVAILABLE = ("unavailable", 503)
    """The store failed; nothing was written: the provider should retry."""

    @property
    def word(self) -> str:
        """The outcome as one lower-case word."""
        return self.value[0]

    @property
    def status(self) -> int:
        """The HTTP status the endpoint answers."""
        return self.value[1]


@frozen
class WebhookResponse:
    """What a webhook endpoint should answer.

    Attributes:
        outcome: What happened.
        events: The ids of the events the request carried (none when it was refused).
        detail: A short explanation for logs and the provider's dashboard
            (never the body, never a secret).

    .. versionadded:: 0.1.0
    """

    outcome: WebhookOutcome
    events: tuple[str, ...] = ()
    detail: str = ""

    @property
    def status(self) -> int:
        """The HTTP status code: 2xx applied/kept, 4xx refused, 5xx retry."""
        return self.outcome.status

    @property
    def body(self) -> bytes:
        """A small JSON body: ``{"outcome": ..., "events": [...], "detail": ...}``."""
        return json.dumps(
            {"outcome": self.outcome.word, "events": list(self.events), "detail": self.detail}
        ).encode()

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The response headers (JSON content type)."""
        return (("content-type", "application/json"),)


_RANK = {
    InboxStatus.FAILED: WebhookOutcome.FAILED,
    InboxStatus.DEFERRED: WebhookOutcome.DEFERRED,
    InboxStatus.APPLIED: WebhookOutcome.APPLIED,
}


def receive_webhook(
    store: Store,
    provider: Provider,
    headers: Mapping[str, str],
    body: bytes,
    *,
    max_body: int = DEFAULT_MAX_BODY,
) -> WebhookResponse:
    """Verify a webhook delivery, keep its events in the store's inbox and apply them.

    Each event is stored unique on ``(provider, event id)`` in the same
    transaction that records it in the plan's ledger (:meth:`Store.ingest`),
    so a delivery repeated, reordered or sent to two workers at once counts
    once. What to answer:

    ====== ==========================================================
    200    applied, already applied, or an event type payplan ignores
    202    kept as deferred: applied by itself once it can
    400    signed but not an event payplan can read (nothing stored)
    401    a forged, unsigned or stale request (nothing stored)
    413    a body over *max_body* bytes (not read, nothing stored)
    422    kept as failed with its error (unknown plan, other currency);
           the provider's redelivery, or :meth:`Store.retry_pending`,
           tries it again
    503    the store failed; nothing written, so the provider retries
    ====== ==========================================================

    Args:
        store: Where the inbox and the ledgers live.
        provider: The adapter that verifies and reads this provider's deliveries.
        headers: The request headers (any case).
        body: The raw request body, exactly as received.
        max_body: The largest body accepted, in bytes.

    Returns:
        The :class:`WebhookResponse` to send back.

    .. versionadded:: 0.1.0
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        return WebhookResponse(WebhookOutcome.MALFORMED, detail=f"expected the raw body as bytes, got {type(body).__name__}")
    raw = bytes(body)
    if len(raw) > max_body:
        return WebhookResponse(
            WebhookOutcome.TOO_LARGE, detail=f"expected a body of at most {max_body} bytes, got {len(raw)}"
        )
    try:
        events = provider.parse_webhook(headers, raw)
    except ProviderAuthError as exc:
        return WebhookResponse(WebhookOutcome.FORGED, detail=str(exc))
    except ProviderError as exc:
        return WebhookResponse(WebhookOutcome.MALFORMED, detail=str(exc))
    if not events:
        return WebhookResponse(WebhookOutcome.IGNORED, detail="an event type payplan does not use")
    ids = tuple(e.id for e in events)
    outcome = WebhookOutcome.DUPLICATE
    details = []
    for event in events:
        try:
            result = store.ingest(event, raw)
        except StoreError as exc:
            return WebhookResponse(WebhookOutcome.UNAVAILABLE, ids, f"the store failed, retry: {exc}")
        if result.duplicate:
            continue
        got = _RANK[result.status]
        if result.error:
            details.append(f"{event.id}: {result.error}")
        if outcome is WebhookOutcome.DUPLICATE or got.status > outcome.status:
            outcome = got
    return WebhookResponse(outcome, ids, "; ".join(details))
