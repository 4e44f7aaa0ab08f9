"""Drills on SQLite and PostgreSQL: many workers, killed workers, cut connections, racing amendments, bad input.

Events are the sandbox provider's own signed webhooks. Each drill ends by
counting what was lost and what was doubled against the ledgers one
ordered delivery gives: both must be 0.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the drills need payplan[store] (SQLAlchemy, Alembic)")

from payplan import Ledger, LedgerEntry, Money, SchemaVersionError, StoreError  # noqa: E402
from payplan.providers import ProviderEvent  # noqa: E402
from payplan.store import InboxStatus, Store, WebhookOutcome, receive_webhook  # noqa: E402
from payplan.store.sql import VERSION_TABLE, SQLStore, head_revision  # noqa: E402

from . import drill_worker  # noqa: E402
from .helpers import deliveries, expected_ledger, make_plan, plan_events, sandbox  # noqa: E402

pytestmark = pytest.mark.slow
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.param, str(request.getfixturevalue(name))


def _world(url: str, count: int, seed: int) -> tuple[list[Any], list[ProviderEvent]]:
    """*count* plans (2 or 3 installments) stored at *url*, and every event the sandbox sends for them."""
    rng = random.Random(seed)
    plans = [make_plan(f"drill-{seed}-{n:04d}", installments=rng.randint(2, 3)) for n in range(count)]
    store = Store.open(url)
    for p in plans:
        store.add_plan(p)
    store.close()
    events = plan_events(sandbox(), plans, refund_every=4)
    return plans, events


def _signed(events: Sequence[ProviderEvent]) -> list[drill_worker.Delivery]:
    sb = sandbox()
    return [sb.delivery(e) for e in events]


def _count(url: str, plans: Sequence[Any], events: Sequence[ProviderEvent]) -> tuple[int, int, list[str]]:
    """(lost, doubled, plans whose ledger differs from one ordered delivery's)."""
    store = SQLStore.open(url)
    lost = doubled = 0
    wrong = []
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT plan_id, entry_id FROM payplan_entries").all()
    stored: dict[str, list[str]] = {}
    for pid, eid in rows:
        stored.setdefault(pid, []).append(eid)
    for plan in plans:
        want = expected_ledger(plan, events)
        got_ids = stored.get(plan.id, [])
        want_ids = {e.id for e in want}
        lost += len(want_ids - set(got_ids))
        doubled += len(got_ids) - len(set(got_ids)) + len(set(got_ids) - want_ids)
        if store.load(plan.id).ledger != want:
            wrong.append(plan.id)
    not_applied = store.inbox(status=InboxStatus.DEFERRED) + store.inbox(status=InboxStatus.FAILED)
    assert not_applied == (), f"{len(not_applied)} events not applied"
    store.close()
    return lost, doubled, wrong


class TestDrills:
    def test_many_workers_shuffled_repeated_deliveries(self, backend: tuple[str, str]) -> None:
        """8 workers (4 on SQLite), 1,000 plans, each event 1-5 times shuffled: lost = doubled = 0."""
        kind, url = backend
        workers = 8 if kind == "postgres" else 4
        plans, events = _world(url, 1000, seed=6)
        rng = random.Random(13)
        batch = _signed(deliveries(events, rng))
        chunks = [batch[k::workers] for k in range(workers)]
        with SPAWN.Pool(workers) as pool:
            answers = pool.starmap(drill_worker.deliver, [(url, chunk) for chunk in chunks])
        statuses: dict[str, int] = {}
        for a in answers:
            for k, v in a.items():
                statuses[k] = statuses.get(k, 0) + v
        assert set(statuses) <= {"200", "202"}, statuses
        assert sum(statuses.values()) == len(batch)
        lost, doubled, wrong = _count(url, plans, events)
        assert (lost, doubled, wrong) == (0, 0, [])
        assert len(events) > 3000
        assert len(batch) > 2 * len(events)

    def test_worker_killed_mid_apply_then_restarted(self, backend: tuple[str, str]) -> None:
        """A worker SIGKILLed at random points while applying, then restarted: nothing lost, nothing doubled."""
        _, url = backend
        plans, events = _world(url, 60, seed=7)
        rng = random.Random(21)
        batch = _signed(deliveries(events, rng, most=2))
        kills = 0
        for _ in range(4):
            done = SPAWN.Event()
            proc = SPAWN.Process(target=drill_worker.deliver_forever, args=(url, batch, done))
            proc.start()
            time.sleep(rng.uniform(1.2, 2.5))  # start-up takes ~1 s: the kill lands while applying
            assert proc.pid is not None
            os.kill(proc.pid, signal.SIGKILL)
            proc.join()
            kills += proc.exitcode == -signal.SIGKILL
        assert kills == 4
        with SPAWN.Pool(1) as pool:
            pool.apply(drill_worker.deliver, (url, batch))
        lost, doubled, wrong = _count(url, plans, events)
        assert (lost, doubled, wrong) == (0, 0, [])

    def test_connection_cut_mid_transaction_rolls_back(self, backend: tuple[str, str]) -> None:
        """The connection dies inside the inbox transaction: 503, nothing written; the retry applies it once."""
        kind, url = backend
        plans, events = _world(url, 1, seed=8)
        store = SQLStore.open(url)
        sb = sandbox()
        first, second = events[0], events[1]
        assert receive_webhook(store, sb, *sb.delivery(first)).status == 200
        before = store.load(plans[0].id).ledger
        cut: list[str] = []

        def cut_connection(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not cut and statement.lstrip().upper().startswith("INSERT INTO PAYPLAN_ENTRIES"):
                dbapi = conn.connection.dbapi_connection
                if kind == "postgres":
                    pid = dbapi.info.backend_pid
                    admin = sqlalchemy.create_engine(url)
                    with admin.connect() as other:
                        other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
                    admin.dispose()
                else:
                    dbapi.close()
                cut.append(statement)

        sqlalchemy.event.listen(store.engine, "before_cursor_execute", cut_connection)
        response = receive_webhook(store, sb, *sb.delivery(second))
        sqlalchemy.event.remove(store.engine, "before_cursor_execute", cut_connection)
        assert cut, "the cut never happened"
        assert (response.status, response.outcome) == (503, WebhookOutcome.UNAVAILABLE)
        assert store.load(plans[0].id).ledger == before
        assert [e.event.id for e in store.inbox()] == [first.id]
        retry = receive_webhook(store, sb, *sb.delivery(second))
        assert retry.status == 200
        assert store.load(plans[0].id).ledger == before.record(_entry(second))
        store.close()

    def test_two_workers_amending_the_same_plan(self, backend: tuple[str, str]) -> None:
        """Two processes amend one plan at once, 8 rounds: each round one wins, one conflicts; no version lost."""
        _, url = backend
        store = Store.open(url)
        plan = make_plan("amended")
        store.add_plan(plan)
        barrier = SPAWN.Barrier(2)
        out = SPAWN.Queue()
        procs = [
            SPAWN.Process(target=drill_worker.amend_rounds, args=(url, plan.id, 8, barrier, seed, out))
            for seed in (1, 2)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join()
        assert sum(w for _, w, _ in results) == 8
        assert sum(c for _, _, c in results) == 8
        history = store.history(plan.id)
        assert [p.version for p in history.versions] == list(range(1, 10))
        assert history.replay() == history.current == store.load(plan.id).plan
        store.close()

    def test_bad_input_changes_nothing_already_stored(self, backend: tuple[str, str], tmp_path: Any) -> None:
        """Forged, truncated, 10 MB, unknown plan, other currency, wrong URL, newer schema: clear answers, data intact."""
        _, url = backend
        plans, events = _world(url, 5, seed=9)
        store = SQLStore.open(url)
        sb = sandbox()
        for e in events:
            assert receive_webhook(store, sb, *sb.delivery(e)).status == 200
        snapshot = _snapshot(store, plans)
        _headers, body = sb.delivery(events[0])
        answers = {
            "forged": receive_webhook(store, sb, sb.sign(body, secret="whsec_forger"), body).status,
            "truncated": receive_webhook(store, sb, sb.sign(body[:-7]), body[:-7]).status,
            "10 MB": receive_webhook(store, sb, sb.sign(b"{" * 10_000_000), b"{" * 10_000_000).status,
            "unknown plan": receive_webhook(
                store, sb, *sb.delivery(_other(events[0], "-unknown", plan_id="no-such-plan"))
            ).status,
            "other currency": receive_webhook(
                store, sb, *sb.delivery(_other(events[0], "-eur", amount=Money(50000, "EUR")))
            ).status,
        }
        assert answers == {"forged": 401, "truncated": 400, "10 MB": 413, "unknown plan": 422, "other currency": 422}
        with pytest.raises(StoreError, match="expected a URL starting memory://"):
            Store.open("ftp://x")
        with pytest.raises(StoreError, match="cannot be opened") as missing:  # said as it is, and not retryable
            Store.open(f"sqlite:///{tmp_path}/missing/dir/x.db")
        assert missing.value.retryable is False
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0099_newer'")
        with pytest.raises(SchemaVersionError, match="newer than this payplan knows"):
            Store.open(url)
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '{head_revision()}'")
        assert _snapshot(store, plans) == snapshot
        failed = store.inbox(status=InboxStatus.FAILED)
        assert len(failed) == 2
        assert all(e.error for e in failed)
        store.close()


def _entry(event: ProviderEvent) -> LedgerEntry:
    from payplan.providers import event_entry

    entry = event_entry(event)
    assert entry is not None
    return entry


def _other(event: ProviderEvent, suffix: str, **changes: Any) -> ProviderEvent:
    import attrs

    return attrs.evolve(event, id=event.id + suffix, **changes)


def _snapshot(store: SQLStore, plans: Sequence[Any]) -> tuple[tuple[Ledger, ...], tuple[Any, ...]]:
    applied = tuple((e.event.id, e.status, e.attempts) for e in store.inbox(status=InboxStatus.APPLIED))
    return tuple(store.load(p.id).ledger for p in plans), applied


@pytest.fixture(autouse=True)
def _no_orphans() -> Iterator[None]:
    yield
    for child in multiprocessing.active_children():  # pragma: no cover - only after a failure
        child.kill()
        child.join()

