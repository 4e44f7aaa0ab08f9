"""Inbox events, provider bindings and lifecycle steps carry checksums (#21, item 5; migration 0007).

A hand edit that changes a value inside their JSON (still valid JSON) is
refused on read as a DamagedRowError naming the plan and the row. On real
SQLite and real PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store] (SQLAlchemy, Alembic)")

from alembic import command  # noqa: E402

from payplan import DamagedRowError, Money  # noqa: E402
from payplan.providers import EventKind, ProviderBinding, ProviderEvent  # noqa: E402
from payplan.store import InboxStatus, Step, StepStatus  # noqa: E402
from payplan.store._schema import bindings, steps, webhook_events  # noqa: E402
from payplan.store.sql import SQLStore, _alembic, head_revision, schema_revision  # noqa: E402

from .helpers import BOOKED, make_plan  # noqa: E402


def _payment(plan_id: str, event_id: str, minor: int = 50000) -> ProviderEvent:
    return ProviderEvent(
        f"sandbox_{event_id}", "sandbox", EventKind.PAYMENT_SUCCEEDED, plan_id, BOOKED, 1,
        Money(minor, "USD"), reference=f"ch_{event_id}", sequence=1,
    )


def _refund_first(plan_id: str) -> ProviderEvent:
    """A refund of a payment the ledger has not seen yet: the inbox keeps it deferred."""
    return ProviderEvent(
        "sandbox_rf1", "sandbox", EventKind.REFUNDED, plan_id, BOOKED, None, Money(100, "USD"),
        reference="ch_later", sequence=2,
    )


def _set(store: SQLStore, table: sqlalchemy.Table, where: Any, **values: Any) -> None:
    """Change a row behind the store's back (as a hand edit would)."""
    with store.engine.begin() as conn:
        assert conn.execute(sqlalchemy.update(table).where(where).values(**values)).rowcount == 1


def _amount_edited(document: str, minor: int) -> str:
    data = json.loads(document)
    data["amount_minor"] = minor
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class TestInboxEvents:
    def test_an_amount_changed_inside_an_event_is_refused(self, store: SQLStore) -> None:
        """The event's JSON still parses, its amount is another: inbox() refuses it, naming the plan and the event."""
        store.add_plan(make_plan("a-plan"))
        store.add_plan(make_plan("b-plan"))
        store.ingest(_payment("a-plan", "a1"), b'{"id": "a1"}')
        store.ingest(_payment("b-plan", "b1"), b'{"id": "b1"}')
        w = webhook_events
        with store.engine.connect() as conn:
            doc = conn.execute(sqlalchemy.select(w.c.event).where(w.c.event_id == "sandbox_b1")).scalar_one()
        _set(store, w, w.c.event_id == "sandbox_b1", event=_amount_edited(doc, 5_000_000))
        with pytest.raises(DamagedRowError, match="does not match the checksum") as caught:
            store.inbox()
        err = caught.value
        assert (err.plan_id, err.table, err.row, err.retryable) == ("b-plan", "payplan_webhook_events", "sandbox_b1", False)
        assert [e.event.id for e in store.inbox(plan_id="a-plan")] == ["sandbox_a1"]  # the other plan reads

    def test_a_raw_body_changed_is_refused(self, store: SQLStore) -> None:
        """The raw body kept beside the event is covered too (by its digest)."""
        store.add_plan(make_plan("a-plan"))
        store.ingest(_payment("a-plan", "a1"), b'{"id": "a1", "amount": 50000}')
        _set(store, webhook_events, webhook_events.c.event_id == "sandbox_a1", body=b'{"id": "a1", "amount": 1}')
        with pytest.raises(DamagedRowError, match="payplan_webhook_events"):
            store.inbox(plan_id="a-plan")

    def test_a_deferred_event_edited_is_not_applied(self, store: SQLStore) -> None:
        """A deferred event is applied when a later event unblocks it: edited, it stops that plan, nothing recorded."""
        store.add_plan(make_plan("a-plan"))
        assert store.ingest(_refund_first("a-plan"), b"{}").status is InboxStatus.DEFERRED
        w = webhook_events
        with store.engine.connect() as conn:
            doc = conn.execute(sqlalchemy.select(w.c.event).where(w.c.event_id == "sandbox_rf1")).scalar_one()
        _set(store, w, w.c.event_id == "sandbox_rf1", event=_amount_edited(doc, 40000))
        with pytest.raises(DamagedRowError) as caught:
            store.ingest(_payment("a-plan", "later"), b"{}")
        assert (caught.value.plan_id, caught.value.row) == ("a-plan", "sandbox_rf1")
        assert len(SQLStore(store.engine).load("a-plan").ledger) == 0


class TestBindings:
    def test_a_subscription_id_changed_is_refused(self, store: SQLStore) -> None:
        """A binding whose ids were edited (another subscription's id) is refused by current_binding() and bindings()."""
        store.add_plan(make_plan("a-plan"))
        store.save_binding(ProviderBinding("sandbox", "a-plan", 1, {"subscription": "sub_1"}, None, "active"))
        b = bindings
        _set(store, b, b.c.plan_id == "a-plan", ids=json.dumps({"subscription": "sub_someone_else"}))
        with pytest.raises(DamagedRowError, match="payplan_bindings") as caught:
            store.current_binding("a-plan")
        assert (caught.value.plan_id, caught.value.row) == ("a-plan", "sandbox")
        with pytest.raises(DamagedRowError):
            store.bindings("a-plan")

    def test_a_version_or_order_changed_is_refused_and_a_new_save_is_read(self, store: SQLStore) -> None:
        """The version and the save order are covered; saving the binding again writes a fresh checksum."""
        store.add_plan(make_plan("a-plan"))
        store.save_binding(ProviderBinding("sandbox", "a-plan", 1, {"subscription": "sub_1"}))
        _set(store, bindings, bindings.c.plan_id == "a-plan", plan_version=2)
        with pytest.raises(DamagedRowError):
            store.current_binding("a-plan")
        _set(store, bindings, bindings.c.plan_id == "a-plan", plan_version=1, saved=9)
        with pytest.raises(DamagedRowError):
            store.current_binding("a-plan")
        store.save_binding(ProviderBinding("sandbox", "a-plan", 1, {"subscription": "sub_2"}))
        got = store.current_binding("a-plan")
        assert got is not None
        assert got.ids == {"subscription": "sub_2"}


class TestSteps:
    def test_a_step_document_or_status_changed_is_refused(self, store: SQLStore) -> None:
        """A step's decision (its document) or status edited: steps() and finish_step() refuse it."""
        step = store.reserve_step(Step("k1", "a-plan", "cancel", '{"refund":{"minor":50000}}'))
        assert store.steps(plan_id="a-plan") == (step,)
        _set(store, steps, steps.c.key == "k1", document='{"refund":{"minor":99999}}')
        with pytest.raises(DamagedRowError, match="payplan_steps") as caught:
            store.steps(plan_id="a-plan")
        assert (caught.value.plan_id, caught.value.row) == ("a-plan", "k1")
        with pytest.raises(DamagedRowError):  # never signed again as the store's own
            store.finish_step("k1", "{}")
        with pytest.raises(DamagedRowError):
            store.reserve_step(Step("k1", "a-plan", "cancel", "{}"))
        _set(store, steps, steps.c.key == "k1", document='{"refund":{"minor":50000}}', status="done")
        with pytest.raises(DamagedRowError):
            store.steps()

    def test_finishing_a_step_keeps_it_readable(self, store: SQLStore) -> None:
        """finish_step writes a new checksum over the new status and result."""
        store.reserve_step(Step("k1", "a-plan", "book", "{}"))
        done = store.finish_step("k1", '{"deposit":"succeeded"}')
        assert store.steps(status=StepStatus.DONE) == (done,)
        failed = store.finish_step("k1", '{"error":"no"}', status=StepStatus.FAILED)
        assert SQLStore(store.engine).steps() == (failed,)


def test_migration_0007_backfills_what_the_store_writes(url: str) -> None:
    """Rows written by the store, their checksums dropped (down to 0006) and backfilled again: the same checksums.

    So the migration's formula is the store's, and rows from before 0007 are checked from then on.
    """
    store = SQLStore.open(url)
    try:
        store.add_plan(make_plan("a-plan"))
        store.ingest(_payment("a-plan", "a1"), b'{"id": "a1", "caf\xc3\xa9": 1}')
        store.ingest(_refund_first("a-plan"), b"{}")
        store.save_binding(ProviderBinding("sandbox", "a-plan", 1, {"subscription": "sub_\u00e9"}, "https://x/a", None))
        store.reserve_step(Step("k1", "a-plan", "book", '{"plan":"\u00e9"}'))
        store.finish_step("k1", None)
        store.reserve_step(Step("k2", "a-plan", "refund", "[]"))

        def checksums() -> dict[str, list[Any]]:
            with store.engine.connect() as conn:
                return {
                    t.name: sorted(conn.execute(sqlalchemy.select(t.c.checksum)).scalars())
                    for t in (webhook_events, bindings, steps)
                }

        written = checksums()
        assert all(v and None not in v for v in written.values()), written
        with store.engine.begin() as conn:
            command.downgrade(_alembic(conn), "0006")
        assert schema_revision(store.engine) == "0006"
        with store.engine.begin() as conn:
            command.upgrade(_alembic(conn), "head")
        assert schema_revision(store.engine) == head_revision()
        assert checksums() == written
        fresh = SQLStore(store.engine)
        assert len(fresh.inbox()) == 2
        assert fresh.current_binding("a-plan") is not None
        assert len(fresh.steps()) == 2
    finally:
        store.close()
