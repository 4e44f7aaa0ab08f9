"""A cold read takes a plan's ledger totals from the summary on its last entry row, not a replay (#25, item 2).

On real SQLite and real PostgreSQL. Every check compares the ledger read
through the summary with the ledger the entries replay to, and first makes
sure the summary was used (a test that read the replayed ledger would pass
without one).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store] (SQLAlchemy, Alembic)")

from payplan import (  # noqa: E402
    Allocation,
    CancellationPolicy,
    DamagedRowError,
    Ledger,
    LedgerEntry,
    Money,
    PaymentPlan,
    PaymentReceived,
    dumps_ledger,
    fees_due,
    plan_status,
    settle_cancellation,
)
from payplan._ledger import _FIELDS, _GET_FIELDS  # noqa: E402
from payplan.store import _codec  # noqa: E402
from payplan.store._schema import entries  # noqa: E402
from payplan.store.sql import SQLStore, _alembic, _entry_checksum  # noqa: E402
from strategies import ledgers  # noqa: E402

from .helpers import BOOKED, make_plan  # noqa: E402


def _cold(store: SQLStore) -> SQLStore:
    """The same database through a store that has cached nothing."""
    return SQLStore(store.engine, plan_cache=0, ledger_cache=0)


def _summarized(ledger: Ledger) -> bool:
    """Whether *ledger* was rebuilt from a summary and its entries are not decoded yet."""
    store = ledger._store
    return type(store) is _codec._RowEntries and store._decode is not None


def _totals(ledger: Ledger) -> dict[str, Any]:
    """Every field of *ledger* but its backing store (the totals a summary restores)."""
    return {name: value for name, value in zip(_FIELDS, _GET_FIELDS(ledger), strict=True) if name != "_store"}


def _write(store: SQLStore, plan: PaymentPlan, recorded: list[LedgerEntry], cuts: list[int]) -> None:
    """*plan* added, then *recorded* written in the batches *cuts* splits them into (one transaction each)."""
    bounds = sorted({0, len(recorded), *(c % (len(recorded) + 1) for c in cuts)})
    store.add_plan(plan, entries=recorded[:bounds[1]] if len(bounds) > 1 else ())
    for lo, hi in itertools.pairwise(bounds):
        store.record_entries(plan.id, recorded[lo:hi])


def _same(read: Ledger, replayed: Ledger, plan: PaymentPlan) -> None:
    """*read* is *replayed* in every way a caller can see, on every day around its entries."""
    assert _totals(read) == _totals(replayed)
    days = sorted({plan.booked, *(e.on for e in replayed), *(i.due for i in plan.installments)})
    days += [d + dt.timedelta(days=1) for d in days]
    for day in days:
        for allocation in Allocation:
            assert plan_status(plan, read, day, allocation=allocation) == plan_status(plan, replayed, day, allocation=allocation)
        assert fees_due(plan, read, day) == fees_due(plan, replayed, day)
    assert list(read) == list(replayed)
    assert read == replayed
    assert dumps_ledger(read) == dumps_ledger(replayed)


def test_the_summary_covers_every_field_of_the_ledger() -> None:
    """A field added to Ledger without a place in the summary turns summaries off: this test says so."""
    assert _codec.SUMMARIES_COVER_THE_LEDGER


@pytest.mark.parametrize("how", ["load", "active_plans"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=ledgers(), cuts=st.lists(st.integers(0, 12), max_size=3))
def test_a_cold_read_through_the_summary_is_the_replayed_ledger(
    store: SQLStore, how: str, drawn: tuple[PaymentPlan, Ledger, list[LedgerEntry]], cuts: list[int]
) -> None:
    """Random ledgers (payments, refunds, goodwill, fees, waivers, write-offs, credits), written in random batches."""
    plan, replayed, _ = drawn
    plan = attrs.evolve(plan, id=f"p-{uuid.uuid4().hex[:12]}")  # one database serves every example
    replayed = Ledger.empty(plan).record_all(replayed)
    recorded = list(replayed)
    _write(store, plan, recorded, cuts)
    cold = _cold(store)
    if how == "load":
        read = cold.load(plan.id).ledger
    else:
        (read,) = [s.ledger for batch in cold.active_plans() for s in batch if s.plan.id == plan.id]
    if not recorded:
        assert len(read) == 0
        return
    assert _summarized(read), "the cold read replayed the entries instead of reading the summary"
    last = max(e.on for e in recorded)
    status = plan_status(plan, read, max(last, plan.session))
    assert _summarized(read), "a status on a day after every entry decoded the entries"
    assert status == plan_status(plan, replayed, max(last, plan.session))
    _same(read, replayed, plan)


def _deposit(plan_id: str, on: dt.date = BOOKED, amount: str = "500.00") -> PaymentReceived:
    return PaymentReceived(f"{plan_id}-dep-{on.isoformat()}", on, Money.of(amount, "USD"))


class TestWhenTheSummaryIsNotUsed:
    def _plan_with_entries(self, store: SQLStore) -> tuple[PaymentPlan, Ledger]:
        plan = make_plan(f"s-{uuid.uuid4().hex[:10]}")
        store.add_plan(plan, entries=[_deposit(plan.id)])
        stored = store.record_entries(plan.id, [_deposit(plan.id, BOOKED + dt.timedelta(days=30), "300.00")])
        return plan, stored.ledger

    def _set_last_row(self, store: SQLStore, plan_id: str, summary: str | None, *, checksum: bool = True) -> str:
        """The plan's last entry row given *summary*, its checksum recomputed (as the store would) or not; its id."""
        e = entries
        with store.engine.begin() as conn:
            last = conn.execute(
                sqlalchemy.select(e.c.seq, e.c.entry_id, e.c.document, e.c.checksum)
                .where(e.c.plan_id == plan_id).order_by(e.c.seq.desc()).limit(1)
            ).one()
            values: dict[str, Any] = {"summary": summary}
            if checksum:
                values["checksum"] = _entry_checksum(plan_id, last.entry_id, last.document, summary)
            assert conn.execute(sqlalchemy.update(e).where(e.c.seq == last.seq).values(**values)).rowcount == 1
        return str(last.entry_id)

    def test_a_summary_edited_by_hand_is_a_damaged_row_naming_the_plan_and_the_entry(self, store: SQLStore) -> None:
        """The row's checksum covers its summary: an edit is refused as an edited document is, not believed."""
        plan, _ = self._plan_with_entries(store)
        last = self._set_last_row(store, plan.id, '[1,2,99999999,0,0,0,0,0,0,0,[],null,"2027-01-01"]', checksum=False)
        with pytest.raises(DamagedRowError) as caught:
            _cold(store).load(plan.id)
        assert (caught.value.plan_id, caught.value.row) == (plan.id, last)

    def test_a_summary_that_counts_other_rows_is_not_used(self, store: SQLStore) -> None:
        """A summary whose checksum holds but counts three entries where two rows are read (a row deleted)."""
        plan, ledger = self._plan_with_entries(store)
        text = _codec.ledger_summary(ledger.record(_deposit(plan.id, BOOKED + dt.timedelta(days=40), "1.00")))
        self._set_last_row(store, plan.id, text)
        read = _cold(store).load(plan.id).ledger
        assert not _summarized(read)
        assert _totals(read) == _totals(ledger)

    def test_rows_an_older_payplan_wrote_are_replayed(self, store: SQLStore) -> None:
        """An entry row with no summary (written before 0008, or by an older payplan since) is the last: replay."""
        plan, ledger = self._plan_with_entries(store)
        self._set_last_row(store, plan.id, None)
        read = _cold(store).load(plan.id).ledger
        assert not _summarized(read)
        assert _totals(read) == _totals(ledger)
        again = store.record_entries(plan.id, [_deposit(plan.id, BOOKED + dt.timedelta(days=60), "10.00")]).ledger
        read = _cold(store).load(plan.id).ledger
        assert _summarized(read), "the next write puts a summary on its row"
        assert _totals(read) == _totals(again)

    def test_an_entry_edited_by_hand_is_still_a_damaged_row_on_the_next_read(self, store: SQLStore) -> None:
        plan, _ = self._plan_with_entries(store)
        e = entries
        with store.engine.begin() as conn:
            first = conn.execute(
                sqlalchemy.select(e.c.seq, e.c.document).where(e.c.plan_id == plan.id).order_by(e.c.seq).limit(1)
            ).one()
            conn.execute(sqlalchemy.update(e).where(e.c.seq == first.seq).values(
                document=first.document.replace("50000", "5000")
            ))
        with pytest.raises(DamagedRowError, match=plan.id):
            _cold(store).load(plan.id)


def test_a_cancelled_plan_reads_its_cancellation_from_its_row(store: SQLStore) -> None:
    """The summary names the cancellation by id; the ledger holds that very entry, the same as its entries list."""
    plan = make_plan(f"c-{uuid.uuid4().hex[:10]}")
    store.add_plan(plan, entries=[_deposit(plan.id)])
    ledger = store.load(plan.id).ledger
    settlement = settle_cancellation(plan, ledger, BOOKED + dt.timedelta(days=10), policy=CancellationPolicy())
    written = store.record_entries(plan.id, settlement.entries).ledger
    read = _cold(store).load(plan.id).ledger
    assert _summarized(read)
    assert read.cancellation is not None
    assert read.cancellation == written.cancellation
    assert read.cancellation is read.get(read.cancellation.id)
    _same(read, written, plan)


def test_two_threads_reading_the_entries_at_once_decode_them_once(store: SQLStore) -> None:
    plan = make_plan(f"t-{uuid.uuid4().hex[:10]}")
    store.add_plan(plan, entries=[_deposit(plan.id, BOOKED + dt.timedelta(days=k), "1.00") for k in range(50)])
    read = _cold(store).load(plan.id).ledger
    assert _summarized(read)
    seen: list[list[LedgerEntry]] = []
    barrier = threading.Barrier(4)

    def walk() -> None:
        barrier.wait()
        seen.append(list(read))

    threads = [threading.Thread(target=walk) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(seen) == 4
    assert all(s == seen[0] for s in seen)
    assert len(seen[0]) == 50
    assert all(a is b for a, b in zip(seen[0], seen[1], strict=True)), "each entry decoded once"


def test_recording_onto_a_summarized_ledger_writes_a_new_summary(store: SQLStore) -> None:
    """A write after a cold read (the daily run's path) records onto the rebuilt ledger and summarizes again."""
    plan = make_plan(f"w-{uuid.uuid4().hex[:10]}")
    store.add_plan(plan, entries=[_deposit(plan.id)])
    cold = _cold(store)
    after = cold.record_entries(plan.id, [_deposit(plan.id, BOOKED + dt.timedelta(days=31), "250.00")]).ledger
    read = _cold(store).load(plan.id).ledger
    assert _summarized(read)
    assert _totals(read) == _totals(after)
    assert read == after


def test_migration_0008_down_and_up_keeps_every_plan_readable(url: str) -> None:
    """Down to 0007 the summaries go (reads replay); back up, the next write summarizes again."""
    from alembic import command

    from payplan.store.sql import head_revision, schema_revision, upgrade

    store = SQLStore.open(url)
    plan = make_plan(f"m-{uuid.uuid4().hex[:10]}")
    store.add_plan(plan, entries=[_deposit(plan.id)])
    ledger = store.load(plan.id).ledger
    store.close()
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        command.downgrade(_alembic(conn), "0007")
        assert "summary" not in {c["name"] for c in sqlalchemy.inspect(conn).get_columns("payplan_entries")}
    assert schema_revision(engine) == "0007"
    engine.dispose()
    assert upgrade(url) == head_revision()
    store = SQLStore.open(url, plan_cache=0, ledger_cache=0)
    read = store.load(plan.id).ledger
    assert not _summarized(read)
    assert _totals(read) == _totals(ledger)
    store.record_entries(plan.id, [_deposit(plan.id, BOOKED + dt.timedelta(days=30), "100.00")])
    assert _summarized(_cold(store).load(plan.id).ledger)
    store.close()
