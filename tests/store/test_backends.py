"""The store contract on every back end: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from payplan.store import MemoryStore, Store

from .conftest import empty_pg
from .contract import StoreContract, deliveries_property


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return Store.open("memory://")

    @pytest.fixture
    def new_store(self) -> Callable[[], Store]:
        return lambda: Store.open("memory://")

    def test_open_memory_is_a_memory_store(self) -> None:
        """memory:// opens the in-memory store."""
        assert isinstance(Store.open("memory://"), MemoryStore)


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[Store]:
        s = Store.open(sqlite_url)
        yield s
        s.close()

    @pytest.fixture
    def new_store(self, sqlite_url: str, tmp_path: Path) -> Iterator[Callable[[], Store]]:
        """A new SQLite file per call, copied from the upgraded (empty) one: nothing shared between examples."""
        template = Path(sqlite_url.removeprefix("sqlite:///"))
        opened: list[Store] = []

        def make() -> Store:
            path = tmp_path / f"example-{len(opened)}.db"
            shutil.copyfile(template, path)
            opened.append(Store.open(f"sqlite:///{path}"))
            return opened[-1]

        yield make
        for s in opened:
            s.close()

    test_any_deliveries_give_the_ordered_ledger = deliveries_property(100)


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[Store]:
        s = Store.open(pg_url)
        yield s
        s.close()

    @pytest.fixture
    def new_store(self, pg_url: str) -> Iterator[Callable[[], Store]]:
        """The test's database emptied (every payplan row deleted) per call: nothing shared between examples."""
        opened: list[Store] = []

        def make() -> Store:
            for s in opened:
                s.close()
            opened.clear()
            empty_pg(pg_url)
            opened.append(Store.open(pg_url))
            return opened[-1]

        yield make
        for s in opened:
            s.close()

    test_any_deliveries_give_the_ordered_ledger = deliveries_property(50)


def test_store_module_imports_no_database_driver() -> None:
    """`import payplan.store` loads neither SQLAlchemy nor a driver (the SQL store is an extra)."""
    import subprocess
    import sys

    code = (
        "import sys, payplan, payplan.store; "
        "print(','.join(m for m in ('sqlalchemy', 'alembic', 'psycopg', 'sqlite3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
