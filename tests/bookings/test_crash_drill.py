"""The lifecycle crash drill (issue #21 item 2): a worker SIGKILLed at every point of a booking's life.

See :mod:`.crash_drill`. Each run starts from an empty store (SQLite and
PostgreSQL) and a fresh clocked fake of the provider (Stripe, Square,
PayPal); the worker is killed once (after a store write, or inside a
provider request after the provider did its work), a second worker runs the
same life again, and the store and the provider's objects must equal those
of a run that was never killed.

``make test`` runs a sample: on Stripe every step boundary (each step's
reservation and its end) on SQLite and on PostgreSQL; on Square and PayPal
every step boundary once (SQLite takes every other one, PostgreSQL the
rest); on each, every tenth provider request. ``make drills``
(``PAYPLAN_DRILLS=full``) runs every store write and every request on each
provider and back end.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy", reason="the drill needs payplan[store]")

from payplan.store import MemoryStore, Store

from . import crash_drill

pytestmark = pytest.mark.slow
FULL = os.environ.get("PAYPLAN_DRILLS") == "full"
BOUNDARIES = {"reserve_step", "finish_step"}


#: Each provider's SDK (its extra), imported by the worker server up front.
SDKS = {"stripe": "stripe", "square": "square", "paypal": "paypalrestsdk"}


@pytest.fixture(scope="module", params=list(SDKS))
def life(request: pytest.FixtureRequest) -> crash_drill.Life:
    pytest.importorskip(SDKS[request.param], reason=f"the drill drives the {request.param} adapter (payplan[{request.param}])")
    return crash_drill.LIVES[request.param]


@pytest.fixture(scope="module")
def baseline(life: crash_drill.Life) -> tuple[dict[str, Any], list[str], int]:
    """The life never killed, on the memory store: its state, its writes, its provider requests."""
    return crash_drill.baseline_run(MemoryStore, life)


@pytest.fixture(scope="module")
def workers() -> Any:
    """Worker processes forked from a server that has payplan, the SDKs and the drill imported."""
    ctx = multiprocessing.get_context("forkserver")
    preload = [crash_drill.__name__, "payplan.store.sql", "sqlalchemy"]
    for sdk in SDKS.values():
        try:
            __import__(sdk)
        except ImportError:  # pragma: no cover - that provider's drill skips
            continue
        preload.append(sdk)
    ctx.set_forkserver_preload(preload)
    return ctx


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from payplan.store.sql import upgrade

    path = tmp_path_factory.mktemp("drill") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _points(names: list[str], requests: int, *, share: tuple[int, int] = (0, 1)) -> list[tuple[str, int]]:
    """The kill points: ("write", k) after the k-th store write, ("request", r) inside the r-th provider request.

    In ``make test`` only the step boundaries, and of those only every *share[1]*-th from
    *share[0]* (the back ends share them out, so together they cover every boundary).
    """
    boundaries = [k for k, name in enumerate(names, 1) if name in BOUNDARIES]
    writes = [("write", k) for k in (range(1, len(names) + 1) if FULL else boundaries[share[0]::share[1]])]
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


def _run(ctx: Any, fake: crash_drill.KillingFake, url: str, server_url: str, kill_after: int | None) -> int:
    proc = ctx.Process(
        target=crash_drill.worker,
        args=(url, server_url, kill_after, fake.life.name, fake.life.config(fake.fake)),
    )
    proc.start()
    fake.pid = proc.pid
    proc.join(120)
    if proc.is_alive():  # pragma: no cover - a hung worker fails the drill, not the machine
        proc.kill()
        proc.join()
        pytest.fail(f"worker hung (kill_after={kill_after}, kill_at={fake.kill_at})")
    return int(proc.exitcode)


def test_a_worker_killed_anywhere_is_finished_once(
    life: crash_drill.Life, backend: _Backend, baseline: tuple[dict[str, Any], list[str], int], workers: Any
) -> None:
    """Killed after any store write or inside any provider request, the rerun ends as if never killed."""
    expected, names, requests = baseline
    failures: dict[str, list[str]] = {}
    # Stripe: every boundary on both back ends; Square and PayPal (their webhooks through the inbox
    # as well) share the boundaries between SQLite and PostgreSQL in make test, to keep it lean.
    share = (0, 1) if life.name == "stripe" else ((0, 2) if backend.kind == "sqlite" else (1, 2))
    points = _points(names, requests, share=share)
    for kind, n in points:
        url = backend.fresh()
        fake = crash_drill.KillingFake(life)
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
                problems = crash_drill.check(crash_drill.state(store, fake.fake, life, fake.requests), expected)
            finally:
                store.close()
            if problems:
                label = f"{kind} {n}" + (f" ({names[n - 1]})" if kind == "write" else "")
                failures[label] = problems
        finally:
            server.stop()
    assert failures == {}, failures
    assert expected["money_keys"] >= 3  # the deposit's charge and the refunds at least: the log was read
    assert len(points) >= (len(names) + requests if FULL else 4)
