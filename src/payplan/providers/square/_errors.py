"""Square SDK exceptions translated into the payplan :class:`~payplan.ProviderError` tree."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pydantic
from square.core.api_error import ApiError

from ...exceptions import (
    PayplanError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
)

__all__ = ["translate_errors"]

PROVIDER = "square"

#: Statuses after which the same call, with the same idempotency key, may be tried again.
_RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504})


def _first_error(exc: ApiError) -> tuple[str | None, str | None]:
    errors: list[Any] = list(getattr(exc, "errors", None) or [])
    if not errors:
        return None, None
    first = errors[0]
    code = getattr(first, "code", None)
    detail = getattr(first, "detail", None)
    return (str(code) if code else None), (str(detail) if detail else None)


def _request_id(exc: ApiError) -> str | None:
    headers = getattr(exc, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() in ("square-request-id", "x-request-id"):
            return str(value)
    return None


@contextlib.contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Run one Square call; turn what the SDK raises into payplan errors.

    * 401 and 403 become :class:`~payplan.ProviderAuthError`;
    * 408, 409, 429 and 5xx become :class:`~payplan.ProviderConnectionError`
      (retryable: send the same call with the same idempotency key);
    * any other non-2xx answer becomes :class:`~payplan.ProviderRequestError`
      with Square's error code (``VERSION_MISMATCH``, ``INVALID_VALUE``...);
    * a timeout or a dropped connection becomes
      :class:`~payplan.ProviderConnectionError`;
    * an answer the SDK cannot read becomes :class:`~payplan.ProviderError`.

    The original exception is kept as ``__cause__``.
    """
    try:
        yield
    except ApiError as exc:
        status = exc.status_code
        code, detail = _first_error(exc)
        message = f"square {action}: HTTP {status}" + (f" {code}" if code else "") + (
            f": {detail}" if detail else ""
        )
        request_id = _request_id(exc)
        if status in (401, 403):
            raise ProviderAuthError(
                message, provider=PROVIDER, provider_code=code, request_id=request_id
            ) from exc
        if status is None or status in _RETRYABLE or status >= 500:
            raise ProviderConnectionError(
                message, provider=PROVIDER, provider_code=code, request_id=request_id
            ) from exc
        raise ProviderRequestError(
            message, provider=PROVIDER, provider_code=code, request_id=request_id
        ) from exc
    except httpx.TimeoutException as exc:
        raise ProviderConnectionError(
            f"square {action}: no answer in time ({type(exc).__name__})", provider=PROVIDER
        ) from exc
    except httpx.TransportError as exc:
        raise ProviderConnectionError(
            f"square {action}: connection failed ({type(exc).__name__}: {exc})", provider=PROVIDER
        ) from exc
    except (pydantic.ValidationError, ValueError) as exc:
        if isinstance(exc, PayplanError):
            raise
        raise ProviderError(
            f"square {action}: expected a Square response, got one the SDK cannot read ({exc})",
            provider=PROVIDER,
        ) from exc
