"""Bookings fixtures: an empty store per test on memory, SQLite and PostgreSQL (the store suite's own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payplan.store import MemoryStore, Store
from store.conftest import pg_database, pg_url, sqlite_url  # noqa: F401 - fixtures shared with the store suite


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store on each back end."""
    if request.param == "memory":
        yield MemoryStore()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    opened = Store.open(url)
    yield opened
    opened.close()
