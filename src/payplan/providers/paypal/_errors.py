"""Translate both PayPal SDKs' errors (and requests' transport errors) into payplan's tree."""

from __future__ import annotations

import json
from typing import Any

from ...exceptions import (
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
)
from ._mapping import NAME

__all__ = ["from_status", "translate"]


def _details(content: object) -> tuple[str | None, str | None, str]:
    """(code, debug id, message) from a PayPal error body (v1 ``name``/``details`` or OAuth ``error``)."""
    data: Any = content
    if isinstance(content, (bytes, str)):
        try:
            data = json.loads(content)
        except ValueError:
            return None, None, str(content)[:300]
    if not isinstance(data, dict):
        return None, None, str(data)[:300]
    code = data.get("name") or data.get("error")
    details = data.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        issue = details[0].get("issue")
        where = details[0].get("field")
        code = issue or code
        text = details[0].get("description") or data.get("message") or ""
        message = f"{text} ({where})" if where else str(text)
    else:
        message = str(data.get("message") or data.get("error_description") or "")
    debug = data.get("debug_id")
    return (str(code) if code else None), (str(debug) if debug else None), message


def from_status(status: int, content: object, *, action: str) -> ProviderError:
    """The payplan error for an HTTP *status* PayPal answered *action* with.

    401/403 are auth errors; 408, 429 and 5xx are retryable connection
    errors; every other 4xx is a request error (a mapping bug or a bad
    configuration). The message carries PayPal's issue code and debug id.
    """
    code, debug, message = _details(content)
    text = f"PayPal refused {action}: HTTP {status}" + (f" {code}" if code else "") + (
        f": {message}" if message else ""
    )
    if status in (401, 403):
        return ProviderAuthError(text, provider=NAME, provider_code=code, request_id=debug)
    if status in (408, 429) or status >= 500:
        return ProviderConnectionError(text, provider=NAME, provider_code=code, request_id=debug)
    return ProviderRequestError(text, provider=NAME, provider_code=code, request_id=debug)


def translate(exc: BaseException, *, action: str) -> ProviderError | None:
    """The payplan error for an exception raised by either PayPal SDK or ``requests``.

    None for anything else (a bug stays a bug, not a retryable error).
    """
    if isinstance(exc, ProviderError):
        return exc
    try:
        import requests
    except ImportError:  # pragma: no cover - both SDKs depend on requests
        requests = None  # type: ignore[assignment]
    if requests is not None and isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return ProviderConnectionError(f"PayPal did not answer {action}: {type(exc).__name__}: {exc}", provider=NAME)
    # paypalrestsdk: exceptions.ConnectionError(response, content)
    response = getattr(exc, "response", None)
    status = getattr(exc, "response_code", None) or getattr(response, "status_code", None)
    if isinstance(status, int):
        content = getattr(exc, "content", None)
        if content is None:
            content = getattr(response, "text", None)
        return from_status(status, content, action=action)
    if isinstance(exc, OSError) or (requests is not None and isinstance(exc, requests.RequestException)):
        return ProviderConnectionError(
            f"PayPal call {action} failed without an answer: {type(exc).__name__}: {exc}", provider=NAME
        )
    return None
