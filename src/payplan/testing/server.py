"""A recording loopback HTTP server that provider fakes build on.

One :class:`FakeServer` is a ``ThreadingHTTPServer`` bound to
``127.0.0.1:0`` (a free port) and served from a daemon thread. It records
every request it receives (method, path, query, headers, raw body) and asks
a pluggable *responder* what to answer. Tests can make the next N requests
fail with a 500, a dropped connection before the request is handled, or a
dropped connection *after* it was handled (the case idempotency keys exist
for: the provider did the work, the client never heard).

Usage, once per test session::

    @pytest.fixture(scope="session")
    def square_server():
        with FakeServer(FakeSquare()) as server:    # any callable Request -> Reply
            yield server

    def test_retry(square_server):
        square_server.clear()
        square_server.inject(Fault.HTTP_500, count=1)
        ...
        assert [r.path for r in square_server.requests()] == [...]

The responder is called on the server thread, one request at a time (a lock
serializes them, so a stateful fake needs no locking of its own).

API summary:

* ``FakeServer(responder=None)``: *responder* is ``Callable[[RecordedRequest], Reply]``;
  without one every request gets ``200 {}``. ``server.responder = ...`` swaps it.
* ``server.url``: ``"http://127.0.0.1:<port>"`` (no trailing slash).
* ``start()`` / ``stop()`` or ``with FakeServer(...) as server``.
* ``requests()``: a list copy of everything received so far, in order,
  including faulted requests (their ``fault`` is set).
* ``clear()``: forget recorded requests and pending faults.
* ``inject(fault, count=1)``: the next *count* requests get *fault*
  (:class:`Fault`), or ``inject(fault, count, when=predicate)`` to hit only
  requests the predicate selects.
* :class:`RecordedRequest` has ``header(name)`` (case-insensitive),
  ``json()``, ``form()`` (``application/x-www-form-urlencoded`` as a flat
  ``{"a[b][0]": "v"}`` dict) and ``query_params()``.
* :class:`Reply` is ``Reply(status=200, body=<dict | list | str | bytes>, headers={})``;
  ``Reply.json(obj, status)`` is a shortcut.
"""

from __future__ import annotations

import contextlib
import enum
import json
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ClockedFake", "Delivery", "Fault", "FakeServer", "RecordedRequest", "Reply", "Responder"]


class Fault(enum.Enum):
    """A failure the server can inject into the next requests."""

    HTTP_500 = "500"
    """Answer 500 without calling the responder (nothing was created)."""
    DROP = "drop"
    """Close the connection without answering, before the responder runs."""
    DROP_AFTER = "drop_after"
    """Call the responder (the work is done), then close without answering."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    fault: Fault | None = None

    def header(self, name: str) -> str | None:
        """The header *name*, case-insensitively, or None."""
        low = name.lower()
        for key, value in self.headers.items():
            if key.lower() == low:
                return value
        return None

    def json(self) -> Any:
        """The body parsed as JSON ({} for an empty body)."""
        return json.loads(self.body) if self.body else {}

    def form(self) -> dict[str, str]:
        """The body parsed as a flat form (``{"phases[0][duration][interval]": "month"}``)."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def query_params(self) -> dict[str, str]:
        """The query string as a flat dict."""
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class Reply:
    """What the responder answers."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        """A JSON reply."""
        return cls(status, obj, dict(headers or {}))

    def encode(self) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers to send."""
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            raw = self.body
        elif isinstance(self.body, str):
            raw = self.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            raw = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        return raw, headers


Responder = Callable[[RecordedRequest], Reply]


@dataclass(frozen=True)
class Delivery:
    """One signed webhook delivery a clocked fake queued: what the provider would POST to the site.

    Hand it to the adapter (``provider.parse_webhook(d.headers, d.body)``)
    or POST it to the site's own endpoint.

    .. versionadded:: 0.3.0
    """

    headers: Mapping[str, str]
    body: bytes

    @property
    def event(self) -> Any:
        """The body parsed as JSON (the provider's event object)."""
        return json.loads(self.body)

    @property
    def type(self) -> str:
        """The provider's event type (Square ``type``, PayPal ``event_type``, Stripe ``type``)."""
        event = self.event
        return str(event.get("event_type") or event.get("type") or "")


class ClockedFake:
    """What the clocked fakes share: the queue of signed deliveries, and walking the clock through due work.

    A fake sets ``self._lock`` (a ``threading.RLock``) and ``self._queue``
    (a list of :class:`Delivery`) in its ``__init__``.

    .. versionadded:: 0.3.0
    """

    _lock: threading.RLock
    _queue: list[Delivery]

    def deliveries(self) -> list[Delivery]:
        """The queued deliveries not taken yet, oldest first (a copy)."""
        with self._lock:
            return list(self._queue)

    def take_deliveries(self) -> list[Delivery]:
        """Every queued delivery, oldest first, emptying the queue."""
        with self._lock:
            out, self._queue = self._queue, []
            return out

    def _walk(self, step: Callable[[], bool], deliver: Callable[[Delivery], object] | None) -> list[Delivery]:
        """Run *step* under the lock until it says nothing more is due; returns (and takes) the deliveries.

        *step* does the next piece of work due before the target and returns
        True, or moves the clock to the target and returns False. With
        *deliver*, each delivery is handed over as it happens, outside the
        lock (*deliver* may call the fake), the clock standing at its time.
        """
        if deliver is not None:
            for delivery in self.take_deliveries():
                deliver(delivery)
        more = True
        while more:
            with self._lock:
                more = step()
            if deliver is not None:
                for delivery in self.take_deliveries():
                    deliver(delivery)
        return self.take_deliveries()


def _ok(_: RecordedRequest) -> Reply:
    return Reply.json({})


@dataclass
class _Pending:
    fault: Fault
    count: int
    when: Callable[[RecordedRequest], bool] | None


class FakeServer:
    """A recording HTTP server on 127.0.0.1 with a pluggable responder and fault injection."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or _ok
        self._lock = threading.Lock()
        self._handle_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Pending] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> FakeServer:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is not None:
            return self
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                pass

            def _any(self) -> None:
                server._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- recording and faults -----------------------------------------------

    def requests(self) -> list[RecordedRequest]:
        """Everything received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget the recorded requests and any pending faults."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    def inject(
        self,
        fault: Fault,
        count: int = 1,
        *,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Make the next *count* requests (those *when* selects, if given) fail with *fault*."""
        with self._lock:
            self._faults.append(_Pending(fault, count, when))

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            for pending in self._faults:
                if pending.count > 0 and (pending.when is None or pending.when(request)):
                    pending.count -= 1
                    return pending.fault
            return None

    # -- serving --------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=parts.query,
            headers=dict(handler.headers.items()),
            body=body,
        )
        fault = self._take_fault(request)
        with self._lock:
            self._requests.append(
                request if fault is None else RecordedRequest(**{**request.__dict__, "fault": fault})
            )
        if fault is Fault.DROP:
            self._drop(handler)
            return
        if fault is Fault.HTTP_500:
            reply = Reply.json({"error": {"message": "injected server error", "type": "api_error"}}, 500)
        else:
            with self._handle_lock:
                try:
                    reply = self.responder(request)
                except Exception as exc:  # a bug in a fake must show up, not hang the client
                    reply = Reply.json({"error": {"message": f"fake crashed: {exc!r}", "type": "api_error"}}, 599)
            if fault is Fault.DROP_AFTER:
                self._drop(handler)
                return
        raw, headers = reply.encode()
        handler.send_response(reply.status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)
        handler.wfile.flush()

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)
        handler.connection.close()
