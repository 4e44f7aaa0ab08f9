"""Opening a store from a URL."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..exceptions import StoreError

if TYPE_CHECKING:
    from ._model import Store

__all__ = ["open_store"]


def open_store(url: str, **options: Any) -> Store:
    """Open the store at *url*.

    ``memory://`` gives a :class:`~payplan.store.MemoryStore`;
    ``sqlite:///path.db`` (the default back end: a file, WAL mode, a busy
    timeout) and ``postgresql+psycopg://user@host/db`` give a
    :class:`~payplan.store.sql.SQLStore`, which needs the ``payplan[store]``
    extra (and ``payplan[postgres]`` for PostgreSQL) and a schema at the
    code's revision (``payplan db upgrade --db URL``; ``create=True`` in
    *options* upgrades it on open, as a site's start-up may).

    Raises:
        StoreError: a URL payplan cannot open, or the extra is missing.
        StoreUnavailableError: the database did not answer.
        SchemaVersionError: the schema is older or newer than the code; the
            message says what to run.

    .. versionadded:: 0.1.0
    """
    if not isinstance(url, str):
        raise StoreError(f"expected a database URL such as 'sqlite:///payplan.db', got {url!r}")
    if url.startswith("memory:"):
        from ._memory import MemoryStore

        if options:
            raise StoreError(f"expected no options for the in-memory store, got {sorted(options)}")
        return MemoryStore()
    scheme = url.split(":", 1)[0]
    if not scheme.startswith(("sqlite", "postgresql")):
        raise StoreError(
            "expected a URL starting memory://, sqlite:/// or postgresql+psycopg://, "
            f"got {_redacted(url)!r}"
        )
    try:
        from .sql import SQLStore
    except ImportError as exc:
        raise StoreError(
            f"the SQL store needs SQLAlchemy and Alembic: pip install 'payplan[store]' ({exc})"
        ) from exc
    return SQLStore.open(url, **options)


def _redacted(url: str) -> str:
    """*url* without its password (in the credentials or a ``password=`` query parameter), for messages and logs."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, q, query = rest.partition("?")
    if q:
        query = re.sub(r"(?i)(^|&)(password|pass|passwd)=[^&]*", r"\1\2=***", query)
    if "@" in rest:
        creds, at, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        if ":" in creds:
            rest = f"{user}:***{at}{host}"
    return f"{head}://{rest}{q}{query}"
