"""Engine fixtures: a fresh PostgreSQL database at payplan's schema head (the store suite's own)."""

from __future__ import annotations

from store.conftest import empty_pg, pg_database

__all__ = ["empty_pg", "pg_database"]
