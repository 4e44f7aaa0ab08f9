"""A damaged store is one plan's problem: unreadable or hand-edited rows, errors that say what happened.

On real SQLite and real PostgreSQL (#21, item 5).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store] (SQLAlchemy, Alembic)")

from payplan import (  # noqa: E402
    AmendmentRecord,
    DamagedRowError,
    ExtendDueDate,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    StoreError,
    StoreUnavailableError,
    amend,
)
from payplan.cli import main  # noqa: E402
from payplan.engine import run_due  # noqa: E402
from payplan.store import Store  # noqa: E402
from payplan.store._codec import dumps_entry, dumps_plan_doc  # noqa: E402
from payplan.store._schema import entries, plan_versions, plans  # noqa: E402
from payplan.store.sql import SQLStore, head_revision, schema_revision, upgrade  # noqa: E402

from .helpers import BOOKED, make_plan, postgres_url  # noqa: E402


def _deposit(plan_id: str) -> PaymentReceived:
    return PaymentReceived(f"{plan_id}-dep", BOOKED, Money.of("500.00", "USD"), reference=f"ch_{plan_id}")


def _three(store: SQLStore) -> None:
    for pid in ("a-plan", "b-plan", "c-plan"):
        plan = make_plan(pid)
        store.add_plan(plan, entries=[_deposit(pid)])


def _edit(store: SQLStore, table: sqlalchemy.Table, plan_id: str, document: str, **where: object) -> None:
    """Change a stored document behind the store's back (as a hand edit, or a disk, would)."""
    q = sqlalchemy.update(table).where(table.c.plan_id == plan_id)
    for column, value in where.items():
        q = q.where(table.c[column] == value)
    with store.engine.begin() as conn:
        assert conn.execute(q.values(document=document)).rowcount == 1


def _amended_b(store: SQLStore) -> tuple[PaymentPlan, AmendmentRecord]:
    """b-plan's next version: its second installment a fortnight later."""
    plan = store.load("b-plan").plan
    return amend(plan, ExtendDueDate(2, plan.installments[1].due + dt.timedelta(days=14)), by="staff",
                 reason="asked", on=BOOKED)


def _fresh(store: SQLStore) -> SQLStore:
    """The same database through a new store: nothing cached from the writes."""
    return SQLStore(store.engine)


class TestDamagedRows:
    def test_an_entry_cut_short_is_a_damaged_row_naming_the_plan_and_the_entry(self, store: SQLStore) -> None:
        """A ledger row whose JSON was cut short is a DamagedRowError, never a raw JSONDecodeError."""
        _three(store)
        doc = dumps_entry(_deposit("b-plan"))
        _edit(store, entries, "b-plan", doc[: len(doc) // 2], entry_id="b-plan-dep")
        with pytest.raises(DamagedRowError) as caught:
            _fresh(store).load("b-plan")
        err = caught.value
        assert (err.plan_id, err.table, err.row, err.retryable) == ("b-plan", "payplan_entries", "b-plan-dep", False)
        assert "plan 'b-plan'" in str(err)
        assert "b-plan-dep" in str(err)
        assert isinstance(err.__cause__, ValueError)
        assert _fresh(store).load("a-plan").ledger.paid == Money.of("500.00", "USD")

    def test_an_amount_changed_inside_an_entry_is_detected_by_the_checksum(self, store: SQLStore) -> None:
        """A hand edit that changes only the amount inside an entry's JSON (still valid JSON) is refused on read."""
        _three(store)
        data = json.loads(dumps_entry(_deposit("b-plan")))
        data["amount_minor"] = 5_000_000
        _edit(store, entries, "b-plan", json.dumps(data, sort_keys=True, separators=(",", ":")), entry_id="b-plan-dep")
        with pytest.raises(DamagedRowError, match="does not match the checksum") as caught:
            _fresh(store).load("b-plan")
        assert (caught.value.plan_id, caught.value.row) == ("b-plan", "b-plan-dep")

    def test_a_plan_document_edited_by_hand_is_detected(self, store: SQLStore) -> None:
        """The plan's own document is checked too, on every read (a cached parse does not hide an edit)."""
        _three(store)
        store.load("b-plan")  # parsed and cached
        plan = make_plan("b-plan", fee="3000.00")
        _edit(store, plans, "b-plan", dumps_plan_doc(plan))
        with pytest.raises(DamagedRowError) as caught:
            store.load("b-plan")
        assert (caught.value.table, caught.value.row) == ("payplan_plans", "v1")
        _edit(store, plan_versions, "b-plan", "{", version=1)
        with pytest.raises(DamagedRowError, match="payplan_plan_versions"):
            store.history("b-plan")

    def test_rows_without_a_checksum_still_load(self, store: SQLStore) -> None:
        """Documents written before checksums (a NULL checksum) load unchecked."""
        _three(store)
        with store.engine.begin() as conn:
            conn.execute(sqlalchemy.update(entries).values(checksum=None))
            conn.execute(sqlalchemy.update(plans).values(checksum=None))
        assert _fresh(store).load("b-plan").ledger.paid == Money.of("500.00", "USD")

    def test_plan_documents_the_store_wrote_are_not_validated_again(
        self, store: SQLStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A plan row whose checksum matches is read by the trusted reader: load_plan (every validator) is not run."""
        _three(store)
        store.save_version(*_amended_b(store))
        import payplan.store._codec as codec

        def refuse(document: object) -> object:
            raise AssertionError("the validating reader ran on a document the store wrote")

        monkeypatch.setattr(codec, "load_plan", refuse)
        fresh = _fresh(store)
        assert fresh.load("b-plan").plan == store.load("b-plan").plan
        assert [p.version for p in fresh.history("b-plan").versions] == [1, 2]

    def test_a_plan_row_without_a_checksum_is_validated(self, store: SQLStore) -> None:
        """A row written before checksums (NULL) goes through every validator: a plan that does not add up is refused."""
        _three(store)
        data = json.loads(dumps_plan_doc(make_plan("b-plan")))
        data["plan"]["fee_minor"] += 1
        with store.engine.begin() as conn:
            conn.execute(sqlalchemy.update(plans).where(plans.c.plan_id == "b-plan").values(
                document=json.dumps(data, sort_keys=True, separators=(",", ":")), checksum=None,
            ))
        with pytest.raises(DamagedRowError, match="add up") as caught:
            _fresh(store).load("b-plan")
        assert (caught.value.table, caught.value.row) == ("payplan_plans", "v1")

    def test_active_plans_raises_without_a_handler_and_goes_on_with_one(self, store: SQLStore) -> None:
        """A batch read stops at a damaged plan unless the caller takes damaged plans aside."""
        _three(store)
        _edit(store, entries, "b-plan", "not json", entry_id="b-plan-dep")
        with pytest.raises(DamagedRowError):
            list(_fresh(store).active_plans(batch_size=2))
        hurt: list[DamagedRowError] = []
        got = [s.plan.id for batch in _fresh(store).active_plans(batch_size=1, damaged=hurt.append) for s in batch]
        assert got == ["a-plan", "c-plan"]
        assert [e.plan_id for e in hurt] == ["b-plan"]


class TestTheRunGoesOn:
    @pytest.mark.parametrize("claim", [False, True])
    def test_one_damaged_plan_fails_alone(self, store: SQLStore, claim: bool) -> None:
        """The daily run records the damaged plan as its failure and runs the others (claims: it is released)."""
        _three(store)
        _edit(store, entries, "b-plan", '{"kind": "payment", "id": ', entry_id="b-plan-dep")
        on = dt.date(2026, 12, 20)
        summary = run_due(_fresh(store), [], on, claim=claim, batch_size=2)
        assert [f.plan_id for f in summary.failures] == ["b-plan"]
        assert "payplan_entries" in summary.failures[0].reason
        assert summary.plans == 3
        if claim:
            finished = {c.plan_id for c in store.claims(on) if c.finished_at is not None}
            assert finished == {"a-plan", "c-plan"}
            assert "b-plan" not in {c.plan_id for c in store.claims(on)}  # released: the next run retries it

    def test_payplan_run_exits_1_and_names_the_plan(self, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan run` on a store with one unreadable row: no traceback, the plan named, the others run, exit 1."""
        s = SQLStore.open(sqlite_url)
        try:
            _three(s)
            _edit(s, entries, "a-plan", "", entry_id="a-plan-dep")
        finally:
            s.close()
        code = main(["run", "--db", sqlite_url, "--as-of", "2026-12-20", "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 1
        assert "plan a-plan failed" in err
        assert "damaged" in err
        assert json.loads(out)["plans_seen"] == 3


class TestMigration0006:
    def test_backfilled_checksums_catch_an_edit_made_after_the_upgrade(self, tmp_path: Path) -> None:
        """Rows written at 0005 get their checksums from the migration: they load, and a later edit is caught."""
        db = f"sqlite:///{tmp_path / 'old.db'}"
        assert upgrade(db, "0005") == "0005"
        plan = make_plan("old-plan")
        deposit = _deposit("old-plan")
        engine = sqlalchemy.create_engine(db)
        old = sqlalchemy.MetaData()
        old.reflect(engine)
        with engine.begin() as conn:  # the rows as payplan wrote them before checksums
            doc = dumps_plan_doc(plan)
            conn.execute(old.tables["payplan_plans"].insert().values(
                plan_id=plan.id, version=1, currency="USD", total_minor=plan.total.minor, client=None,
                active=True, shard=7, document=doc,
            ))
            conn.execute(old.tables["payplan_plan_versions"].insert().values(plan_id=plan.id, version=1, document=doc))
            conn.execute(old.tables["payplan_entries"].insert().values(
                plan_id=plan.id, entry_id=deposit.id, kind="payment", on=BOOKED, amount_minor=50000,
                currency="USD", document=dumps_entry(deposit),
            ))
        engine.dispose()
        assert upgrade(db) == head_revision()
        store = Store.open(db)
        assert isinstance(store, SQLStore)
        try:
            with store.engine.connect() as conn:
                assert conn.execute(sqlalchemy.select(entries.c.checksum)).scalar_one() is not None
            assert store.load(plan.id).ledger == Ledger.empty(plan).record(deposit)
            assert len(store.history(plan.id).versions) == 1
            data = json.loads(dumps_entry(deposit))
            data["amount_minor"] = 1
            _edit(store, entries, plan.id, json.dumps(data, sort_keys=True, separators=(",", ":")))
            with pytest.raises(DamagedRowError):
                _fresh(store).load(plan.id)
        finally:
            store.close()


class TestErrorsSayWhatHappened:
    def test_a_full_disk_is_said_and_not_retryable(self, sqlite_url: str) -> None:
        """SQLite's "database or disk is full" is reported as a full disk, not as "did not answer"."""
        store = SQLStore.open(sqlite_url)
        try:
            store.add_plan(make_plan("small"))
            with store.engine.connect() as conn:
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

            @sqlalchemy.event.listens_for(store.engine, "connect")
            def _cap(dbapi: object, _: object) -> None:
                dbapi.execute(f"PRAGMA max_page_count={pages}")  # type: ignore[attr-defined]

            store.engine.dispose()
            big = [PaymentReceived(f"p{n}-" + "x" * 150, BOOKED, Money(1, "USD"), reference=f"r{n}-" + "r" * 200)
                   for n in range(400)]
            with pytest.raises(StoreError, match="disk is full") as caught:
                store.record_entries("small", big)
            assert caught.value.retryable is False
            assert not isinstance(caught.value, StoreUnavailableError)
        finally:
            store.close()

    def test_a_read_only_sqlite_file_is_said_and_not_retryable(self, sqlite_url: str) -> None:
        """A database opened read-only refuses writes as read-only, not as "did not answer"."""
        store = SQLStore.open(sqlite_url)
        store.add_plan(make_plan("ro"))
        store.close()
        path = sqlite_url.removeprefix("sqlite:///")
        ro = SQLStore.open(f"sqlite:///file:{path}?mode=ro&uri=true")
        try:
            assert ro.load("ro").plan.id == "ro"
            with pytest.raises(StoreError, match="read-only") as caught:
                ro.record_entries("ro", [_deposit("ro")])
            assert caught.value.retryable is False
        finally:
            ro.close()

    @pytest.mark.postgres
    def test_a_read_only_postgres_database_is_said(self, pg_url: str) -> None:
        """PostgreSQL's read-only transaction (SQLSTATE 25006) is read-only, not retryable."""
        store = SQLStore.open(pg_url)
        store.add_plan(make_plan("ro"))
        store.close()
        ro = SQLStore.open(pg_url, connect_args={"options": "-c default_transaction_read_only=on"})
        try:
            assert ro.load("ro").plan.id == "ro"
            with pytest.raises(StoreError, match="read-only") as caught:
                ro.record_entries("ro", [_deposit("ro")])
            assert caught.value.retryable is False
        finally:
            ro.close()

    @pytest.mark.postgres
    def test_a_refused_login_is_authentication_not_retryable(self, pg_url: str) -> None:
        """A login the server refuses (a user it does not know) is an authentication failure, not "did not answer", and not retryable."""
        secret = "pw-" + uuid.uuid4().hex
        bad = sqlalchemy.engine.make_url(pg_url).set(username="nobody_" + uuid.uuid4().hex[:8], password=secret)
        with pytest.raises(StoreError, match="authentication failed") as caught:
            SQLStore.open(bad.render_as_string(hide_password=False))
        assert caught.value.retryable is False
        assert secret not in str(caught.value)

    @pytest.mark.postgres
    def test_a_wrong_password_is_authentication_not_retryable(self, pg_url: str) -> None:
        """The test server asks for a password over TCP (scripts/postgres.sh: scram-sha-256): the right user with a wrong one is refused as authentication."""
        good = sqlalchemy.engine.make_url(pg_url)
        if not good.password:
            pytest.skip("this PostgreSQL server lets logins in without a password (scripts/postgres.sh asks for one)")
        bad = good.set(password="not-" + uuid.uuid4().hex)
        with pytest.raises(StoreError, match=r"authentication failed \(wrong password\?\)") as caught:
            SQLStore.open(bad.render_as_string(hide_password=False))
        err = caught.value
        assert err.retryable is False
        assert not isinstance(err, StoreUnavailableError)
        assert "did not answer" not in str(err)
        assert bad.password not in str(err)
        assert "password=***" in str(err) or ":***@" in str(err)
        with pytest.raises(StoreError, match="none was given") as caught:  # no password at all: libpq's own flag
            SQLStore.open(good._replace(password=None).render_as_string(hide_password=False))
        assert caught.value.retryable is False
        SQLStore.open(pg_url).close()  # the right one still opens

    @pytest.mark.postgres
    def test_a_full_disk_on_postgres_is_said_and_not_retryable(self, tmp_path: Path) -> None:
        """PostgreSQL's own disk_full (SQLSTATE 53100), produced for real: a full disk, not "did not answer", not retryable.

        A server of its own, started by scripts/postgres.sh under `ulimit -f` (no file may grow past
        3001 KiB; no privilege needed): a table that grows past it gets a short write, which
        PostgreSQL reports as 53100 "could not extend file ... Check free disk space".
        """
        postgres_url()  # the PostgreSQL suite runs (the server's binaries are there)
        script = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"
        env = {**os.environ, "PAYPLAN_PG_STATE": str(tmp_path / "pg"), "PAYPLAN_PG_FILE_LIMIT_KB": "3001"}
        started = subprocess.run([str(script), "start"], env=env, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        try:
            store = SQLStore.open(url, create=True)
            try:
                store.add_plan(make_plan("filler"))
                store.add_plan(make_plan("small"))
                psycopg = pytest.importorskip("psycopg")
                raw = sqlalchemy.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
                filled = None
                with psycopg.connect(raw, autocommit=True) as conn:  # the filler's rows, until the file is full
                    for n in range(100):
                        try:
                            conn.execute(
                                "INSERT INTO payplan_entries (plan_id, entry_id, kind, \"on\", amount_minor, currency, "
                                "document) SELECT 'filler', %s || g, 'payment', DATE '2026-12-01', 1, 'USD', "
                                "repeat(md5(g::text), 40) FROM generate_series(1, 500) g",
                                (f"f{n}-",),
                            )
                        except psycopg.errors.DiskFull as exc:
                            filled = exc
                            break
                assert filled is not None, "the table never filled the file-size limit"
                big = [PaymentReceived(f"p{n}-" + "x" * 150, BOOKED, Money(1, "USD"), reference=f"r{n}-" + "r" * 600)
                       for n in range(400)]
                with pytest.raises(StoreError, match="disk is full") as caught:
                    store.record_entries("small", big)
                err = caught.value
                assert err.retryable is False
                assert not isinstance(err, StoreUnavailableError)
                assert "did not answer" not in str(err)
                assert isinstance(err.__cause__, sqlalchemy.exc.DBAPIError)
                assert err.__cause__.orig.sqlstate == "53100"  # type: ignore[union-attr]
                assert store.load("small").ledger.paid.minor == 0  # nothing written, and reads go on
            finally:
                store.close()
        finally:
            subprocess.run([str(script), "stop"], env=env, capture_output=True, timeout=120)

    def test_a_server_that_does_not_answer_is_still_retryable(self) -> None:
        """Nothing listening: unavailable and retryable, as before."""
        pytest.importorskip("psycopg")
        with pytest.raises(StoreUnavailableError) as caught:
            SQLStore.open("postgresql+psycopg://u:pw@127.0.0.1:9/none?connect_timeout=2")
        assert caught.value.retryable is True


# A worker that upgrades each database named on its stdin and answers one line per database, so
# the two workers start each round together and the rounds cost no interpreter start-up.
_UPGRADE = """
import sys
from payplan.store.sql import upgrade
for line in sys.stdin:
    try:
        print(upgrade(line.strip()), flush=True)
    except Exception as exc:
        print(f"ERROR {type(exc).__name__}: {exc}".replace(chr(10), " "), flush=True)
"""


@pytest.mark.postgres
def test_two_upgrades_at_once_on_an_empty_postgres_database() -> None:
    """Two `db upgrade` at once on an empty database: both answer the head, one applied, round after round."""
    base = postgres_url()
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    workers = [
        subprocess.Popen([sys.executable, "-c", _UPGRADE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
        for _ in range(2)
    ]
    names: list[str] = []
    try:
        for _ in range(12):
            name = f"payplan_up_{uuid.uuid4().hex[:10]}"
            names.append(name)
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            db = sqlalchemy.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
            for w in workers:
                assert w.stdin is not None
                w.stdin.write(db + "\n")
                w.stdin.flush()
            answers = [w.stdout.readline().strip() for w in workers if w.stdout is not None]
            assert answers == [head_revision(), head_revision()]
            engine = sqlalchemy.create_engine(db)
            assert schema_revision(engine) == head_revision()
            engine.dispose()
    finally:
        for w in workers:
            assert w.stdin is not None
            w.stdin.close()
            w.wait(timeout=60)
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
