"""Drills (issue #14 item 6): 1,000 plans on the sandbox, scripted cards, six months run day by day.

* On the in-memory store: every plan ends as its script says (paid,
  defaulted or cancelled) with the declines, warnings and escalations its
  card script makes; the provider's request log shows no charge made twice
  (by idempotency key, by plan, installment and attempt, or a second
  payment of anything already paid) and none above the balance the ledger
  showed when it was made; no message went out twice.
* The same six months with two worker processes in parallel on
  PostgreSQL (one shard each), and with one worker process SIGKILLed at
  random points and restarted on the same day (on SQLite and on
  PostgreSQL): the same ledgers as the in-memory run, the same checks on
  the provider's log, and at most the one in-flight message sent again
  per kill, with the same id and content. The provider and the mail
  system live in their own process (see :mod:`.drill`), so they outlive
  the workers as a real provider does.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from payplan.store import MemoryStore, Store

from . import drill

PLANS = 1000
SPAWN = multiprocessing.get_context("spawn")


def _workers_context() -> Any:
    """Worker processes forked from a server that has payplan and the drill imported (a restart is cheap)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([drill.__name__, "payplan.store.sql", "sqlalchemy"])
    return ctx


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    store = MemoryStore()
    world = drill.World()
    drill.setup(store, PLANS, world)
    summary = drill.run(store, PLANS, world)
    requests, sent = world.report()
    return {"store": store, "requests": requests, "sent": sent, "summary": summary,
            "ledgers": drill.ledgers(store, PLANS)}


@pytest.fixture
def world() -> Iterator[tuple[Any, Any]]:
    """A world (sandbox provider and mail system) served from its own process: (its address, a proxy)."""
    manager = drill.WorldManager(address=None, authkey=drill.AUTHKEY, ctx=SPAWN)
    manager.start()
    try:
        yield manager.address, manager.world()  # type: ignore[attr-defined]
    finally:
        manager.shutdown()


def _check(store: Store, requests: list[drill.Request], sent: tuple[Any, ...], baseline: dict[str, Any]) -> None:
    """The checks every drill run passes, and its ledgers equal to the in-memory run's."""
    assert drill.duplicate_charges(requests) == {}
    assert drill.charges_above_balance(store, requests, PLANS) == []
    assert drill.endings(store, PLANS) == {}
    assert drill.off_script(store, sent, PLANS) == {}
    assert drill.ledgers(store, PLANS) == baseline["ledgers"]


class TestMemoryDrill:
    def test_every_plan_ends_as_its_script_says(self, baseline: dict[str, Any]) -> None:
        assert drill.endings(baseline["store"], PLANS) == {}
        assert drill.off_script(baseline["store"], baseline["sent"], PLANS) == {}
        ends = Counter(drill.script_of(n).ends.value for n in range(PLANS))
        assert set(ends) == {"paid_in_full", "defaulted", "cancelled"}

    def test_no_charge_twice_none_above_the_balance(self, baseline: dict[str, Any]) -> None:
        requests = baseline["requests"]
        assert drill.duplicate_charges(requests) == {}
        assert drill.charges_above_balance(baseline["store"], requests, PLANS) == []
        assert all(r.new for r in requests)  # one worker, no crash: no request repeated
        assert Counter(r.status for r in requests).keys() == {"succeeded", "declined", "requires_action"}

    def test_no_message_twice(self, baseline: dict[str, Any]) -> None:
        sent = baseline["sent"]
        assert drill.duplicate_messages(sent) == {}
        kinds = Counter(m.kind for m in sent)
        assert {"payment_failed", "escalated", "before_due", "card_expiring"} <= kinds.keys()

    def test_the_run_summaries_add_up(self, baseline: dict[str, Any]) -> None:
        s = baseline["summary"]
        assert s.ok
        assert s.charges == s.succeeded + s.declined + s.pending == len(baseline["requests"])
        assert s.reminders + s.notices == len(baseline["sent"])


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("split", ["shards", "claims"])
def test_two_workers_in_parallel_on_postgresql(
    split: str, pg_database: str, world: tuple[Any, Any], baseline: dict[str, Any]
) -> None:
    """Two worker processes run each day together: by shards (a hash of the plan id), or both over
    the whole portfolio taking plans by claims (``FOR UPDATE SKIP LOCKED``)."""
    from payplan.store import open_store

    from .conftest import empty_pg

    address, proxy = world
    empty_pg(pg_database)
    store = open_store(pg_database)
    try:
        drill.setup(store, PLANS, proxy)
        ctx = _workers_context()
        if split == "shards":
            workers = [drill.Worker(ctx, pg_database, address, k, 2) for k in range(2)]
        else:
            workers = [drill.Worker(ctx, pg_database, address, claim=True) for _ in range(2)]
        summary = drill.run_workers(store, PLANS, proxy, workers)
        requests, sent = proxy.report()
        assert summary.failures == []
        assert summary.plans == baseline["summary"].plans  # every plan run once a day, by one worker
        assert [w.starts for w in workers] == [1, 1]
        assert all(w.plans > 0 for w in workers)  # both took part
        assert {r.plan_id for r in requests} == {r.plan_id for r in baseline["requests"]}
        assert drill.duplicate_messages(sent) == {}
        assert len(sent) == len(baseline["sent"])
        _check(store, requests, sent, baseline)
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_worker_killed_at_random_points_and_restarted(
    backend: str, request: pytest.FixtureRequest, world: tuple[Any, Any], baseline: dict[str, Any]
) -> None:
    """A worker process SIGKILLed at random moments (by the parent, mid-day) and at random store writes
    (by itself, before or after the write), restarted on the same day each time."""
    pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store]")
    from payplan.store import open_store

    if backend == "sqlite":
        from payplan.store.sql import upgrade

        url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'drill.db'}"
        upgrade(url)
    else:
        from .conftest import empty_pg

        url = request.getfixturevalue("pg_database")
        empty_pg(url)
    address, proxy = world
    store = open_store(url)
    try:
        drill.setup(store, PLANS, proxy)
        rng = random.Random(20261201)
        worker = drill.Worker(_workers_context(), url, address, kill_chance=0.0002, seed=7)

        def kill(day: Any) -> float | None:
            return rng.uniform(0.0, 0.2) if rng.random() < 0.15 else None

        summary = drill.run_workers(store, PLANS, proxy, [worker], kill=kill)
        requests, sent = proxy.report()
        assert summary.failures == []
        assert worker.kills >= 20, worker.kills
        assert worker.starts == worker.kills + 1
        # each kill may cut short one message handed to the mail system: sent again, same id, same text
        dups = drill.duplicate_messages(sent)
        assert sum(n - 1 for n in dups.values()) <= worker.kills
        assert drill.resent_differently(sent) == []
        assert {m.id for m in sent} == {m.id for m in baseline["sent"]}
        _check(store, requests, sent, baseline)
    finally:
        store.close()
