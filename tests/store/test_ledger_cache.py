"""The SQL store's ledger cache: several processes writing one plan, rolled-back writes, what a write reads.

Two ``SQLStore`` objects on one database have separate caches, engines and
connection pools: they are what two worker processes see.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store] (SQLAlchemy, Alembic)")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from payplan import (  # noqa: E402
    ExtendDueDate,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentReceived,
    Refund,
    RuleViolationError,
    StoreConflictError,
    WaiveFee,
    amend,
)
from payplan.store import MemoryStore, Store, StoredPlan  # noqa: E402
from payplan.store.sql import SQLStore  # noqa: E402

from .helpers import make_plan  # noqa: E402

D = dt.date(2026, 12, 10)



@pytest.fixture
def stores(url: str) -> Iterator[dict[str, SQLStore]]:
    """Two cached stores (two processes) and one that caches nothing, on one database."""
    opened = {"A": SQLStore.open(url), "B": SQLStore.open(url), "cold": SQLStore.open(url, ledger_cache=0, plan_cache=0)}
    yield opened
    for s in opened.values():
        s.close()


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "cold"]),
        st.sampled_from(["pay", "pay", "refund", "fail", "replay", "reuse", "amend", "load", "batch"]),
        st.integers(1, 60_000),
    ),
    min_size=1,
    max_size=14,
)


def _call(store: Store, action: str, plan_id: str, n: int, k: int) -> tuple[str, Any]:
    """One step on *store*: its outcome (the ledger written or read, or the error's kind)."""
    on = D + dt.timedelta(days=n % 40)
    try:
        if action == "pay":
            out = store.record_entries(plan_id, [PaymentReceived(f"pay-{k}", on, Money(n, "USD"))])
        elif action == "refund":
            out = store.record_entries(plan_id, [Refund.reversal(f"ref-{k}", on, Money(n, "USD"))])
        elif action == "fail":
            out = store.record_entries(plan_id, [PaymentFailed(f"fail-{k}", on, "card_declined")])
        elif action == "replay":  # the first payment again: a no-op once it is there
            out = store.record_entries(plan_id, [PaymentReceived("pay-0", D, Money(1, "USD"))])
        elif action == "reuse":  # its id with other content: refused
            out = store.record_entries(plan_id, [PaymentReceived("pay-0", D, Money(2, "USD"))])
        elif action == "batch":  # a payment, and a refund the payment makes room for
            out = store.record_entries(plan_id, [
                PaymentReceived(f"bp-{k}", on, Money(n, "USD")), Refund.reversal(f"br-{k}", on, Money(n, "USD")),
            ])
        elif action == "amend":
            plan = store.load(plan_id).plan
            later = plan.installments[1].due + dt.timedelta(days=1 + n % 20)
            change = WaiveFee(Money(1 + n % 500, "USD"), "goodwill") if n % 2 else ExtendDueDate(2, later)
            new, record = amend(plan, change, by="staff", reason="asked", on=D)
            out = store.save_version(new, record)
        else:
            out = store.load(plan_id)
    except (LedgerError, StoreConflictError, RuleViolationError) as exc:
        return type(exc).__name__, None
    return "ok", _seen(out)


def _seen(stored: StoredPlan) -> tuple[object, ...]:
    ledger = stored.ledger
    return (stored.plan, tuple(ledger), ledger.total, ledger.balance, ledger.paid, ledger.refunded, stored.active)


class TestSeveralProcessesOnePlan:
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps=STEPS)
    def test_any_interleaving_gives_the_ledger_of_one_ordered_writer(
        self, url: str, steps: list[tuple[str, str, int]]
    ) -> None:
        """Writes and reads of one plan through two cached stores and an uncached one, in any interleaving,
        answer exactly what one ordered writer (the memory store) answers, step by step and at the end.

        Each example opens its own three stores (their caches start empty), so no example reads what
        an earlier one left in a cache.
        """
        with contextlib.ExitStack() as stack:
            stores = {
                "A": SQLStore.open(url), "B": SQLStore.open(url),
                "cold": SQLStore.open(url, ledger_cache=0, plan_cache=0),
            }
            for s in stores.values():
                stack.callback(s.close)
            self.check_interleaving(stores, steps)

    def check_interleaving(self, stores: dict[str, SQLStore], steps: list[tuple[str, str, int]]) -> None:
        plan = make_plan(f"p-{uuid.uuid4().hex[:10]}")
        one = MemoryStore()
        first = [PaymentReceived("pay-0", D, Money(1, "USD"))]
        for s in (one, stores["A"]):
            s.add_plan(plan, entries=first)
        for k, (who, action, n) in enumerate(steps):
            expected = _call(one, action, plan.id, n, k)
            assert _call(stores[who], action, plan.id, n, k) == expected, (k, who, action)
        final = _seen(one.load(plan.id))
        for s in stores.values():
            assert _seen(s.load(plan.id)) == final
        fresh = SQLStore.open(stores["A"].engine.url.render_as_string(hide_password=False))
        assert _seen(fresh.load(plan.id)) == final
        assert [_seen(p) for b in fresh.active_plans() for p in b if p.plan.id == plan.id] == [final]
        fresh.close()


class TestRolledBackWrites:
    def test_a_write_that_did_not_commit_leaves_no_trace_in_the_cache(self, stores: dict[str, SQLStore]) -> None:
        """A write whose commit fails: the store that made it reads the ledger without it, and writes on."""
        a = stores["A"]
        plan = make_plan("rolled-back")
        a.add_plan(plan, entries=[PaymentReceived("pay-0", D, Money(100, "USD"))])
        a.load(plan.id)  # cached

        def fail_commit(conn: object) -> None:
            raise RuntimeError("the commit failed")

        sqlalchemy.event.listen(a.engine, "commit", fail_commit)
        try:
            with pytest.raises(RuntimeError, match="the commit failed"):
                a.record_entries(plan.id, [PaymentReceived("lost", D, Money(200, "USD"))])
        finally:
            sqlalchemy.event.remove(a.engine, "commit", fail_commit)
        assert [e.id for e in a.load(plan.id).ledger] == ["pay-0"]
        assert [e.id for e in stores["cold"].load(plan.id).ledger] == ["pay-0"]
        after = a.record_entries(plan.id, [PaymentReceived("kept", D, Money(300, "USD"))])
        assert [e.id for e in after.ledger] == ["pay-0", "kept"]
        assert [e.id for e in stores["cold"].load(plan.id).ledger] == ["pay-0", "kept"]


class TestWhatAWriteReads:
    def test_a_write_to_a_cached_plan_reads_only_entries_after_the_last_it_holds(
        self, stores: dict[str, SQLStore]
    ) -> None:
        """Recording onto a ledger of 200 entries the store already holds asks only for entries past the last seq."""
        a = stores["A"]
        plan = make_plan("long")
        a.add_plan(plan, entries=[PaymentReceived(f"pay-{n}", D, Money(1, "USD")) for n in range(200)])
        asked: list[Any] = []

        def spy(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "payplan_entries.document" in statement:
                asked.append(parameters)

        entries = sqlalchemy.table("payplan_entries", sqlalchemy.column("seq"), sqlalchemy.column("plan_id"))
        last = sqlalchemy.select(sqlalchemy.func.max(entries.c.seq)).where(entries.c.plan_id == plan.id)
        seqs = []
        sqlalchemy.event.listen(a.engine, "before_cursor_execute", spy)
        try:
            for n in range(2):
                with a.engine.connect() as conn:
                    seqs.append(conn.execute(last).scalar_one())
                got = a.record_entries(plan.id, [PaymentReceived(f"new-{n}", D, Money(1, "USD"))])
        finally:
            sqlalchemy.event.remove(a.engine, "before_cursor_execute", spy)
        assert len(got.ledger) == 202
        assert len(asked) == 2  # one entries query per write
        for params, seq in zip(asked, seqs, strict=True):
            values = list(params.values()) if isinstance(params, dict) else list(params)
            assert seq in values  # "seq > the last one this store holds": no entry document comes back


class TestWhatAnEventCosts:
    def test_statements_per_webhook_event(self, url: str) -> None:
        """A new event of a plan the store holds: the plan's row with the entries recorded since the cached
        ledger (one statement), one inbox read (its own row and the plan's deferred events together), two
        inserts. A repeat: the inbox read (PostgreSQL: after the plan's row lock)."""
        from payplan.providers import Payer
        from payplan.store import receive_webhook
        from payplan.testing import SandboxCard

        from .helpers import SESSION, sandbox

        store = SQLStore.open(url)
        sb = sandbox()
        plan = make_plan("counted")
        store.add_plan(plan)
        sb.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
        first, second = [sb.delivery(e) for e in sb.advance_to(SESSION)][:2]
        assert receive_webhook(store, sb, *first).status == 200  # the plan's ledger is cached from here on
        statements: list[str] = []

        def spy(conn: Any, cursor: Any, statement: str, *args: object) -> None:
            statements.append(" ".join(statement.split()[:3]))

        sqlalchemy.event.listen(store.engine, "before_cursor_execute", spy)
        try:
            assert receive_webhook(store, sb, *second).status == 200
            new = list(statements)
            statements.clear()
            assert receive_webhook(store, sb, *second).status == 200
            repeat = list(statements)
        finally:
            sqlalchemy.event.remove(store.engine, "before_cursor_execute", spy)
            store.close()
        pg = url.startswith("postgresql")
        verbs = [s.split()[0] for s in new]
        assert verbs.count("INSERT") == 2
        # PostgreSQL: the row lock (SELECT ... FOR UPDATE OF plans, the newer entries joined) before the inbox
        # read; SQLite: BEGIN IMMEDIATE, then the inbox read and the plan's row under the one write lock.
        assert verbs.count("SELECT") == 2
        assert len(new) == (4 if pg else 5)
        assert len(repeat) == 2


class TestWhatAColdReadCosts:
    def test_a_cold_read_runs_as_many_statements_whatever_the_history(self, url: str) -> None:
        """A fresh store reading a plan (load, a batch of the daily run, a write): the statements it runs do not
        depend on how many entries the plans hold (counted with a cursor listener, not timed)."""
        writer = SQLStore.open(url)
        short, long = make_plan("short"), make_plan("long")
        writer.add_plan(short, entries=[PaymentReceived("pay-0", D, Money(1, "USD"))])
        writer.add_plan(long, entries=[PaymentReceived(f"pay-{n}", D, Money(1, "USD")) for n in range(150)])
        writer.close()

        def counted(call: Any) -> list[str]:
            store = SQLStore.open(url)  # nothing cached
            statements: list[str] = []

            def spy(conn: Any, cursor: Any, statement: str, *args: object) -> None:
                statements.append(statement.split()[0])

            sqlalchemy.event.listen(store.engine, "before_cursor_execute", spy)
            try:
                call(store)
            finally:
                sqlalchemy.event.remove(store.engine, "before_cursor_execute", spy)
                store.close()
            return statements

        for read in (
            lambda s, pid: s.load(pid),
            lambda s, pid: s.record_entries(pid, [PaymentReceived("more", D, Money(1, "USD"))]),
            lambda s, pid: s.load(pid) and s.load(pid),  # the second read: one statement, the plan and newer entries
        ):
            assert counted(functools.partial(read, pid="short")) == counted(functools.partial(read, pid="long"))
        one = counted(lambda s: list(s.active_plans(batch_size=1)))
        assert one.count("SELECT") == 2 * 2 + 1  # per plan: its row, its entries; then an empty page
        check = SQLStore.open(url)
        assert len(check.load("long").ledger) == 151
        check.close()
