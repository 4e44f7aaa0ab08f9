"""Translate Stripe SDK exceptions into the payplan ProviderError tree."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import stripe

from ...exceptions import (
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
)

NAME = "stripe"

#: SDK exception -> payplan exception. The most specific match (along the
#: exception's MRO) wins; anything else from the SDK becomes ProviderError.
ERRORS: dict[type[Exception], type[ProviderError]] = {
    stripe.APIConnectionError: ProviderConnectionError,
    stripe.RateLimitError: ProviderConnectionError,
    stripe.APIError: ProviderConnectionError,
    stripe.AuthenticationError: ProviderAuthError,
    stripe.PermissionError: ProviderAuthError,
    stripe.SignatureVerificationError: ProviderAuthError,
    stripe.IdempotencyError: ProviderRequestError,
    stripe.InvalidRequestError: ProviderRequestError,
    stripe.CardError: ProviderRequestError,
    stripe.StripeError: ProviderError,
}


def translate(exc: Exception) -> ProviderError:
    """The payplan exception for the SDK exception *exc* (not raised)."""
    target: type[ProviderError] = ProviderError
    for klass in type(exc).__mro__:
        if klass in ERRORS:
            target = ERRORS[klass]
            break
    status = getattr(exc, "http_status", None)
    retryable: bool | None = None
    if isinstance(exc, stripe.StripeError):
        if isinstance(status, int) and status >= 500:
            target, retryable = ProviderConnectionError, True
        elif status == 409:  # a concurrent request with the same key: try again later
            retryable = True
    code = getattr(exc, "code", None)
    message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
    request_id = getattr(exc, "request_id", None)
    return target(
        f"stripe: {type(exc).__name__}: {message}",
        provider=NAME,
        provider_code=code if isinstance(code, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        retryable=retryable,
    )


@contextlib.contextmanager
def stripe_errors() -> Iterator[None]:
    """Re-raise any Stripe SDK exception as its payplan equivalent, ``from`` the original."""
    try:
        yield
    except stripe.StripeError as exc:
        raise translate(exc) from exc
