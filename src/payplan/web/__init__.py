"""Webhook endpoints for any framework: one function, an ASGI app and a WSGI app.

Providers sign the raw bytes of a delivery, so an endpoint must hand those
bytes over untouched. :func:`handle_webhook` turns ``(provider, headers, raw
body)`` into ``(HTTP status, body)`` through the store's inbox
(:func:`payplan.store.receive_webhook`); :class:`WebhookASGI` and
:class:`WebhookWSGI` only adapt it, mounting one endpoint per provider
(``POST /stripe``, ``POST /square``, ``POST /paypal``, or whatever names the
site gives them). Both refuse a body over the size limit with 413 before
reading it whole: a ``Content-Length`` above the limit is refused unread, and
a body without one is read in chunks and refused as soon as it passes the
limit.

No web framework is imported here; ``docs/web-*.md`` shows the endpoint in
FastAPI/Starlette, Flask and Django.

```python
from payplan.store import MemoryStore
from payplan.web import WebhookWSGI

app = WebhookWSGI(store, {"stripe": stripe_provider, "square": square_provider})
# mount app at /webhooks: POST /webhooks/stripe, POST /webhooks/square
```

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, Any

from ..providers import Provider
from ..store import DEFAULT_MAX_BODY, Store, receive_webhook

__all__ = [
    "DEFAULT_MAX_BODY",
    "WebhookASGI",
    "WebhookWSGI",
    "handle_webhook",
    "read_limited",
]

#: Bytes read from a request stream at a time.
CHUNK = 64 * 1024

Headers = Mapping[str, str]


def handle_webhook(
    store: Store,
    provider: Provider,
    headers: Headers,
    body: bytes,
    *,
    max_body: int = DEFAULT_MAX_BODY,
) -> tuple[int, bytes]:
    """Answer one webhook delivery: verify it, keep it in the store's inbox, apply it.

    The framework-free core of every endpoint: pass the request's headers
    and its raw body exactly as received (never re-encoded JSON: the
    signature is over these bytes), send back the status and the JSON body.
    The statuses are :func:`payplan.store.receive_webhook`'s: 200 applied,
    a duplicate or an ignored type; 202 deferred; 400 unreadable; 401 forged
    or stale; 413 too large; 422 kept as failed; 503 the store failed (the
    provider retries).

    Args:
        store: The site's store.
        provider: The adapter that verifies this provider's signatures.
        headers: The request headers (any case).
        body: The raw request body.
        max_body: The largest body accepted, in bytes.

    Returns:
        ``(status, body)``; the body is ``application/json``.
    """
    response = receive_webhook(store, provider, headers, body, max_body=max_body)
    return response.status, response.body


def _too_large(max_body: int, got: str) -> tuple[int, bytes]:
    detail = f"expected a body of at most {max_body} bytes, got {got}"
    return 413, json.dumps({"outcome": "too_large", "events": [], "detail": detail}).encode()


def _answer(status: int, outcome: str, detail: str) -> tuple[int, bytes]:
    return status, json.dumps({"outcome": outcome, "events": [], "detail": detail}).encode()


def _declared_length(value: str | None) -> int | None:
    """The Content-Length as an int; None when absent; -1 when it is not a number."""
    if value is None or value == "":
        return None
    value = value.strip()
    return int(value) if value.isdigit() else -1


def read_limited(
    read: Callable[[int], bytes], content_length: str | None, max_body: int
) -> bytes | tuple[int, bytes]:
    """Read a request body through *read* without ever holding more than *max_body* + 1 bytes.

    Args:
        read: The stream's ``read(n)`` (``wsgi.input.read``).
        content_length: The ``Content-Length`` header, if any.
        max_body: The largest body accepted.

    Returns:
        The body, or a ready ``(status, body)`` refusal: 413 for a declared
        or actual length over *max_body* (a declared one is refused without
        reading), 400 for a Content-Length that is not a number.
    """
    declared = _declared_length(content_length)
    if declared == -1:
        return _answer(400, "malformed", f"expected a Content-Length of digits, got {content_length!r}")
    if declared is not None and declared > max_body:
        return _too_large(max_body, f"a Content-Length of {declared}")
    want = declared if declared is not None else max_body + 1
    parts: list[bytes] = []
    got = 0
    while got < want:
        chunk = read(min(CHUNK, want - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    if got > max_body:
        return _too_large(max_body, f"more than {max_body} bytes")
    return b"".join(parts)


def _route(providers: Mapping[str, Provider], path: str, method: str) -> Provider | tuple[int, bytes]:
    # The last path segment names the provider, wherever the app is mounted.
    provider = providers.get(path.rstrip("/").rsplit("/", 1)[-1])
    if provider is None:
        known = ", ".join(sorted(providers))
        return _answer(404, "not_found", f"expected a webhook path /<provider> for one of {known}, got {path!r}")
    if method != "POST":
        return _answer(405, "method_not_allowed", f"expected POST, got {method}")
    return provider


def _check_providers(providers: Mapping[str, Provider]) -> dict[str, Provider]:
    out = dict(providers)
    if not out:
        raise ValueError("expected at least one provider to mount, got none")
    for name, provider in out.items():
        if not isinstance(provider, Provider):
            raise TypeError(f"expected a payplan Provider for {name!r}, got {type(provider).__name__}")
        if not name or "/" in name:
            raise ValueError(f"expected a provider name without '/', got {name!r}")
    return out


class WebhookWSGI:
    """A WSGI app with one webhook endpoint per provider: ``POST /<name>``.

    Mount it under any prefix (the app reads only the last path segment of
    ``PATH_INFO``). Other methods get 405, unknown names 404.

    Args:
        store: The site's store.
        providers: Endpoint name to adapter (``{"stripe": StripeProvider(...)}``).
        max_body: The largest body accepted, in bytes.

    .. versionadded:: 0.1.0
    """

    def __init__(self, store: Store, providers: Mapping[str, Provider], *, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.store = store
        self.providers = _check_providers(providers)
        self.max_body = max_body

    def __call__(self, environ: Mapping[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one request."""
        status, body = self.respond(environ)
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def respond(self, environ: Mapping[str, Any]) -> tuple[int, bytes]:
        """The ``(status, body)`` for the request in *environ*."""
        routed = _route(self.providers, str(environ.get("PATH_INFO", "")), str(environ.get("REQUEST_METHOD", "GET")))
        if isinstance(routed, tuple):
            return routed
        stream: IO[bytes] = environ["wsgi.input"]
        body = read_limited(stream.read, environ.get("CONTENT_LENGTH"), self.max_body)
        if isinstance(body, tuple):
            return body
        headers = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        return handle_webhook(self.store, routed, headers, body, max_body=self.max_body)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class WebhookASGI:
    """An ASGI app with one webhook endpoint per provider: ``POST /<name>``.

    The body is received chunk by chunk and refused with 413 as soon as it
    passes the limit (or at once, from a ``Content-Length`` over it). The
    store is synchronous, so the inbox runs in the event loop's default
    thread pool, never blocking the loop. Lifespan events are answered.

    Args:
        store: The site's store.
        providers: Endpoint name to adapter.
        max_body: The largest body accepted, in bytes.

    .. versionadded:: 0.1.0
    """

    def __init__(self, store: Store, providers: Mapping[str, Provider], *, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.store = store
        self.providers = _check_providers(providers)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection's scope."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            raise ValueError(f"expected an http or lifespan scope, got {scope['type']!r}")
        status, body = await self.respond(scope, receive)
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})

    async def respond(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        """The ``(status, body)`` for the request of *scope*."""
        routed = _route(self.providers, str(scope.get("path", "")), str(scope.get("method", "GET")))
        if isinstance(routed, tuple):
            return routed
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        body = await _receive_limited(receive, headers.get("content-length"), self.max_body)
        if isinstance(body, tuple):
            return body
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: handle_webhook(self.store, routed, headers, body, max_body=self.max_body)
        )


async def _receive_limited(receive: Receive, content_length: str | None, max_body: int) -> bytes | tuple[int, bytes]:
    """:func:`read_limited` for ASGI ``http.request`` messages."""
    declared = _declared_length(content_length)
    if declared == -1:
        return _answer(400, "malformed", f"expected a Content-Length of digits, got {content_length!r}")
    if declared is not None and declared > max_body:
        return _too_large(max_body, f"a Content-Length of {declared}")
    parts: list[bytes] = []
    got = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _answer(400, "malformed", "the client disconnected before the body ended")
        chunk = message.get("body", b"")
        got += len(chunk)
        if got > max_body:
            return _too_large(max_body, f"more than {max_body} bytes")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)
