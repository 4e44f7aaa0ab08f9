"""The SQL store's own promises: schema, migrations, URLs, column types, what a write touches."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store] (SQLAlchemy, Alembic)")

from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402

from payplan import Money, PaymentReceived, SchemaVersionError, StoreError, StoreUnavailableError  # noqa: E402
from payplan.cli import main  # noqa: E402
from payplan.store import SignedAgreement, Store  # noqa: E402
from payplan.store.sql import VERSION_TABLE, SQLStore, head_revision, metadata, schema_revision, upgrade  # noqa: E402

from .helpers import make_plan  # noqa: E402


def _pay(n: int) -> PaymentReceived:
    return PaymentReceived(f"pay-{n}", dt.date(2026, 12, 1), Money(100, "USD"))




class TestSchema:
    def test_migrations_build_exactly_the_metadata(self, url: str) -> None:
        """After `upgrade`, Alembic finds no difference between the database and payplan's metadata."""
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(ctx, metadata) == []
        assert schema_revision(engine) == head_revision()
        engine.dispose()

    def test_own_version_table_and_prefixed_tables(self) -> None:
        """payplan's tables all start with payplan_ and its revision lives apart from a site's."""
        assert VERSION_TABLE == "payplan_alembic_version"
        assert all(t.name.startswith("payplan_") for t in metadata.sorted_tables)

    def test_money_is_integer_minor_units_and_dates_are_dates(self) -> None:
        """No float or fixed-decimal column anywhere; every *_minor is BIGINT beside a currency; dates are DATE."""
        for table in metadata.sorted_tables:
            for col in table.columns:
                assert not isinstance(col.type, sqlalchemy.Float | sqlalchemy.Numeric) or isinstance(
                    col.type, sqlalchemy.Integer
                ), f"{table.name}.{col.name}"
                if col.name.endswith("_minor"):
                    assert isinstance(col.type, sqlalchemy.BigInteger)
                    assert "currency" in table.columns
                if col.name in ("on", "occurred_on"):
                    assert isinstance(col.type, sqlalchemy.Date)

    def test_uniqueness_in_the_database(self) -> None:
        """(plan, entry id) and (provider, event id) are unique constraints, not read-then-write checks."""
        def uniques(name: str) -> set[tuple[str, ...]]:
            table = metadata.tables[name]
            return {
                tuple(c.name for c in u.columns)
                for u in table.constraints if isinstance(u, sqlalchemy.UniqueConstraint)
            }

        assert ("plan_id", "entry_id") in uniques("payplan_entries")
        assert ("provider", "event_id") in uniques("payplan_webhook_events")

    def test_upgrade_twice_changes_nothing(self, url: str) -> None:
        """Upgrading a database already at the head is a no-op that keeps the data."""
        s = SQLStore.open(url)
        s.add_plan(make_plan("kept"), entries=[_pay(1)])
        assert upgrade(url) == head_revision()
        assert len(s.load("kept").ledger) == 1
        s.close()


class TestOpening:
    def test_sqlite_by_default_is_wal_with_a_busy_timeout(self, tmp_path: Path) -> None:
        """An SQLite store is in WAL mode with a busy timeout, created with create=True."""
        s = Store.open(f"sqlite:///{tmp_path / 'x.db'}", create=True, busy_timeout=7)
        assert isinstance(s, SQLStore)
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
        s.close()

    def test_empty_database_says_what_to_run(self, tmp_path: Path) -> None:
        """A database without payplan's tables is refused with the command to run; nothing is created."""
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        with pytest.raises(SchemaVersionError, match="payplan db upgrade --db URL"):
            Store.open(url)
        engine = sqlalchemy.create_engine(url)
        assert sqlalchemy.inspect(engine).get_table_names() == []
        engine.dispose()

    def test_newer_schema_is_refused_and_nothing_written(self, url: str) -> None:
        """A store on a newer schema says so (upgrade payplan); its rows are untouched."""
        s = SQLStore.open(url)
        s.add_plan(make_plan("old"), entries=[_pay(1)])
        s.close()
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'")
        with pytest.raises(SchemaVersionError, match=r"newer than this payplan knows.*upgrade payplan"):
            Store.open(url)
        with pytest.raises(SchemaVersionError, match="newer"):
            upgrade(url)
        with engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM payplan_entries").scalar() == 1
            conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '{head_revision()}'")
        engine.dispose()

    def test_wrong_urls_are_clear_errors(self, tmp_path: Path) -> None:
        """Malformed, foreign, unreachable URLs: a StoreError that says what was expected, never a traceback."""
        with pytest.raises(StoreError, match="expected a URL starting memory://"):
            Store.open("mysql://root@localhost/x")
        with pytest.raises(StoreError, match="expected a database URL"):
            Store.open(42)  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="psycopg 3"):
            Store.open("postgresql+asyncpg://u@127.0.0.1/x")
        with pytest.raises(StoreUnavailableError, match=r"u:\*\*\*@127\.0\.0\.1.*did not answer") as info:
            Store.open("postgresql+psycopg://u:hunter2@127.0.0.1:1/x", connect_args={"connect_timeout": 2})
        assert "hunter2" not in str(info.value)
        with pytest.raises(StoreUnavailableError, match=r"password=\*\*\*") as info:
            Store.open("postgresql+psycopg://u@127.0.0.1:1/x?password=hunter3", connect_args={"connect_timeout": 2})
        assert "hunter3" not in str(info.value)
        with pytest.raises(StoreError, match="cannot be opened") as missing:  # not "did not answer": a missing folder
            Store.open(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
        assert not isinstance(missing.value, StoreUnavailableError)
        assert missing.value.retryable is False

    def test_cli_db_upgrade_and_current(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan db upgrade --db URL` applies the migrations; `current` reports the revision."""
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        assert main(["db", "current", "--db", url]) == 1
        assert "(no payplan tables)" in capsys.readouterr().out
        assert main(["db", "upgrade", "--db", url]) == 0
        assert head_revision() in capsys.readouterr().out
        assert main(["db", "current", "--db", url]) == 0
        assert main(["db", "upgrade", "--db", "oracle://x"]) == 2
        assert "expected an SQLite or PostgreSQL URL" in capsys.readouterr().err


class TestWrites:
    def test_recording_an_entry_writes_one_row_whatever_the_ledger_length(self, store: SQLStore) -> None:
        """Appending to a ledger of 1 or of 200 entries issues the same writes: one INSERT, nothing rewritten."""
        store.add_plan(make_plan("short"), entries=[_pay(0)])
        store.add_plan(make_plan("long"), entries=[_pay(n) for n in range(200)])
        writes: list[str] = []

        def spy(conn: object, cursor: object, statement: str, *args: object) -> None:
            verb = statement.lstrip().split()[0].upper()
            if verb in ("INSERT", "UPDATE", "DELETE"):
                writes.append(f"{verb} {statement.split()[2]}")

        sqlalchemy.event.listen(store.engine, "before_cursor_execute", spy)
        store.record_entries("short", [_pay(1000)])
        short = list(writes)
        writes.clear()
        store.record_entries("long", [_pay(1000)])
        sqlalchemy.event.remove(store.engine, "before_cursor_execute", spy)
        assert short == writes == ["INSERT payplan_entries"]


class TestAgreements:
    def test_signature_keeps_its_instant_and_digest(self, store: SQLStore) -> None:
        """The signature's time comes back as the same instant, with the SHA-256 of the exact text."""
        plan = make_plan("signed")
        store.add_plan(plan)
        at = dt.datetime(2026, 12, 1, 23, 45, 10, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        signed = SignedAgreement(plan.id, 1, "I agree to pay 2000.00 USD.", "Ana", at)
        store.save_agreement(signed)
        (back,) = store.agreements(plan.id)
        assert back == signed
        assert back.signed_at == at
        assert back.signed_at.utcoffset() is not None
        assert back.sha256 == hashlib.sha256(b"I agree to pay 2000.00 USD.").hexdigest()

    def test_a_text_changed_after_signing_is_refused(self, store: SQLStore) -> None:
        """Editing the stored text behind the store's back is caught by the digest taken at signing."""
        plan = make_plan("tampered")
        store.add_plan(plan)
        at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
        store.save_agreement(SignedAgreement(plan.id, 1, "I agree to pay 2000.00 USD.", "Ana", at))
        table = metadata.tables["payplan_agreements"]
        with store.engine.begin() as conn:
            conn.execute(sqlalchemy.update(table).values(text="I agree to pay 20.00 USD."))
        with pytest.raises(StoreError, match="SHA-256 taken when it was signed"):
            store.agreements(plan.id)

    def test_evidence_changed_after_signing_is_refused(self, store: SQLStore) -> None:
        """Editing the stored evidence pack behind the store's back is caught by its digest."""
        plan = make_plan("tampered-evidence")
        store.add_plan(plan)
        at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
        store.save_agreement(SignedAgreement(plan.id, 1, "I agree.", "Ana", at, evidence='{"format": 1}'))
        table = metadata.tables["payplan_agreements"]
        with store.engine.begin() as conn:
            conn.execute(sqlalchemy.update(table).values(evidence='{"format": 1, "ip": "forged"}'))
        with pytest.raises(StoreError, match="evidence pack of tampered-evidence v1 to match the SHA-256"):
            store.agreements(plan.id)

    def test_migration_0005_keeps_the_agreements(self, url: str) -> None:
        """Down to 0004 and up again, an agreement signed with evidence keeps its text; the evidence column comes back empty."""
        from alembic import command

        from payplan.store.sql import _alembic

        s = SQLStore.open(url)
        plan = make_plan("around-0005")
        s.add_plan(plan)
        at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        s.save_agreement(SignedAgreement(plan.id, 1, "I agree.", "Ana", at, evidence='{"format": 1}'))
        s.close()
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "0004")
            assert "evidence" not in {c["name"] for c in sqlalchemy.inspect(conn).get_columns("payplan_agreements")}
        engine.dispose()
        assert upgrade(url) == head_revision()
        s = SQLStore.open(url)
        (back,) = s.agreements(plan.id)
        assert (back.text, back.evidence, back.evidence_pack()) == ("I agree.", None, None)
        s.close()

    def test_a_naive_signature_time_is_refused(self) -> None:
        """A time without a zone cannot say when the client signed."""
        with pytest.raises(StoreError, match="timezone-aware"):
            SignedAgreement("p", 1, "text", "Ana", dt.datetime(2026, 12, 1, 9, 0))
