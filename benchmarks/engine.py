"""The daily run (``run_due``) over a stored portfolio, on SQLite and PostgreSQL.

The portfolio is :mod:`benchmarks.portfolio`'s (plans with a late-fee ladder,
ledgers paid on time, deposit only or in part) as of
:data:`~benchmarks._data.AS_OF`; every plan has a contact, so the run
records fees, reminders and dunning notices (no provider: no charges). Each
repetition runs on a fresh copy of the same database. Three rows per back
end, all measured in the same run (wall time, median of the repetitions):

* **engine vs memory**: ``run_due`` per plan against the same computations
  (late fees, charges due, reminders, notices, statuses, the composed
  messages) on the same plans and ledgers already in memory. Target: the
  store and the engine add at most 50% (ratio <= 1.5x).
* **engine vs floor**: against reading the same rows (plans and entries)
  and writing the same new rows (entries, reminders, one transaction per
  plan that writes) with the raw driver (``sqlite3`` / ``psycopg``).
  Reported with where the time goes.
* **PostgreSQL, 2 workers vs 1**: worker processes that run the date by
  claims (``run_due(claim=True)``: ``FOR UPDATE SKIP LOCKED``), started
  together at a barrier once imported; throughput = plans over the span
  from the first worker's start to the last one's end (process start-up
  excluded, it is reported apart). Target: at least 1.5x.

Full mode runs 100,000 plans (one repetition: the database is built once
with bulk inserts of the rows ``add_plan`` writes, and copied per run);
quick mode 300 plans on SQLite only.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import queue
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from attrs import evolve

from payplan import (
    PaymentPlan,
    assess_late_fees,
    charges_due,
    dunning_notices,
    plan_status,
    reminders_due,
)
from payplan.notify import Contact, InMemoryNotifier, compose

from ._data import AS_OF, portfolio
from ._harness import Row, Settings, postgres_url
from .portfolio import POLICY, ledger_for

AREA = "engine"


@functools.cache
def _contact(plan_id: str) -> Contact:
    return Contact(plan_id, email=f"{plan_id}@example.com")


def contact_of(plan: PaymentPlan) -> Contact:
    return _contact(plan.id)


def _pairs(n: int) -> list[tuple[PaymentPlan, Any]]:
    rng = random.Random(3)
    out = []
    for p in portfolio(n):
        plan = evolve(p, terms=evolve(p.terms, late_fees=POLICY))
        out.append((plan, ledger_for(plan, rng)))
    return out


def in_memory(pairs: list[tuple[PaymentPlan, Any]]) -> Callable[[], int]:
    """What run_plan computes, on plans and ledgers already in memory; the number of messages."""

    def run() -> int:
        sent = 0
        for plan, ledger in pairs:
            fees = assess_late_fees(plan, ledger, AS_OF)
            if fees:
                ledger = ledger.record_all(fees)
            charges_due(plan, ledger, AS_OF)
            contact = contact_of(plan)
            items = [*reminders_due(plan, ledger, AS_OF, client=contact.name),
                     *dunning_notices(plan, ledger, AS_OF, client=contact.name)]
            if items:
                status = plan_status(plan, ledger, AS_OF)
                for item in items:
                    compose(item, plan, status, contact)
                    sent += 1
        return sent

    return run


def _build(url: str, pairs: list[tuple[PaymentPlan, Any]]) -> None:
    """The rows ``Store.add_plan`` writes for every plan, inserted in bulk (checked against add_plan's own)."""
    import sqlalchemy

    from payplan.store import open_store
    from payplan.store._apply import shard_of
    from payplan.store._codec import checksum, dumps_plan_doc, ledger_summary
    from payplan.store._schema import entries, plan_versions, plans
    from payplan.store.sql import _entry_row, upgrade

    upgrade(url)
    engine = sqlalchemy.create_engine(url)
    try:
        step = 5_000
        for start in range(0, len(pairs), step):
            chunk = pairs[start:start + step]
            docs = [dumps_plan_doc(p) for p, _ in chunk]
            with engine.begin() as conn:
                conn.execute(plans.insert(), [
                    {"plan_id": p.id, "version": p.version, "currency": p.currency, "total_minor": p.total.minor,
                     "client": p.client, "active": True, "shard": shard_of(p.id), "document": d,
                     "checksum": checksum(plans.name, p.id, f"v{p.version}", d)}
                    for (p, _), d in zip(chunk, docs, strict=True)
                ])
                conn.execute(plan_versions.insert(), [
                    {"plan_id": p.id, "version": p.version, "document": d,
                     "checksum": checksum(plan_versions.name, p.id, f"v{p.version}", d)}
                    for (p, _), d in zip(chunk, docs, strict=True)
                ])
                # as add_plan writes a plan's entries: one write, its summary on the last row
                rows = [
                    _entry_row(p.id, e, p.currency, ledger_summary(ledger) if k == len(ledger) - 1 else None)
                    for p, ledger in chunk for k, e in enumerate(ledger)
                ]
                if rows:
                    conn.execute(entries.insert(), rows)
    finally:
        engine.dispose()
    store = open_store(url)
    try:  # the bulk rows read back as add_plan's would, by the same path (checksums and summaries matched)
        from payplan.store._codec import _RowEntries

        for plan, ledger in pairs[:3]:
            read = store.load(plan.id).ledger
            assert not len(ledger) or type(read._store) is _RowEntries, "the bench's rows are not the store's"
            assert read == ledger
    finally:
        store.close()


def _engine_run(url: str, *, claim: bool = False, barrier: Any = None) -> tuple[float, float, int, int]:
    """One run_due over the store at *url*: (start, end, plans, rows written), times from time.time()."""
    from payplan.engine import run_due
    from payplan.store import open_store

    store = open_store(url)
    try:
        notifier = InMemoryNotifier()
        if barrier is not None:
            barrier.wait(timeout=600)
        t0 = time.time()
        summary = run_due(store, [], AS_OF, notifier, contacts=contact_of, claim=claim)
        t1 = time.time()
    finally:
        store.close()
    if summary.failures:
        raise RuntimeError(f"the benchmark's run failed: {summary.failures[:3]}")
    return t0, t1, summary.plans, summary.fees + summary.reminders + summary.notices


def _worker(url: str, barrier: Any, results: Any, born: float) -> None:
    """A worker process: import, wait at the barrier, run by claims, report (start-up, start, end, plans)."""
    up = time.time() - born
    results.put((up, *_engine_run(url, claim=True, barrier=barrier)))


def _workers(url: str, n: int) -> tuple[float, int, float]:
    """*n* worker processes on one date by claims: (span in seconds, plans, slowest process start-up)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, barrier, results, time.time())) for _ in range(n)]
    for p in procs:
        p.start()
    got: list[Any] = []
    while len(got) < n:
        try:
            got.append(results.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a benchmark worker process died (exit codes {dead})") from None
    for p in procs:
        p.join()
    span = max(r[2] for r in got) - min(r[1] for r in got)
    return span, sum(r[3] for r in got), max(r[0] for r in got)


def _sqlite_floor(path: str, writes: int) -> float:
    """Read every plan and entry row; write *writes* rows, one transaction per plan row group."""
    conn = sqlite3.connect(path)
    try:
        # the store's own settings: WAL, synchronous=NORMAL
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        t0 = time.perf_counter()
        plans = conn.execute("SELECT plan_id, document FROM payplan_plans WHERE active").fetchall()
        conn.execute("SELECT plan_id, entry_id, kind, \"on\", amount_minor, currency, document "
                     "FROM payplan_entries ORDER BY plan_id, seq").fetchall()
        for k in range(writes):
            plan_id = plans[k % len(plans)][0]
            with conn:
                conn.execute("INSERT INTO payplan_reminders (plan_id, reminder_id, \"on\", status) VALUES (?, ?, ?, ?)",
                             (plan_id, f"floor-{k}", AS_OF.isoformat(), "sent"))
        return time.perf_counter() - t0
    finally:
        conn.close()


def _pg_floor(url: str, writes: int) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("SELECT plan_id, document FROM payplan_plans WHERE active")
            plans = cur.fetchall()
            cur.execute("SELECT plan_id, entry_id, kind, \"on\", amount_minor, currency, document "
                        "FROM payplan_entries ORDER BY plan_id, seq")
            cur.fetchall()
        conn.commit()
        for k in range(writes):
            plan_id = plans[k % len(plans)][0]
            with conn.cursor() as cur:
                cur.execute("INSERT INTO payplan_reminders (plan_id, reminder_id, \"on\", status) "
                            "VALUES (%s, %s, %s, %s)", (plan_id, f"floor-{k}", AS_OF, "sent"))
            conn.commit()
        return time.perf_counter() - t0


def memory_store_run(pairs: list[tuple[PaymentPlan, Any]]) -> float:
    """One ``run_due`` over a ``MemoryStore`` holding the same plans and ledgers: its wall time in seconds.

    The same engine, policies, notifier and contacts as the SQL runs; only the store differs
    (issue 25's comparison: the daily run per plan at most 2x this).
    """
    from payplan.engine import run_due
    from payplan.store import MemoryStore

    store = MemoryStore()
    for plan, ledger in pairs:
        store.add_plan(plan, entries=ledger)
    notifier = InMemoryNotifier()
    t0 = time.perf_counter()
    summary = run_due(store, [], AS_OF, notifier, contacts=contact_of)
    took = time.perf_counter() - t0
    if summary.failures:
        raise RuntimeError(f"the benchmark's run failed: {summary.failures[:3]}")
    return took


def _rows(backend: str, n: int, engine: list[float], memory: list[float], floor: list[float],
          writes: int, memstore: list[float]) -> list[Row]:
    e, m, f, ms = (statistics.median(x) * 1e9 / n for x in (engine, memory, floor, memstore))
    return [
        Row(AREA, f"run_due on {backend}, {n:,} plans ({writes:,} rows written)", e, "ns/plan",
            "run_due on a MemoryStore", ms, f"{e / ms:.2f}x MemoryStore", "<= 2x (issue 25)", e <= 2 * ms,
            note="default caches (plan_cache=4096, ledger_cache=4096); a nightly worker reads each plan cold"),
        Row(AREA, f"run_due on {backend}, {n:,} plans, vs the computations alone", e, "ns/plan",
            "same computations in memory", m, f"{e / m:.2f}x memory", "<= 1.5x (issue 14)", e <= 1.5 * m),
        Row(AREA, f"run_due on {backend} vs the raw-driver floor", e, "ns/plan",
            "read the rows, write the rows", f, f"{e / f:.2f}x the floor", "report", None),
    ]


def _sqlite(settings: Settings, pairs: list[tuple[PaymentPlan, Any]], memory: Callable[[], int]) -> list[Row]:
    n = len(pairs)
    reps = 1
    with tempfile.TemporaryDirectory(prefix="payplan-bench-") as folder:
        template = os.path.join(folder, "template.db")
        _build(f"sqlite:///{template}", pairs)
        engine, mem, floor, memstore = [], [], [], []
        writes = 0
        for r in range(reps):
            copy = os.path.join(folder, f"run{r}.db")
            shutil.copy(template, copy)
            t0, t1, _, writes = _engine_run(f"sqlite:///{copy}")
            engine.append(t1 - t0)
            memstore.append(memory_store_run(pairs))
            t0 = time.perf_counter()
            memory()
            mem.append(time.perf_counter() - t0)
            shutil.copy(template, copy)
            floor.append(_sqlite_floor(copy, writes))
        return _rows("SQLite", n, engine, mem, floor, writes, memstore)


def _pg_copy(admin_url: str, template: str, name: str) -> str:
    import sqlalchemy

    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.dispose()
    return sqlalchemy.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _pg_drop(admin_url: str, *names: str) -> None:
    import sqlalchemy

    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _postgres(settings: Settings, url: str, pairs: list[tuple[PaymentPlan, Any]],
              memory: Callable[[], int]) -> list[Row]:
    n = len(pairs)
    template = f"payplan_bench_{os.getpid()}"
    _pg_drop(url, template)
    import sqlalchemy

    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{template}"')
    admin.dispose()
    template_url = sqlalchemy.engine.make_url(url).set(database=template).render_as_string(hide_password=False)
    _build(template_url, pairs)
    run_name = f"{template}_run"
    try:
        copy = _pg_copy(url, template, run_name)
        t0, t1, _, writes = _engine_run(copy)
        engine = [t1 - t0]
        memstore = [memory_store_run(pairs)]
        m0 = time.perf_counter()
        memory()
        mem = [time.perf_counter() - m0]
        floor = [_pg_floor(_pg_copy(url, template, run_name), writes)]
        # worker processes by claims, on fresh copies: one, then two together
        w1, plans1, _ = _workers(_pg_copy(url, template, run_name), 1)
        w2, plans2, up2 = _workers(_pg_copy(url, template, run_name), 2)
        if plans1 != n or plans2 != n:
            raise RuntimeError(f"the workers ran {plans1} and {plans2} plans, expected {n} each")
    finally:
        _pg_drop(url, run_name, template)
    rows = _rows("PostgreSQL", n, engine, mem, floor, writes, memstore)
    rows.append(Row(AREA, f"PostgreSQL, 2 worker processes by claims vs 1 ({n:,} plans; process start-up {up2:.1f} s "
                    f"not counted)", w2 * 1e9 / n, "ns/plan", "1 worker", w1 * 1e9 / n, f"{w1 / w2:.2f}x the throughput",
                    ">= 1.5x", w1 / w2 >= 1.5))
    return rows


def run(settings: Settings) -> list[Row]:
    """SQLite always (with payplan[store]); PostgreSQL (full mode) when a server is set (see ``postgres_url``)."""
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        return [Row(AREA, "run_due on a SQL store", None, "", note="needs payplan[store]")]
    n = settings.size(100_000, 300)
    pairs = _pairs(n)
    memory = in_memory(pairs)
    rows = _sqlite(settings, pairs, memory)
    url = postgres_url(settings)
    if url and not settings.quick:
        rows += _postgres(settings, url, pairs, memory)
    elif not settings.quick:
        rows.append(Row(AREA, "run_due on PostgreSQL", None, "",
                        note="no server: neither PAYPLAN_BENCH_POSTGRES_URL nor PAYPLAN_TEST_POSTGRES_URL is set; skipped"))
    return rows

