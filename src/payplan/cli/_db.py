"""``payplan db``: the store's schema (``upgrade``, ``current``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..exceptions import StoreError


def register(subs: Any) -> None:
    """Add ``db upgrade`` and ``db current`` to the subcommands."""
    p = subs.add_parser("db", help="the store's database schema: upgrade it, or show its revision")
    verbs = p.add_subparsers(dest="db_command", required=True, parser_class=type(p))
    up = verbs.add_parser("upgrade", help="apply payplan's migrations (safe to run again)")
    up.add_argument("--db", required=True, metavar="URL", help="sqlite:///payplan.db or postgresql+psycopg://...")
    up.add_argument("--revision", default="head", help="the revision to upgrade to (default: head)")
    up.set_defaults(run=run_upgrade)
    cur = verbs.add_parser("current", help="show the database's schema revision and this payplan's")
    cur.add_argument("--db", required=True, metavar="URL")
    cur.set_defaults(run=run_current)


def _sql() -> Any:
    try:
        from ..store import sql
    except ImportError as exc:
        raise StoreError(f"payplan db needs the store extra: pip install 'payplan[store]' ({exc})") from exc
    return sql


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the database at ``--db`` and print the revision it is at."""
    revision = _sql().upgrade(args.db, args.revision)
    print(f"payplan schema at revision {revision}")
    return 0


def run_current(args: argparse.Namespace) -> int:
    """Print the database's revision and the one this payplan expects; exit 1 when they differ."""
    sql = _sql()
    engine = sql._engine(args.db)
    try:
        current = sql.schema_revision(engine)
    finally:
        engine.dispose()
    head = sql.head_revision()
    print(f"database: {current or '(no payplan tables)'}\npayplan:  {head}")
    return 0 if current == head else 1
