"""The store contract on every back end: memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payplan.store import MemoryStore, Store

from .contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return Store.open("memory://")

    def test_open_memory_is_a_memory_store(self) -> None:
        """memory:// opens the in-memory store."""
        assert isinstance(Store.open("memory://"), MemoryStore)


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[Store]:
        s = Store.open(sqlite_url)
        yield s
        s.close()


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[Store]:
        s = Store.open(pg_url)
        yield s
        s.close()


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
