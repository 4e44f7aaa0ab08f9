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
import os
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from payplan.store import MemoryStore, Store

from . import drill

#: ``make drills`` (``PAYPLAN_DRILLS=full``) runs the full 1,000 plans; ``make test`` 140 (every script on
#: every booking day, five times over), so its six months on PostgreSQL and SQLite stay within minutes
FULL = os.environ.get("PAYPLAN_DRILLS") == "full"
PLANS = 1000 if FULL else 140
#: a worker's chance of killing itself at each store call: as many store calls, and so as many kills, at every size
KILL_CHANCE = 0.0002 * 1000 / PLANS
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


def _request(key: str, attempt: int, status: str, ref: str, *, new: bool = True, amount: int = 50000) -> drill.Request:
    return drill.Request(drill.START, key, "drill-00000", 2, None, attempt, amount, status, ref, new)


class TestTheChecksCatch:
    """The drill's checks fail on what they look for (a drill whose checks cannot fail proves nothing)."""

    def test_charges_made_twice(self) -> None:
        log = [
            _request("k1", 1, "declined", "ch_1"),
            _request("k2", 2, "succeeded", "ch_2"),
            _request("k2", 2, "succeeded", "ch_2", new=False),  # a retry of the paying key: fine
            _request("k3", 3, "succeeded", "ch_3", new=False),  # asked again for what was paid
            _request("k4", 4, "succeeded", "ch_4"),
            _request("k4", 4, "succeeded", "ch_5"),
        ]
        found = drill.duplicate_charges(log)
        assert found["asked after paid"] == ["k3", "k4", "k4"]
        assert found["paid twice"] == {("drill-00000", 2, None): 3}
        assert found["by key"] == {"k4": 2}
        assert found["by (plan, installment, attempt)"] == {("drill-00000", 2, None, 4): 2}
        assert drill.duplicate_charges(log[:3]) == {}

    def test_a_charge_above_the_balance_or_missing_from_the_ledger(self) -> None:
        from payplan import PaymentReceived

        store = MemoryStore()
        plan = drill.plan_of(0)
        store.add_plan(plan, entries=[PaymentReceived("d", plan.booked, plan.installments[0].amount)])
        rest = plan.total - plan.installments[0].amount
        store.record_entries(plan.id, [PaymentReceived("p", drill.START, rest, "sandbox", "ch_1")])
        log = [_request("k1", 1, "succeeded", "ch_1", amount=rest.minor)]
        assert drill.charges_above_balance(store, log, 1) == []
        store.record_entries(plan.id, [PaymentReceived("q", drill.START, plan.installments[1].amount, "sandbox", "ch_2")])
        log += [_request("k2", 1, "succeeded", "ch_2"), _request("k3", 1, "succeeded", "ch_3")]
        found = drill.charges_above_balance(store, log, 1)
        assert len(found) == 2
        assert found[0] == "drill-00000: q 500.00 USD above the balance 0.00 USD"
        assert found[1] == "drill-00000: ch_3 50000 taken by the provider, not in the ledger"

    def test_a_plan_off_its_script(self) -> None:
        store = MemoryStore()
        world = drill.World()
        drill.setup(store, 7, world)  # one plan of each script, nothing run: none paid, declined or cancelled
        ids = [drill.plan_of(n).id for n in range(7)]
        # the plans that must default do (nothing was paid); the others are not paid, nor cancelled
        assert set(drill.endings(store, 7)) == {ids[n] for n in (0, 1, 2, 3, 6)}
        # the scripts with declines are missing them
        assert set(drill.off_script(store, (), 7)) == {ids[n] for n in (1, 2, 3, 4, 5)}


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
    """A worker process SIGKILLed at random moments (by the parent, mid-day) and at random store calls
    (by itself, before or after the call), restarted on the same day each time."""
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
        worker = drill.Worker(_workers_context(), url, address, kill_chance=KILL_CHANCE, seed=7)

        def kill(day: Any) -> float | None:
            return rng.uniform(0.0, 0.1) if rng.random() < 0.15 else None

        summary = drill.run_workers(store, PLANS, proxy, [worker], kill=kill)
        requests, sent = proxy.report()
        assert summary.failures == []
        print(f"\n{backend}: {worker.kills} kills, {summary.resent} messages resent, {len(requests)} charge requests")
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
