"""Store fixtures: one empty store per test, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import postgres_url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database at payplan's schema head, for this test session."""
    url = postgres_url()
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from payplan.store.sql import upgrade

    name = f"payplan_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    test_url = sqlalchemy.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    upgrade(test_url)
    yield test_url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def empty_pg(url: str) -> None:
    """Delete every payplan row (faster than a database per test)."""
    import sqlalchemy

    from payplan.store.sql import metadata

    engine = sqlalchemy.create_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    empty_pg(pg_database)
    return pg_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite file at payplan's schema head."""
    pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store] (SQLAlchemy, Alembic)")
    from payplan.store.sql import upgrade

    url = f"sqlite:///{tmp_path / 'payplan.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    """An empty database at payplan's schema head, on SQLite and on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def store(url: str) -> Iterator[Any]:
    """An SQL store over :func:`url`, closed after the test (a module's own ``store`` fixture overrides it)."""
    from payplan.store.sql import SQLStore

    opened = SQLStore.open(url)
    yield opened
    opened.close()
