"""payplan.web: the webhook function, and the WSGI and ASGI apps driven by the frameworks' own test clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payplan import REFERENCE_CATALOG_TOML, Catalog, PaymentReceived
from payplan.providers import Payer
from payplan.store import MemoryStore
from payplan.testing import SandboxProvider
from payplan.web import CHUNK, DEFAULT_MAX_BODY, WebhookASGI, WebhookWSGI, handle_webhook, read_limited

BOOKED = dt.date(2026, 12, 1)


@pytest.fixture
def world() -> tuple[MemoryStore, SandboxProvider, tuple[dict[str, str], bytes]]:
    """A store holding Pack A, the sandbox that charged its deposit, and that charge's signed delivery."""
    store = MemoryStore()
    sandbox = SandboxProvider(BOOKED)
    plan = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"].quote(
        "booking-42", booked=BOOKED, session=dt.date(2027, 4, 15)
    )
    store.add_plan(plan)
    binding = sandbox.publish(plan, Payer(payment_method_id="pm_card_visa"))
    sandbox.charge(binding, plan, 1)
    return store, sandbox, sandbox.delivery(sandbox.events[-1])


def paid(store: MemoryStore) -> int:
    return sum(e.amount.minor for e in store.load("booking-42").ledger if isinstance(e, PaymentReceived))


class TestHandleWebhook:
    def test_applies_once(self, world: Any) -> None:
        """A signed delivery is applied (200); the same delivery again is a duplicate and adds nothing."""
        store, sandbox, (headers, body) = world
        status, answer = handle_webhook(store, sandbox, headers, body)
        assert status == 200
        assert json.loads(answer)["outcome"] == "applied"
        assert paid(store) == 50000
        status, answer = handle_webhook(store, sandbox, headers, body)
        assert (status, json.loads(answer)["outcome"]) == (200, "duplicate")
        assert paid(store) == 50000

    def test_forged_changes_nothing(self, world: Any) -> None:
        """A body changed after signing is refused (401) and nothing is stored."""
        store, sandbox, (headers, body) = world
        status, _ = handle_webhook(store, sandbox, headers, body.replace(b"50000", b"90000"))
        assert status == 401
        assert paid(store) == 0
        assert store.inbox() == ()

    def test_too_large(self, world: Any) -> None:
        """A body over the limit is 413, nothing stored."""
        store, sandbox, (headers, body) = world
        status, answer = handle_webhook(store, sandbox, headers, body, max_body=len(body) - 1)
        assert status == 413
        assert "at most" in json.loads(answer)["detail"]
        assert store.inbox() == ()


class CountingStream(io.BytesIO):
    """A request body that counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, n: int | None = -1) -> bytes:
        chunk = super().read(n)
        self.taken += len(chunk)
        return chunk


class TestReadLimited:
    def test_declared_too_large_is_not_read(self) -> None:
        """A Content-Length over the limit is refused without reading a byte."""
        stream = CountingStream(b"x" * 5000)
        got = read_limited(stream.read, "5000", 1000)
        assert isinstance(got, tuple)
        assert got[0] == 413
        assert stream.taken == 0

    def test_bad_content_length(self) -> None:
        """A Content-Length that is not digits is a 400 naming it."""
        got = read_limited(CountingStream(b"").read, "12x", 1000)
        assert isinstance(got, tuple)
        assert got[0] == 400
        assert "12x" in json.loads(got[1])["detail"]

    @settings(max_examples=150, deadline=None)
    @given(size=st.integers(0, 3 * CHUNK), limit=st.integers(0, 2 * CHUNK), declared=st.booleans())
    def test_never_reads_past_the_limit(self, size: int, limit: int, declared: bool) -> None:
        """Whatever the sizes: the body comes back whole when it fits, else 413, and never more than limit + 1 bytes are read."""
        stream = CountingStream(bytes(i % 251 for i in range(size)))
        got = read_limited(stream.read, str(size) if declared else None, limit)
        if size <= limit:
            assert got == stream.getvalue()
        else:
            assert isinstance(got, tuple)
            assert got[0] == 413
        assert stream.taken <= limit + 1
        if declared and size > limit:
            assert stream.taken == 0


class TestWSGI:
    def client(self, store: MemoryStore, sandbox: SandboxProvider, **options: Any) -> Any:
        from werkzeug.test import Client

        return Client(WebhookWSGI(store, {"sandbox": sandbox}, **options))

    def test_post(self, world: Any) -> None:
        """POST /sandbox applies the delivery; the answer is JSON with the outcome."""
        pytest.importorskip("werkzeug")
        store, sandbox, (headers, body) = world
        response = self.client(store, sandbox).post("/sandbox", data=body, headers=headers)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.json["outcome"] == "applied"
        assert paid(store) == 50000

    def test_routes(self, world: Any) -> None:
        """An unknown provider is 404, a GET is 405; both name what was expected."""
        pytest.importorskip("werkzeug")
        store, sandbox, (headers, body) = world
        client = self.client(store, sandbox)
        missing = client.post("/stripe", data=body, headers=headers)
        assert missing.status_code == 404
        assert "sandbox" in missing.json["detail"]
        assert client.get("/sandbox").status_code == 405
        assert paid(store) == 0

    def test_large_body_refused_unread(self, world: Any) -> None:
        """A declared body over the limit is 413 and the input stream is never read."""
        store, sandbox, (headers, _) = world
        stream = CountingStream(b"{" * 2048)
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/sandbox", "CONTENT_LENGTH": "2048", "wsgi.input": stream,
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
        }
        statuses = []
        app = WebhookWSGI(store, {"sandbox": sandbox}, max_body=1024)
        out = b"".join(app(environ, lambda status, _headers: statuses.append(status)))
        assert len(statuses) == 1
        assert statuses[0].startswith("413 ")
        assert json.loads(out)["outcome"] == "too_large"
        assert stream.taken == 0

    def test_providers_checked(self) -> None:
        """Mounting nothing, or something that is not a Provider, is refused at once."""
        with pytest.raises(ValueError, match="at least one provider"):
            WebhookWSGI(MemoryStore(), {})
        with pytest.raises(TypeError, match="payplan Provider for 'stripe'"):
            WebhookWSGI(MemoryStore(), {"stripe": object()})  # type: ignore[dict-item]


class TestASGI:
    def test_post_with_starlette_client(self, world: Any) -> None:
        """Starlette's TestClient: POST /sandbox applies once, GET is 405, unknown is 404."""
        testclient = pytest.importorskip("starlette.testclient")
        store, sandbox, (headers, body) = world
        with testclient.TestClient(WebhookASGI(store, {"sandbox": sandbox})) as client:
            response = client.post("/sandbox", content=body, headers=headers)
            assert (response.status_code, response.json()["outcome"]) == (200, "applied")
            again = client.post("/sandbox", content=body, headers=headers)
            assert again.json()["outcome"] == "duplicate"
            assert client.get("/sandbox").status_code == 405
            assert client.post("/square", content=body, headers=headers).status_code == 404
        assert paid(store) == 50000

    def test_streamed_body_cut_at_the_limit(self, world: Any) -> None:
        """A body without Content-Length is received in chunks and refused once past the limit, the rest unread."""
        store, sandbox, (headers, _) = world
        app = WebhookASGI(store, {"sandbox": sandbox}, max_body=1000)
        chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True} for _ in range(10)]
        taken = []
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            taken.append(1)
            return chunks[len(taken) - 1]

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/webhooks/sandbox",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
        asyncio.run(app(scope, receive, send))
        assert sent[0]["status"] == 413
        assert len(taken) == 3  # 1200 bytes received, 2800 never read
        assert store.inbox() == ()

    def test_declared_too_large(self, world: Any) -> None:
        """A Content-Length over the limit is refused before any body message is received."""
        store, sandbox, _ = world
        app = WebhookASGI(store, {"sandbox": sandbox})
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            raise AssertionError("the body must not be received")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/sandbox",
                 "headers": [(b"content-length", str(DEFAULT_MAX_BODY + 1).encode())]}
        asyncio.run(app(scope, receive, send))
        assert sent[0]["status"] == 413
