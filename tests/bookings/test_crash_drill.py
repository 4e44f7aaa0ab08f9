"""The lifecycle crash drill (issue #21 item 2): a worker SIGKILLed at every point of a booking's life.

See :mod:`.crash_drill`. Each run starts from an empty store (SQLite and
PostgreSQL) and a fresh fake Stripe; the worker is killed once (after a
store write, or inside a Stripe request after Stripe did its work), a
second worker runs the same life again, and the store and Stripe's objects
must equal those of a run that was never killed.

``make test`` runs a sample: every step boundary (each step's reservation
and its end) and every tenth Stripe request. ``make drills`` (``PAYPLAN_DRILLS=full``)
runs every write and every request on both back ends.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("stripe", reason="the drill drives the Stripe adapter (payplan[stripe])")
pytest.importorskip("sqlalchemy", reason="the drill needs payplan[store]")

from payplan.store import MemoryStore, Store

from . import crash_drill

pytestmark = pytest.mark.slow
FULL = os.environ.get("PAYPLAN_DRILLS") == "full"
BOUNDARIES = {"reserve_step", "finish_step"}


@pytest.fixture(scope="module")
def baseline() -> tuple[dict[str, Any], list[str], int]:
    """The life never killed, on the memory store: its state, its writes, its Stripe requests."""
    return crash_drill.baseline_run(MemoryStore)


@pytest.fixture(scope="module")
def workers() -> Any:
    """Worker processes forked from a server that has payplan, the SDK and the drill imported."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([crash_drill.__name__, "payplan.store.sql", "sqlalchemy", "stripe"])
    return ctx


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from payplan.store.sql import upgrade

    path = tmp_path_factory.mktemp("drill") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _points(names: list[str], requests: int) -> list[tuple[str, int]]:
    """The kill points: ("write", k) after the k-th store write, ("request", r) inside the r-th Stripe request."""
    writes = [
        ("write", k) for k, name in enumerate(names, 1) if FULL or name in BOUNDARIES
    ]
    inside = [("request", r) for r in range(1, requests + 1) if FULL or r % 10 == 1]
    return writes + inside


class _Backend:
    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp: Path) -> None:
        self.kind = kind
        self.request = request
        self.tmp = tmp
        self.n = 0

    def fresh(self) -> str:
        """An empty store at the schema head; its URL."""
        self.n += 1
        if self.kind == "sqlite":
            path = self.tmp / f"run-{self.n}.db"
            shutil.copy(self.request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        from store.conftest import empty_pg

        url = str(self.request.getfixturevalue("pg_database"))
        empty_pg(url)
        return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> _Backend:
    return _Backend(request.param, request, tmp_path)


def _run(ctx: Any, fake: crash_drill.KillingStripe, url: str, server_url: str, kill_after: int | None) -> int:
    proc = ctx.Process(target=crash_drill.worker, args=(url, server_url, kill_after))
    proc.start()
    fake.pid = proc.pid
    proc.join(120)
    if proc.is_alive():  # pragma: no cover - a hung worker fails the drill, not the machine
        proc.kill()
        proc.join()
        pytest.fail(f"worker hung (kill_after={kill_after}, kill_at={fake.kill_at})")
    return int(proc.exitcode)


def test_a_worker_killed_anywhere_is_finished_once(
    backend: _Backend, baseline: tuple[dict[str, Any], list[str], int], workers: Any
) -> None:
    """Killed after any store write or inside any Stripe request, the rerun ends as if never killed."""
    expected, names, requests = baseline
    failures: dict[str, list[str]] = {}
    points = _points(names, requests)
    for kind, n in points:
        url = backend.fresh()
        fake = crash_drill.KillingStripe()
        server = fake.serve()
        try:
            if kind == "request":
                fake.kill_at = n
            first = _run(workers, fake, url, server.url, n if kind == "write" else None)
            assert first == -signal.SIGKILL, f"{kind} {n}: the worker was not killed (exit {first})"
            fake.kill_at = None
            second = _run(workers, fake, url, server.url, None)
            assert second == 0, f"{kind} {n}: the rerun failed (exit {second})"
            store = Store.open(url)
            try:
                problems = crash_drill.check(crash_drill.state(store, fake.fake), expected)
            finally:
                store.close()
            if problems:
                label = f"{kind} {n}" + (f" ({names[n - 1]})" if kind == "write" else "")
                failures[label] = problems
        finally:
            server.stop()
    assert failures == {}, failures
    assert len(points) >= (len(names) + requests if FULL else 12)
