"""Migration 0002 (the daily run's claims) upgrades a store at 0001 that holds data, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store]")

from payplan import Ledger, Money, PaymentReceived, SchemaVersionError  # noqa: E402
from payplan.store import ReminderStatus, Store  # noqa: E402
from payplan.store._codec import dumps_entry, dumps_plan_doc  # noqa: E402
from payplan.store._schema import entries, plan_versions, plans, reminders  # noqa: E402
from payplan.store.sql import head_revision, schema_revision, upgrade  # noqa: E402

from .helpers import make_plan, postgres_url  # noqa: E402

ON = dt.date(2027, 1, 1)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no payplan tables) on each back end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = postgres_url()
    name = f"payplan_mig_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sqlalchemy.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_upgrade_from_0001_keeps_the_data_and_adds_the_claims(fresh_url: str) -> None:
    """A store written at 0001 (a plan, its deposit, a reminder a crash left reserved) upgrades to the head:
    the plan and ledger load back, the reserved reminder is found, and the run can claim the plan."""
    assert upgrade(fresh_url, "0001") == "0001"
    with pytest.raises(SchemaVersionError, match="older"):
        Store.open(fresh_url)
    plan = make_plan("kept-0001")
    deposit = PaymentReceived("dep", plan.booked, Money.of("500.00", "USD"))
    engine = sqlalchemy.create_engine(fresh_url)
    with engine.begin() as conn:  # the rows as payplan 0.1.0 wrote them
        doc = dumps_plan_doc(plan)
        conn.execute(plans.insert().values(
            plan_id=plan.id, version=plan.version, currency="USD", total_minor=plan.total.minor, client=None,
            active=True, shard=7, document=doc,
        ))
        conn.execute(plan_versions.insert().values(plan_id=plan.id, version=plan.version, document=doc))
        conn.execute(entries.insert().values(
            plan_id=plan.id, entry_id="dep", kind=deposit.kind, on=deposit.on, amount_minor=50000, currency="USD",
            document=dumps_entry(deposit),
        ))
        conn.execute(reminders.insert().values(plan_id=plan.id, reminder_id="r-cut", on=ON, status="reserved"))
        conn.execute(reminders.insert().values(plan_id=plan.id, reminder_id="r-sent", on=ON, status="sent"))
    assert schema_revision(engine) == "0001"
    engine.dispose()

    assert upgrade(fresh_url) == head_revision()
    store = Store.open(fresh_url)
    try:
        assert store.load(plan.id).ledger == Ledger.empty(plan).record(deposit)
        assert [(r.reminder_id, r.status) for r in store.reserved_reminders()] == [("r-cut", ReminderStatus.RESERVED)]
        (claimed,) = store.claim_plans(ON, "w1")
        assert claimed.plan == plan
        store.finish_claims(ON, "w1", [plan.id])
        assert store.claim_plans(ON, "w2") == ()
    finally:
        store.close()
