"""Several workers on one date by claims (item 4), on SQLite and PostgreSQL, in real processes.

* 3 processes start the same day's pass together: every plan is run once
  (by exactly one worker), each charged once, each notice sent once.
* A worker SIGKILLed while holding claims (one charge made, its message
  reserved but not sent): the next run of the date, once the lease ran
  out, finishes its plans, charges none twice and sends that message once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store]")

from payplan import PaymentFailed, PaymentReceived
from payplan.store import OperationStatus, open_store
from payplan.store.sql import upgrade

from . import claim_worker as cw

PLANS = 60
CTX = multiprocessing.get_context("spawn")


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        u = f"sqlite:///{tmp_path / 'claims.db'}"
        upgrade(u)
        yield u
        return
    from .conftest import empty_pg

    pg = request.getfixturevalue("pg_database")
    empty_pg(pg)
    yield pg


def _stored(url: str) -> Any:
    store = open_store(url)
    cw.setup(store, PLANS)
    return store


def _check_each_plan_charged_once(store: Any) -> None:
    for n in range(PLANS):
        plan = cw.plan_of(n)
        ledger = store.load(plan.id).ledger
        outcomes = [e for e in ledger if isinstance(e, PaymentReceived | PaymentFailed) and e.id != "dep"]
        assert [e.id for e in outcomes] == [f"{plan.id}:charge:2:a1" + (":failed" if n % 2 else "")]
    ops = store.operations()
    assert len(ops) == PLANS
    assert {o.status for o in ops} == {OperationStatus.SUCCEEDED}


@pytest.mark.slow
def test_three_workers_overlapping_run_each_plan_once(url: str) -> None:
    store = _stored(url)
    try:
        barrier = CTX.Barrier(3)
        results = CTX.Queue()
        procs = [CTX.Process(target=cw.overlapping, args=(url, PLANS, f"w{k}", barrier, results)) for k in range(3)]
        for p in procs:
            p.start()
        got = [results.get(timeout=300) for _ in procs]
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        assert [r["failures"] for r in got] == [[], [], []]
        seen = Counter(pid for r in got for pid in r["plans"])
        assert seen == Counter({cw.plan_of(n).id: 1 for n in range(PLANS)})  # every plan, by one worker
        keys = [k for r in got for k in r["charges"]]
        assert len(keys) == len(set(keys)) == PLANS  # 0 duplicate charges
        messages = [m for r in got for m in r["messages"]]
        assert len(messages) == len(set(messages)) == PLANS // 2  # 0 duplicate messages
        claims = store.claims(cw.AS_OF)
        assert len(claims) == PLANS
        assert all(c.finished_at is not None for c in claims)
        assert {c.plan_id: c.worker for c in claims} == {pid: r["worker"] for r in got for pid in r["plans"]}
        assert len({c.worker for c in claims}) >= 2  # they did overlap
        _check_each_plan_charged_once(store)
    finally:
        store.close()


@pytest.mark.slow
def test_a_killed_workers_claims_are_finished_by_the_next_run(url: str, tmp_path: Path) -> None:
    store = _stored(url)
    try:
        marker = tmp_path / "stuck"
        proc = CTX.Process(target=cw.doomed, args=(url, PLANS, str(marker)))
        proc.start()
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert time.monotonic() < deadline, "the doomed worker never reached its first message"
            assert proc.is_alive()
            time.sleep(0.05)
        held = [c for c in store.claims(cw.AS_OF) if c.finished_at is None]
        charged_before = {o.key for o in store.operations()}
        assert [c.worker for c in held] == ["doomed"] * 10
        assert charged_before
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        assert proc.exitcode == -signal.SIGKILL

        # within the lease the dead worker's plans stay its own: the next run does the rest
        first = cw.run(url, PLANS, "next", lease=900)
        assert set(first["plans"]).isdisjoint(c.plan_id for c in held)
        assert len(first["plans"]) == PLANS - 10
        time.sleep(1.2)
        # the lease (1 s) ran out: the next run of the date takes the dead worker's plans over
        second = cw.run(url, PLANS, "after", lease=1)
        assert sorted(second["plans"]) == sorted(c.plan_id for c in held)
        assert second["failures"] == []
        charged_again = set(second["charges"]) | set(first["charges"])
        assert charged_again.isdisjoint(charged_before)  # what the dead worker charged is not charged again
        stuck_id = marker.read_text(encoding="utf-8")
        assert second["messages"].count(stuck_id) == 1
        assert second["resent"] == 1
        messages = first["messages"] + second["messages"]
        assert len(messages) == len(set(messages)) == PLANS // 2
        assert all(c.finished_at is not None for c in store.claims(cw.AS_OF))
        _check_each_plan_charged_once(store)
    finally:
        store.close()
