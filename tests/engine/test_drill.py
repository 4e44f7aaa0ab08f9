"""Drills: a portfolio on the sandbox, scripted cards, six months run day by day.

* 1,000 plans on the in-memory store: every plan ends as its script says,
  the provider took no installment twice and never more than was owed, and
  no message went out twice.
* The same six months with two worker processes in parallel on PostgreSQL
  (one shard each), and with a worker dying at random points and restarted
  on SQLite: the same ledgers as the in-memory run. These two run on the
  first 200 and 100 plans of the same portfolio (plans are independent, so
  their ledgers are the in-memory run's own): the SQL store costs about
  1 ms per plan and day, and the whole drill must stay within its budget
  in ``make test``.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from payplan.store import MemoryStore

from . import drill

PLANS = 1000
PG_PLANS = 200
CRASH_PLANS = 100


@pytest.fixture(scope="module")
def baseline() -> Iterator[dict[str, Any]]:
    store = MemoryStore()
    drill.setup(store, PLANS)
    sb, notifier, summary = drill.run(store, PLANS)
    return {"store": store, "sandbox": sb, "notifier": notifier, "summary": summary,
           "ledgers": drill.ledgers(store, PLANS)}


class TestMemoryDrill:
    def test_every_plan_ends_as_its_script_says(self, baseline: dict[str, Any]) -> None:
        assert drill.endings(baseline["store"], PLANS) == {}
        ends = Counter(drill.script_of(n).ends.value for n in range(PLANS))
        assert set(ends) == {"paid_in_full", "defaulted", "cancelled"}

    def test_no_installment_charged_twice_none_above_the_balance(self, baseline: dict[str, Any]) -> None:
        sb = baseline["sandbox"]
        assert drill.duplicate_charges([sb]) == {}
        assert drill.charged_above_balance(baseline["store"], [sb], PLANS) == []
        keys = [c.idempotency_key for c in sb.calls if c.verb == "charge"]
        assert len(keys) == len(set(keys))

    def test_no_message_twice(self, baseline: dict[str, Any]) -> None:
        sent = baseline["notifier"].sent
        assert drill.duplicate_messages(sent) == {}
        kinds = Counter(m.kind for m in sent)
        assert kinds["payment_failed"] > 0
        assert kinds["escalated"] > 0
        assert kinds["before_due"] > 0

    def test_the_run_summaries_add_up(self, baseline: dict[str, Any]) -> None:
        s = baseline["summary"]
        assert s.ok
        assert s.charges == s.succeeded + s.declined + s.pending
        assert s.reminders + s.notices == len(baseline["notifier"].sent)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_in_parallel_on_postgresql(pg_database: str, baseline: dict[str, Any]) -> None:
    from payplan.store import open_store

    from .conftest import empty_pg

    empty_pg(pg_database)
    store = open_store(pg_database)
    try:
        drill.setup(store, PG_PLANS)
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(drill.worker, [pg_database] * 2, [PG_PLANS] * 2, [0, 1], [2, 2]))
        paid = Counter(k for r in results for k in r[0])
        assert {k: v for k, v in paid.items() if v > 1} == {}
        messages = [m for r in results for m in r[1]]
        assert len(messages) == len(set(messages))
        assert [r[2] for r in results] == [0, 0]
        assert all(r[0] for r in results)  # both workers charged plans
        got = drill.ledgers(store, PG_PLANS)
        expected = {k: v for k, v in baseline["ledgers"].items() if k in got}
        assert got == expected
        assert drill.endings(store, PG_PLANS) == {}
    finally:
        store.close()


@pytest.mark.slow
def test_a_worker_dying_at_random_points_and_restarted(tmp_path: Any, baseline: dict[str, Any]) -> None:
    pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store]")
    from payplan.store import open_store
    from payplan.store.sql import upgrade

    url = f"sqlite:///{tmp_path / 'drill.db'}"
    upgrade(url)
    store = open_store(url)
    try:
        drill.setup(store, CRASH_PLANS)
        sb, notifier, crashes = drill.run_with_crashes(store, CRASH_PLANS, chance=0.01, seed=20261201)
        assert crashes > 20
        assert drill.duplicate_charges([sb]) == {}
        assert drill.charged_above_balance(store, [sb], CRASH_PLANS) == []
        # a message handed over just before a crash may go again (same id): at most one per crash
        dups = drill.duplicate_messages(notifier.sent)
        assert sum(n - 1 for n in dups.values()) <= crashes
        got = drill.ledgers(store, CRASH_PLANS)
        assert got == {k: v for k, v in baseline["ledgers"].items() if k in got}
    finally:
        store.close()
