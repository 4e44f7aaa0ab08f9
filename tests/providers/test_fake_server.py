"""The shared fake server records requests and injects the faults the contract relies on."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from payplan.testing.server import FakeServer, Fault, RecordedRequest, Reply


def _echo(request: RecordedRequest) -> Reply:
    return Reply.json({"path": request.path, "n": len(request.body)})


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    """One echoing server for this module."""
    with FakeServer(_echo) as s:
        yield s


def post(server: FakeServer, path: str, body: bytes = b"a=1") -> tuple[int, bytes]:
    """POST *body* to *path* on a fresh connection; raise on a dropped connection."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("POST", path, body, {"Idempotency-Key": "k1", "Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class TestFakeServer:
    """Recording, replies and faults."""

    def test_records_method_path_headers_and_body(self, server: FakeServer) -> None:
        """Every request is recorded with its method, path, query, headers and raw body."""
        server.clear()
        status, body = post(server, "/v1/things?x=2", b"a%5Bb%5D=3")
        assert status == 200
        assert json.loads(body) == {"path": "/v1/things", "n": 10}
        (r,) = server.requests()
        assert (r.method, r.path, r.query_params(), r.form()) == ("POST", "/v1/things", {"x": "2"}, {"a[b]": "3"})
        assert r.header("idempotency-key") == "k1"
        assert r.fault is None

    def test_injected_500_skips_the_responder(self, server: FakeServer) -> None:
        """An injected 500 answers once without calling the responder, then normal service resumes."""
        server.clear()
        calls: list[str] = []
        original = server.responder
        server.responder = lambda r: (calls.append(r.path), Reply.json({}))[1]
        try:
            server.inject(Fault.HTTP_500)
            assert post(server, "/a")[0] == 500
            assert post(server, "/b")[0] == 200
        finally:
            server.responder = original
        assert calls == ["/b"]
        assert [r.fault for r in server.requests()] == [Fault.HTTP_500, None]

    @pytest.mark.parametrize(("fault", "handled"), [(Fault.DROP, False), (Fault.DROP_AFTER, True)])
    def test_dropped_connection(self, server: FakeServer, fault: Fault, handled: bool) -> None:
        """A drop closes the connection without an answer, before or after the responder ran."""
        server.clear()
        calls: list[str] = []
        original = server.responder
        server.responder = lambda r: (calls.append(r.path), Reply.json({}))[1]
        try:
            server.inject(fault, when=lambda r: r.path == "/target")
            assert post(server, "/other")[0] == 200
            with pytest.raises((http.client.HTTPException, ConnectionError)):
                post(server, "/target")
        finally:
            server.responder = original
        assert calls == (["/other", "/target"] if handled else ["/other"])
