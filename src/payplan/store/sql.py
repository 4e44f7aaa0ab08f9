"""The SQL store: SQLAlchemy 2.x Core on SQLite (the default) or PostgreSQL (psycopg 3).

Needs the ``payplan[store]`` extra (``payplan[postgres]`` adds psycopg).
Tables live on payplan's own :data:`metadata` (no ORM classes to clash with
a site's models); a site that runs one Alembic set-up of its own can
include it, or run payplan's migrations with :func:`upgrade` (``payplan db
upgrade --db URL``), which keep their own version table,
``payplan_alembic_version``.

Each public method is one transaction. Writers of one plan take the plan's
row lock first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` write lock), so two workers applying webhooks of the
same plan take turns and neither loses the other's entries; uniqueness
constraints on ``(plan, entry id)`` and ``(provider, event id)`` back that
up. Driver errors become payplan errors with the original as ``__cause__``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from .._amendments import AmendmentRecord, PlanHistory
from .._ledger import Ledger, LedgerEntry
from .._money import Money, to_currency
from .._plan import PaymentPlan
from ..exceptions import (
    DamagedRowError,
    LedgerError,
    SchemaVersionError,
    StoreConflictError,
    StoreError,
    StoreUnavailableError,
    UnknownPlanError,
)
from ..providers import ProviderBinding, ProviderEvent
from . import _schema as t
from ._apply import check_batch, check_claim, check_new_version, new_entries, settle_events, shard_of
from ._cache import CachedLedger, LedgerCache
from ._claims import LocalClaims, file_claim, in_progress, key_offset, poll
from ._codec import (
    DECODE_ERRORS,
    body_digest,
    checksum,
    decode_or_raise,
    decoded,
    dumps_entry,
    dumps_event,
    dumps_plan_doc,
    dumps_record,
    ledger_summary,
    loads_entry,
    loads_event,
    loads_plan_doc,
    loads_record,
    row_checksum,
    summarized_ledger,
    trusted_entry,
    trusted_plan,
    undecodable,
    verify,
)
from ._codec import damaged as damaged_row
from ._model import (
    InboxEvent,
    InboxStatus,
    IngestResult,
    Operation,
    OperationStatus,
    ReminderRecord,
    ReminderStatus,
    RunClaim,
    SignedAgreement,
    Step,
    StepStatus,
    Store,
    StoredPlan,
)
from ._open import _redacted

__all__ = ["SQLStore", "VERSION_TABLE", "head_revision", "known_revision", "metadata", "schema_revision", "upgrade"]

metadata = t.metadata
"""payplan's tables, for a site that runs one Alembic set-up of its own (``target_metadata``).

.. versionadded:: 0.1.0
"""

VERSION_TABLE = t.VERSION_TABLE
"""The table where payplan's migrations record their revision.

.. versionadded:: 0.1.0
"""

_MIGRATIONS = Path(__file__).parent / "migrations"
_READ = "payplan_read"
_RETRIES = 8

R = TypeVar("R")

# The hot path's statements, built once (building a Core expression costs more than running it on SQLite).
_W = t.webhook_events
_PLAN_Q = select(t.plans).where(t.plans.c.plan_id == bindparam("plan_id"))
_PLAN_LOCK_Q = _PLAN_Q.with_for_update()
_BINDINGS_Q = select(t.bindings).where(t.bindings.c.plan_id == bindparam("plan_id")).order_by(t.bindings.c.provider)
_REMINDERS_Q = select(t.reminders).where(t.reminders.c.plan_id == bindparam("plan_id")).order_by(
    t.reminders.c.on, t.reminders.c.reminder_id
)
_PLAN_EXISTS_Q = select(t.plans.c.plan_id).where(t.plans.c.plan_id == bindparam("plan_id"))
# A plan's entries after the last one a cached ledger holds (all of them after seq 0).
_ENTRY_COLUMNS = (
    t.entries.c.seq, t.entries.c.entry_id, t.entries.c.document, t.entries.c.checksum, t.entries.c.summary,
)
_ENTRIES_Q = select(*_ENTRY_COLUMNS).where(
    t.entries.c.plan_id == bindparam("plan_id"), t.entries.c.seq > bindparam("after")
).order_by(t.entries.c.seq)
# A plan's row and, in the same statement, its entries after the last one a cached ledger holds
# (usually none: one row, the entry columns NULL). A write to a plan the process has seen is then
# one statement before its inserts. PostgreSQL locks the plan's row only (FOR UPDATE OF plans).
_PLAN_NEWER_Q = (
    select(
        t.plans,
        t.entries.c.seq.label("e_seq"),
        t.entries.c.entry_id.label("e_entry_id"),
        t.entries.c.document.label("e_document"),
        t.entries.c.checksum.label("e_checksum"),
        t.entries.c.summary.label("e_summary"),
    )
    .select_from(t.plans.outerjoin(
        t.entries, and_(t.entries.c.plan_id == t.plans.c.plan_id, t.entries.c.seq > bindparam("after"))
    ))
    .where(t.plans.c.plan_id == bindparam("plan_id"))
    .order_by(t.entries.c.seq)
)
_PLAN_NEWER_LOCK_Q = _PLAN_NEWER_Q.with_for_update(of=t.plans)
_INSERT_ENTRIES = t.entries.insert().returning(t.entries.c.seq)
_SEEN = "payplan_seen_ledgers"
# In one statement: the event's own row, if it was received before, and the plan's deferred events
# (which this event may unblock). Each side of the OR has its index.
_INBOX_Q = select(
    _W.c.provider, _W.c.event_id, _W.c.status, _W.c.attempts, _W.c.event, _W.c.body, _W.c.checksum
).where(
    (_W.c.provider == bindparam("provider")) & (_W.c.event_id == bindparam("event_id"))
    | (_W.c.plan_id == bindparam("plan_id")) & (_W.c.status == InboxStatus.DEFERRED.value)
).order_by(_W.c.seq)
_INSERT_EVENT = _W.insert()
_RETRY_EVENT = update(_W).where(_W.c.provider == bindparam("w_provider"), _W.c.event_id == bindparam("w_event_id"))
_APPLIED_EVENT = _RETRY_EVENT.values(
    status=InboxStatus.APPLIED.value, error=None, attempts=_W.c.attempts + 1, updated_at=bindparam("w_now")
)


class _EntryRow(NamedTuple):
    """An entry row (``_ENTRY_COLUMNS``), read into a plain named tuple.

    Its fields are read several times per row on a cold read (the checksum,
    the summary, the decode); a SQLAlchemy ``Row`` answers each by name
    about ten times slower than a named tuple does.
    """

    seq: int
    entry_id: str
    document: str
    checksum: str | None
    summary: str | None


# -- migrations ------------------------------------------------------------------------


def _alembic(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The schema revision this version of payplan expects.

    .. versionadded:: 0.1.0
    """
    head = ScriptDirectory.from_config(_alembic(None)).get_current_head()  # type: ignore[arg-type]
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The revision the database's payplan tables are at; None before the first upgrade.

    .. versionadded:: 0.1.0
    """
    with _translated(engine.url), engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return ctx.get_current_revision()


def upgrade(url: str | Engine, revision: str = "head") -> str:
    """Apply payplan's migrations to the database at *url* (up to *revision*); return the revision.

    Safe to run again: a database already at the head is left as it is.
    Safe to run twice at once: on PostgreSQL the upgrade holds a
    transaction-scoped advisory lock, so a second upgrade waits for the
    first to commit and then finds nothing to do; on SQLite the write lock
    does the same.

    Raises:
        StoreError: a URL that cannot be opened.
        StoreUnavailableError: the database did not answer.
        SchemaVersionError: the database is at a revision newer than this payplan knows.

    .. versionadded:: 0.1.0
    """
    engine = url if isinstance(url, Engine) else _engine(url)
    try:
        current = schema_revision(engine)
        if current is not None and not _known(current):
            raise _newer(current, engine)
        with _translated(engine.url), engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two upgrades at once: the second waits here until the first commits, then finds
                # the schema current and does nothing (SQLite's BEGIN IMMEDIATE already serializes).
                conn.execute(select(func.pg_advisory_xact_lock(_UPGRADE_LOCK)))
            command.upgrade(_alembic(conn), revision)
        return schema_revision(engine) or ""
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def _known(revision: str) -> bool:
    script = ScriptDirectory.from_config(_alembic(None))  # type: ignore[arg-type]
    return any(r.revision == revision for r in script.walk_revisions())


def known_revision(revision: str) -> bool:
    """Whether *revision* is one of this payplan's schema revisions (False: a newer payplan wrote it).

    .. versionadded:: 0.3.0
    """
    return _known(revision)


def _newer(current: str, engine: Engine) -> SchemaVersionError:
    return SchemaVersionError(
        f"the database at {_redacted(str(engine.url))} has payplan schema revision {current!r}, newer than this "
        f"payplan knows (it expects {head_revision()!r}): upgrade payplan; nothing was written"
    )


def _check_schema(engine: Engine) -> None:
    current = schema_revision(engine)
    head = head_revision()
    where = _redacted(engine.url.render_as_string(hide_password=False))
    if current == head:
        return
    if current is None:
        raise SchemaVersionError(
            f"the database at {where} has no payplan tables (expected schema revision {head!r}): "
            f"run `payplan db upgrade --db URL`, or open the store with create=True"
        )
    if not _known(current):
        raise _newer(current, engine)
    raise SchemaVersionError(
        f"the database at {where} has payplan schema revision {current!r}, older than this payplan's "
        f"{head!r}: run `payplan db upgrade --db URL`; nothing was written"
    )


# -- engines and errors ----------------------------------------------------------------


def _agreement(row: Any) -> SignedAgreement:
    """A stored signature, refused if its text no longer matches the digest taken at signing."""
    at = row.signed_at if row.signed_at.tzinfo is not None else row.signed_at.replace(tzinfo=dt.UTC)
    agreement = SignedAgreement(row.plan_id, row.version, row.text, row.signed_by, at, row.evidence)
    if agreement.sha256 != row.sha256:
        raise StoreError(
            f"expected the agreement of {row.plan_id} v{row.version} to match the SHA-256 taken when it "
            f"was signed ({row.sha256}), got a text whose digest is {agreement.sha256}: it was changed since"
        )
    if agreement.evidence_sha256 != row.evidence_sha256:
        raise StoreError(
            f"expected the evidence pack of {row.plan_id} v{row.version} to match the SHA-256 taken when it "
            f"was signed ({row.evidence_sha256}), got one whose digest is {agreement.evidence_sha256}: it was changed since"
        )
    return agreement


def _engine(url: str, *, busy_timeout: float = 30.0, **options: Any) -> Engine:
    if not isinstance(url, str):
        raise StoreError(f"expected a database URL such as 'sqlite:///payplan.db', got {url!r}")
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError as exc:
        raise StoreError(f"expected a database URL such as 'sqlite:///payplan.db', got {_redacted(url)!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.get_driver_name() not in ("psycopg",):
        raise StoreError(
            f"expected a PostgreSQL URL with the psycopg 3 driver (postgresql+psycopg://...), "
            f"got {_redacted(url)!r}"
        )
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"expected an SQLite or PostgreSQL URL, got {_redacted(url)!r}")
    try:
        if backend == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": busy_timeout}, **options)
            _sqlite_setup(engine, busy_timeout)
        else:
            # No pre-ping: it costs a round trip per transaction. A connection that died in the
            # pool fails its call once (StoreUnavailableError, retryable) and the pool is renewed.
            engine = create_engine(parsed, **options)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError, TypeError) as exc:
        raise StoreError(f"cannot open {_redacted(url)!r}: {exc}") from exc
    return engine


def _sqlite_setup(engine: Engine, busy_timeout: float) -> None:
    """WAL, a busy timeout, foreign keys; writers start with BEGIN IMMEDIATE (one at a time, no upgrade deadlock)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _: Any) -> None:
        dbapi.isolation_level = None  # let SQLAlchemy's "begin" event below issue BEGIN
        cur = dbapi.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        read = conn.get_execution_options().get(_READ, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


_TRANSIENT_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
# payplan's advisory lock key for `db upgrade` (any constant bigint; "payplan1" in ASCII).
_UPGRADE_LOCK = 0x7061797061616E31
# The class of the two-key advisory locks that claim lifecycle steps ("ppst"; the two-key
# space does not overlap the one-key space of _UPGRADE_LOCK); the second key is the step key's hash.
_STEP_LOCK_CLASS = 0x70707374

# What the driver said, in words, and whether waiting and calling again may help. PostgreSQL by
# SQLSTATE (class 53 insufficient resources, 25006 read-only, 28 authentication, 3D000 no such
# database, 57P0x shutdown/startup); SQLite by its result code name.
_PG_STATES: dict[str, tuple[str, bool]] = {
    "53100": ("its disk is full", False),
    "53200": ("it is out of memory", True),
    "53300": ("it has too many connections", True),
    "25006": ("it is read-only (a standby, or default_transaction_read_only)", False),
    "28P01": ("authentication failed (wrong password?)", False),
    "28000": ("authentication failed (the user is not allowed in)", False),
    "3D000": ("the database does not exist", False),
    "57P01": ("it is shutting down", True),
    "57P02": ("it is shutting down", True),
    "57P03": ("it is starting up or not accepting connections", True),
}
_SQLITE_CODES: dict[str, tuple[str, bool]] = {
    "SQLITE_FULL": ("the disk is full", False),
    "SQLITE_READONLY": ("it is read-only (the file or its folder is not writable)", False),
    "SQLITE_CANTOPEN": ("the file cannot be opened (a missing folder, or no permission)", False),
    "SQLITE_PERM": ("permission was denied", False),
    "SQLITE_CORRUPT": ("the file is corrupt", False),
    "SQLITE_NOTADB": ("the file is not an SQLite database", False),
    "SQLITE_IOERR": ("the disk reported an I/O error", False),
}
# Connection-time failures carry no SQLSTATE in psycopg (libpq keeps the server's error fields of
# a failed connection to itself: psycopg/psycopg#1188): libpq's own flags say when no password was
# given; otherwise they are recognized by the server's words.
_PG_WORDS: tuple[tuple[str, str, bool], ...] = (
    ("password authentication failed", "authentication failed (wrong password?)", False),
    ("authentication failed", "authentication failed", False),
    ("no password supplied", "authentication failed (no password supplied)", False),
    ("role", "authentication failed (no such user)", False),
    ("does not exist", "the database does not exist", False),
    ("no space left on device", "its disk is full", False),
    ("read-only", "it is read-only", False),
)


def _diagnosis(exc: sa_exc.DBAPIError) -> tuple[str, bool] | None:
    """What a driver error means, in words, and whether it is retryable; None when not known."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None)
    if code in _PG_STATES:
        return _PG_STATES[code]
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        for prefix, known in _SQLITE_CODES.items():
            if name == prefix or name.startswith(prefix + "_"):
                return known
    if code is not None or not isinstance(exc, sa_exc.OperationalError):
        return None
    pgconn = getattr(orig, "pgconn", None)  # psycopg: the failed connection, with libpq's flags
    if pgconn is not None and getattr(pgconn, "needs_password", False) is True:
        return "authentication failed (the server asks for a password, none was given)", False
    text = str(orig).lower()
    for words, said, retry in _PG_WORDS:
        if words in text and (words != "role" or "does not exist" in text):
            return said, retry
    return None


class _translated:
    """Turn driver errors into payplan errors (original as ``__cause__``)."""

    def __init__(self, url: Any) -> None:
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, StoreError | KeyboardInterrupt):
            return
        where = _redacted(self.url.render_as_string(hide_password=False)) if hasattr(self.url, "render_as_string") else "?"
        if isinstance(exc, sa_exc.IntegrityError):
            raise StoreConflictError(f"another writer stored the same row first ({_first_line(exc)})") from exc
        if isinstance(exc, sa_exc.DBAPIError):
            if _transient(exc):
                raise StoreConflictError(f"the database asked to retry ({_first_line(exc)})") from exc
            known = _diagnosis(exc)
            if known is not None:
                said, retry = known
                kind = StoreUnavailableError if retry else StoreError
                raise kind(
                    f"the database at {where} refused the call: {said}; nothing was written ({_first_line(exc)})",
                    retryable=retry,
                ) from exc
            if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
                raise StoreUnavailableError(
                    f"the database at {where} did not answer, nothing was written ({_first_line(exc)})"
                ) from exc
            raise StoreError(f"the database at {where} refused the call ({_first_line(exc)})") from exc
        if isinstance(exc, sa_exc.SQLAlchemyError):
            raise StoreError(f"the store failed ({_first_line(exc)})") from exc


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _transient(exc: sa_exc.DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    if code in _TRANSIENT_PG:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text


# -- rows -------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_REMINDER_Q = and_(t.reminders.c.plan_id == bindparam("r_plan_id"), t.reminders.c.reminder_id == bindparam("r_id"))
_SET_REMINDER = update(t.reminders).where(_REMINDER_Q).values(status=bindparam("r_status"))
_SET_RESERVED_REMINDER = update(t.reminders).where(
    _REMINDER_Q, t.reminders.c.status == ReminderStatus.RESERVED.value
).values(status=bindparam("r_status"))


def _set_reminder(
    conn: Connection, status: ReminderStatus, *, plan_id: str, reminder_id: str, only_reserved: bool = False
) -> None:
    """Move a reserved reminder to *status* (with *only_reserved*, only while it is still reserved)."""
    q = _SET_RESERVED_REMINDER if only_reserved else _SET_REMINDER
    if conn.execute(q, {"r_plan_id": plan_id, "r_id": reminder_id, "r_status": status.value}).rowcount != 1:
        raise StoreError(f"expected reminder {reminder_id!r} of plan {plan_id!r} reserved, got none")


def _aware(at: dt.datetime) -> dt.datetime:
    """A stored instant as a timezone-aware UTC datetime (SQLite gives it back naive)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


_ENTRIES = t.entries.name
_PLANS = t.plans.name
_VERSIONS = t.plan_versions.name
_AMENDMENTS = t.amendments.name


def _entry_checksum(plan_id: str, entry_id: str, document: str, summary: str | None) -> str:
    """The checksum of an entry row: its document, and the ledger summary the row carries if any.

    A row without a summary keeps the formula of migration 0006 (its
    document alone); one with a summary (0008) is covered whole, so a hand
    edit of either is a :class:`DamagedRowError`.
    """
    return checksum(_ENTRIES, plan_id, entry_id, document if summary is None else f"{document}\x1e{summary}")


def _entry_row(plan_id: str, entry: LedgerEntry, currency: str, summary: str | None = None) -> dict[str, Any]:
    """The row of *entry*; *summary* (:func:`ledger_summary`) goes on the last row a write inserts."""
    amount = getattr(entry, "amount", None)
    document = dumps_entry(entry)
    return {
        "plan_id": plan_id,
        "entry_id": entry.id,
        "kind": entry.kind,
        "on": entry.on,
        "amount_minor": amount.minor if isinstance(amount, Money) else None,
        "currency": currency,
        "document": document,
        "checksum": _entry_checksum(plan_id, entry.id, document, summary),
        "summary": summary,
    }


def _loads_entry(document: str, *, currency: Any) -> LedgerEntry:
    return loads_entry(document, currency)


def _matches(plan_id: str, row: _EntryRow) -> bool:
    """Whether an entry row has its checksum and still matches it (its document and its summary)."""
    stored = row.checksum
    return stored is not None and stored == _entry_checksum(plan_id, row.entry_id, row.document, row.summary)


def _own_entry(plan_id: str, row: _EntryRow, currency: Any) -> LedgerEntry:
    """The entry of a row whose checksum matched: the store's own write, read without its validators."""
    try:
        entry = trusted_entry(row.document, currency)
    except DECODE_ERRORS as exc:
        undecodable(_ENTRIES, plan_id, row.entry_id, exc)
    if entry.id != row.entry_id:
        undecodable(_ENTRIES, plan_id, row.entry_id, ValueError(f"its document names entry {entry.id!r}"))
    return entry


def _entry(plan_id: str, row: _EntryRow, currency: Any) -> LedgerEntry:
    """The entry of one row (entry_id, document, checksum), checked against its checksum.

    A document that matches its checksum is the store's own write and is
    read without running the validators again (:func:`trusted_entry`); one
    without a checksum (written before 0006) is validated; one that no longer
    matches is a :class:`DamagedRowError`.
    """
    if _matches(plan_id, row):
        return _own_entry(plan_id, row, currency)
    entry = decoded(
        _ENTRIES, plan_id, row.entry_id, row.document, row.checksum,
        functools.partial(_loads_entry, currency=currency),
    )
    if entry.id != row.entry_id:
        undecodable(_ENTRIES, plan_id, row.entry_id, ValueError(f"its document names entry {entry.id!r}"))
    return entry


def _summarized(plan: PaymentPlan, rows: Sequence[_EntryRow]) -> CachedLedger | None:
    """*plan*'s ledger from the summary on the last of all its entry *rows*, not replayed; None: replay them.

    Every row's checksum is checked here, in the read's transaction; the
    documents are decoded when the ledger's entries are first read. A
    summary missing (rows written before 0008, or by an older payplan) or
    not counting these rows is not used; nor is any when a row does not
    match its checksum (a summary edited by hand included): the replay then
    names that row in its :class:`DamagedRowError`.
    """
    text = rows[-1].summary
    pid = plan.id
    if text is None or not all(_matches(pid, r) for r in rows):
        return None
    cur = plan.fee.currency
    ledger = summarized_ledger(plan, text, rows, lambda r: _own_entry(pid, r, cur))
    return None if ledger is None else CachedLedger(plan.version, rows[-1].seq, ledger)


def _extend(start: CachedLedger, plan: PaymentPlan, rows: Sequence[_EntryRow]) -> CachedLedger:
    """*start* with the entries of *rows* (seq, entry_id, document, checksum; in seq order) recorded.

    When *start* holds nothing (seq 0), *rows* are all the plan's entries
    (with their summary columns), and the last carries a summary of them,
    the ledger is rebuilt from it instead (:func:`_summarized`).

    Raises:
        DamagedRowError: a row that does not decode, no longer matches its
            checksum, or that the ledger refuses (naming the plan and the entry).
    """
    if not rows:
        return start
    if start.seq == 0:
        read = _summarized(plan, rows)
        if read is not None:
            return read
    cur = plan.fee.currency
    entries = [_entry(plan.id, r, cur) for r in rows]
    try:
        ledger = start.ledger.record_all(entries)
    except LedgerError:
        ledger = start.ledger  # again one by one, to name the entry the ledger refuses
        for row, entry in zip(rows, entries, strict=True):
            try:
                ledger = ledger.record(entry)
            except LedgerError as exc:
                undecodable(_ENTRIES, plan.id, row.entry_id, exc)
        raise  # pragma: no cover - record_all refuses only what record refuses
    return CachedLedger(plan.version, rows[-1].seq, ledger)


def _plan_doc(plan_id: str, version: int, document: str, stored: str | None, table: str = _PLANS) -> PaymentPlan:
    """A plan version from its row, checked against its checksum.

    A document that matches its checksum is the store's own write and is
    read without running the validators again (:func:`trusted_plan`); one
    without a checksum (written before 0006) is validated.

    Raises:
        DamagedRowError: the document does not decode, names another plan or
            version, or no longer matches its checksum.
    """
    row = f"v{version}"
    if stored is not None and stored == checksum(table, plan_id, row, document):
        plan = decode_or_raise(table, plan_id, row, document, trusted_plan)
    else:
        plan = decoded(table, plan_id, row, document, stored, loads_plan_doc)
    if plan.id != plan_id or plan.version != version:
        undecodable(table, plan_id, row, ValueError(f"its document is plan {plan.id!r} v{plan.version}"))
    return plan


_BINDINGS = t.bindings.name
_STEPS = t.steps.name


def _binding_checksum(plan_id: str, provider: str, plan_version: int, ids: str, approval_url: str | None,
                      status: str | None, saved: int) -> str:
    return row_checksum(_BINDINGS, plan_id, provider, plan_version, ids, approval_url, status, saved)


def _binding(row: Row[Any]) -> ProviderBinding:
    """The binding of one row, checked against its checksum (a hand edit of its ids, version or URL is refused)."""
    try:
        ids = json.loads(row.ids)
        binding = ProviderBinding(row.provider, row.plan_id, row.plan_version, ids, row.approval_url, row.status)
    except DECODE_ERRORS as exc:
        undecodable(_BINDINGS, row.plan_id, row.provider, exc)
    _check_row(_BINDINGS, row.plan_id, row.provider, row.checksum, _binding_checksum(
        row.plan_id, row.provider, row.plan_version, row.ids, row.approval_url, row.status, row.saved
    ))
    return binding


def _check_row(table: str, plan_id: str, row: str, stored: str | None, expected: str) -> None:
    """Refuse a row whose stored checksum is not *expected* (rows from before migration 0007 pass)."""
    if stored is not None and stored != expected:
        raise damaged_row(table, plan_id, row, "its row does not match the checksum the store wrote: "
                      "it was changed outside payplan")


def _step_checksum(key: str, plan_id: str, name: str, status: str, document: str, result: str | None) -> str:
    return row_checksum(_STEPS, plan_id, key, name, status, document, result)


def _step(row: Row[Any]) -> Step:
    """The step of one row, checked against its checksum (a hand edit of its document or status is refused)."""
    try:
        status = StepStatus(row.status)
    except ValueError as exc:
        undecodable(_STEPS, row.plan_id, row.key, exc)
    _check_row(_STEPS, row.plan_id, row.key, row.checksum, _step_checksum(
        row.key, row.plan_id, row.name, row.status, row.document, row.result
    ))
    try:
        json.loads(row.document)
    except DECODE_ERRORS as exc:
        undecodable(_STEPS, row.plan_id, row.key, exc)
    return Step(row.key, row.plan_id, row.name, row.document, status, row.result)


def _operation(row: Row[Any]) -> Operation:
    amount = None if row.amount_minor is None else Money(row.amount_minor, to_currency(row.currency))
    return Operation(
        row.key, row.provider, row.plan_id, row.action, OperationStatus(row.status), row.installment,
        row.attempt, amount, row.reference, row.error,
    )


def _event_checksum(plan_id: str, provider: str, event_id: str, document: str, body: bytes) -> str:
    return row_checksum(_W.name, plan_id, f"{provider}:{event_id}", document, body_digest(body))


def _event(plan_id: str, row: Any) -> ProviderEvent:
    """The event of an inbox row (provider, event_id, event, body, checksum), checked against its checksum."""
    try:
        event = loads_event(row.event)
    except DECODE_ERRORS as exc:
        undecodable(_W.name, plan_id, row.event_id, exc)
    _check_row(_W.name, plan_id, row.event_id, row.checksum,
               _event_checksum(plan_id, row.provider, row.event_id, row.event, bytes(row.body)))
    if (event.provider, event.id, event.plan_id) != (row.provider, row.event_id, plan_id):
        undecodable(_W.name, plan_id, row.event_id, ValueError(
            f"its document is {event.provider} event {event.id!r} of plan {event.plan_id!r}"
        ))
    return event


def _inbox_event(row: Row[Any]) -> InboxEvent:
    return InboxEvent(_event(row.plan_id, row), bytes(row.body), InboxStatus(row.status), row.attempts, row.error)


_PLAN_COLUMNS = (t.plans.c.plan_id, t.plans.c.version, t.plans.c.document, t.plans.c.checksum)


def _report(hurt: list[DamagedRowError], damaged: Callable[[DamagedRowError], None] | None) -> None:
    """Give each damaged plan to *damaged*; without it, raise the first (the caller did not ask to go on)."""
    for exc in hurt:
        if damaged is None:
            raise exc
        damaged(exc)


class SQLStore(Store):
    """The :class:`~payplan.store.Store` protocol on SQLAlchemy Core: SQLite or PostgreSQL.

    Open one with :meth:`open` (or :meth:`payplan.store.Store.open`); it
    refuses a database whose schema is not at this payplan's revision and
    says what to run. Safe to share across threads; each worker process
    opens its own.

    Args:
        engine: An engine made by :meth:`open` (SQLite engines need its
            connection set-up: WAL, busy timeout, ``BEGIN IMMEDIATE``).
        plan_cache: How many parsed plan versions to keep (a saved version
            never changes, so a hit is always current); 0 for none.
        ledger_cache: How many plans' ledgers to keep, with the last entry
            read of each: a write, or a read, of a plan already seen reads
            only the entries recorded since (usually none); 0 for none.
            See ``payplan/store/_cache.py`` for why this is always the
            whole ledger, with other processes writing too.

    .. versionchanged:: 0.2.0
       *ledger_cache*.

    .. versionadded:: 0.1.0
    """

    def __init__(self, engine: Engine, *, plan_cache: int = 4096, ledger_cache: int = 4096) -> None:
        self.engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._claim_upsert: Any = None
        self._reserve_q: Any = None
        self._insert = postgresql.insert if self._pg else sqlite.insert
        # A plan version never changes once saved, so its parsed form is cached by
        # (plan id, version, document length): reading a plan again costs no parsing.
        self._plans: OrderedDict[tuple[str, int, int], PaymentPlan] = OrderedDict()
        self._plan_cache = plan_cache
        self._cache_lock = threading.Lock()
        self._ledgers = LedgerCache(ledger_cache)
        self._local_claims = LocalClaims()

    def _parse_plan(self, plan_id: str, version: int, document: str, stored: str | None) -> PaymentPlan:
        # The checksum is checked on every read, cached or not (one hash of the text): a hand
        # edit is found on the next read, not after a restart.
        try:
            verify(_PLANS, plan_id, f"v{version}", document, stored)
        except DamagedRowError:
            _plan_doc(plan_id, version, document, None)  # the decoder's reason, when it has one
            raise
        key = (plan_id, version, len(document))
        with self._cache_lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                return plan
        plan = _plan_doc(plan_id, version, document, stored)
        if self._plan_cache:
            with self._cache_lock:
                self._plans[key] = plan
                if len(self._plans) > self._plan_cache:
                    self._plans.popitem(last=False)
        return plan

    @classmethod
    def open(
        cls,
        url: str,
        *,
        create: bool = False,
        busy_timeout: float = 30.0,
        plan_cache: int = 4096,
        ledger_cache: int = 4096,
        **options: Any,
    ) -> SQLStore:
        """Open the SQLite or PostgreSQL database at *url*.

        Args:
            url: ``sqlite:///payplan.db`` or ``postgresql+psycopg://user:pw@host/db``.
            create: Apply payplan's migrations first (as ``payplan db upgrade`` does).
            busy_timeout: How long an SQLite writer waits for the write lock, in seconds.
            plan_cache: How many parsed plan versions to keep in memory.
            ledger_cache: How many plans' ledgers to keep in memory (see the class).
            options: Passed to :func:`sqlalchemy.create_engine` (``pool_size``, ``echo``...).

        Raises:
            StoreError: a URL payplan cannot open.
            StoreUnavailableError: the database did not answer.
            SchemaVersionError: the schema is older or newer than the code;
                the message says what to run.
        """
        engine = _engine(url, busy_timeout=busy_timeout, **options)
        try:
            if create:
                upgrade(engine)
            _check_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, plan_cache=plan_cache, ledger_cache=ledger_cache)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- transactions ---------------------------------------------------------------

    def _tx(self, work: Callable[[Connection], R], *, read: bool = False) -> R:
        """Run *work* in one transaction, retrying lock conflicts a few times.

        The ledgers the transaction read or wrote go to the ledger cache
        once it committed, never before (a rolled-back write leaves no trace).
        """
        for attempt in range(_RETRIES):
            try:
                with _translated(self.engine.url), self.engine.connect() as conn:
                    if read:
                        conn = conn.execution_options(**{_READ: True})
                    seen: list[tuple[str, CachedLedger]] = []
                    conn.info[_SEEN] = seen
                    try:
                        with conn.begin():
                            result = work(conn)
                    finally:
                        conn.info.pop(_SEEN, None)
                    for plan_id, item in seen:
                        self._ledgers.put(plan_id, item)
                    return result
            except StoreConflictError as exc:
                cause = exc.__cause__
                if attempt == _RETRIES - 1 or not isinstance(cause, sa_exc.DBAPIError) or (
                    isinstance(cause, sa_exc.IntegrityError) and not getattr(work, "retry_integrity", False)
                ):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _lock_plan(self, conn: Connection, plan_id: str) -> Row[Any] | None:
        return conn.execute(_PLAN_LOCK_Q if self._pg else _PLAN_Q, {"plan_id": plan_id}).first()

    def _cached(self, plan: PaymentPlan) -> CachedLedger:
        """Where reading *plan*'s ledger starts: the cached prefix, or nothing (seq 0)."""
        item = self._ledgers.get(plan.id)
        if item is None or item.version > plan.version:  # none, or newer than what this transaction sees
            return CachedLedger(plan.version, 0, Ledger.empty(plan))
        if item.version < plan.version:  # amended since: the same entries, the new version's total
            return CachedLedger(plan.version, item.seq, item.ledger.for_plan(plan))
        return item

    def _ledger(self, conn: Connection, plan: PaymentPlan) -> CachedLedger:
        """The plan's ledger as this transaction sees it: the cached prefix and the entries after it."""
        start = self._cached(plan)
        rows = [_EntryRow._make(r) for r in conn.execute(_ENTRIES_Q, {"plan_id": plan.id, "after": start.seq})]
        return self._seen(conn, plan, _extend(start, plan, rows))

    def _seen(self, conn: Connection, plan: PaymentPlan, item: CachedLedger) -> CachedLedger:
        conn.info[_SEEN].append((plan.id, item))
        return item

    def _plan_and_ledger(
        self, conn: Connection, plan_id: str, *, lock: bool
    ) -> tuple[Row[Any], PaymentPlan, CachedLedger]:
        found = self._find_plan(conn, plan_id, lock=lock)
        if found is None:
            raise UnknownPlanError(f"expected a plan the store holds, got {plan_id!r}")
        return found

    def _find_plan(
        self, conn: Connection, plan_id: str, *, lock: bool
    ) -> tuple[Row[Any], PaymentPlan, CachedLedger] | None:
        """The plan's row (locked, with *lock*), the plan and its ledger; None when the store has no such plan.

        A plan whose ledger this process holds comes back in one statement
        with the entries recorded since (``_PLAN_NEWER_Q``); a plan it has
        not seen in two (its row, then all its entries: the plan's document
        is not repeated beside each of them).
        """
        item = self._ledgers.get(plan_id)
        if item is None:
            row = self._lock_plan(conn, plan_id) if lock else conn.execute(_PLAN_Q, {"plan_id": plan_id}).first()
            if row is None:
                return None
            plan = self._parse_plan(row.plan_id, row.version, row.document, row.checksum)
            return row, plan, self._ledger(conn, plan)
        q = _PLAN_NEWER_LOCK_Q if lock and self._pg else _PLAN_NEWER_Q
        rows = conn.execute(q, {"plan_id": plan_id, "after": item.seq}).all()
        if not rows:
            return None
        row = rows[0]
        plan = self._parse_plan(row.plan_id, row.version, row.document, row.checksum)
        start = self._cached(plan)
        if start.seq != item.seq:  # the cache moved, or holds a later version than this row: read from its start
            return row, plan, self._ledger(conn, plan)
        newer = [
            _EntryRow(r.e_seq, r.e_entry_id, r.e_document, r.e_checksum, r.e_summary)
            for r in rows if r.e_seq is not None
        ]
        return row, plan, self._seen(conn, plan, _extend(start, plan, newer))

    def _write_entries(
        self, conn: Connection, plan: PaymentPlan, ledger: Ledger, seq: int, entries: Sequence[LedgerEntry]
    ) -> None:
        """Insert *entries* (new to the ledger read at *seq*); *ledger* holds them all."""
        if entries:  # the ledger's summary on the last row
            rows = [_entry_row(plan.id, e, plan.currency) for e in entries[:-1]]
            rows.append(_entry_row(plan.id, entries[-1], plan.currency, ledger_summary(ledger)))
            if len(rows) == 1:  # one row: the single-statement path, not the executemany one
                seq = conn.execute(_INSERT_ENTRIES, rows[0]).scalar_one()
            else:
                seq = max(conn.execute(_INSERT_ENTRIES, rows).scalars())
        self._seen(conn, plan, CachedLedger(plan.version, seq, ledger))

    # -- plans ------------------------------------------------------------------------

    def add_plan(self, plan: PaymentPlan, *, entries: Iterable[LedgerEntry] = ()) -> StoredPlan:
        """See :meth:`Store.add_plan`."""
        ledger, fresh = new_entries(Ledger.empty(plan), entries)
        doc = dumps_plan_doc(plan)
        row = f"v{plan.version}"

        def work(conn: Connection) -> StoredPlan:
            inserted = conn.execute(
                self._insert(t.plans).values(
                    plan_id=plan.id, version=plan.version, currency=plan.currency, total_minor=plan.total.minor,
                    client=plan.client, active=True, shard=shard_of(plan.id), document=doc,
                    checksum=checksum(_PLANS, plan.id, row, doc),
                ).on_conflict_do_nothing().returning(t.plans.c.plan_id)
            ).first()
            if inserted is None:
                raise StoreConflictError(f"expected a new plan id, got {plan.id!r}, which the store already holds")
            conn.execute(t.plan_versions.insert().values(
                plan_id=plan.id, version=plan.version, document=doc, checksum=checksum(_VERSIONS, plan.id, row, doc)
            ))
            self._write_entries(conn, plan, ledger, 0, fresh)
            return StoredPlan(plan, ledger)

        return self._tx(work)

    def load(self, plan_id: str) -> StoredPlan:
        """See :meth:`Store.load`."""

        def work(conn: Connection) -> StoredPlan:
            row, plan, read = self._plan_and_ledger(conn, plan_id, lock=False)
            return StoredPlan(plan, read.ledger, row.active)

        return self._tx(work, read=True)

    def history(self, plan_id: str) -> PlanHistory:
        """See :meth:`Store.history`."""

        def work(conn: Connection) -> PlanHistory:
            v = t.plan_versions
            versions = [
                _plan_doc(plan_id, r.version, r.document, r.checksum, _VERSIONS) for r in conn.execute(
                    select(v.c.version, v.c.document, v.c.checksum).where(v.c.plan_id == plan_id).order_by(v.c.version)
                )
            ]
            if not versions:
                raise UnknownPlanError(f"expected a plan the store holds, got {plan_id!r}")
            by_version = {p.version: p for p in versions}
            records = []
            for r in conn.execute(
                select(t.amendments).where(t.amendments.c.plan_id == plan_id).order_by(t.amendments.c.to_version)
            ):
                before, after = by_version.get(r.from_version), by_version.get(r.to_version)
                if before is None or after is None:
                    undecodable(_AMENDMENTS, plan_id, f"v{r.to_version}", KeyError("no such plan version"))
                records.append(decoded(
                    _AMENDMENTS, plan_id, f"v{r.to_version}", r.document, r.checksum,
                    functools.partial(loads_record, before=before, after=after),
                ))
            return PlanHistory(versions, records)

        return self._tx(work, read=True)

    def save_version(
        self, plan: PaymentPlan, record: AmendmentRecord, *, entries: Iterable[LedgerEntry] = ()
    ) -> StoredPlan:
        """See :meth:`Store.save_version`."""
        entries = tuple(entries)
        doc = dumps_plan_doc(plan)
        row_key = f"v{plan.version}"
        record_doc = dumps_record(record)

        def work(conn: Connection) -> StoredPlan:
            row, stored, read = self._plan_and_ledger(conn, plan.id, lock=True)
            check_new_version(stored, plan, record)
            ledger, fresh = new_entries(read.ledger.for_plan(plan), entries)
            saved = conn.execute(
                update(t.plans)
                .where(t.plans.c.plan_id == plan.id, t.plans.c.version == record.from_version)
                .values(version=plan.version, total_minor=plan.total.minor, client=plan.client, document=doc,
                        checksum=checksum(_PLANS, plan.id, row_key, doc))
            ).rowcount
            if saved != 1:  # pragma: no cover - the row lock makes this the same check as above
                raise StoreConflictError(f"plan {plan.id} changed while saving version {plan.version}: reload")
            conn.execute(t.plan_versions.insert().values(
                plan_id=plan.id, version=plan.version, document=doc,
                checksum=checksum(_VERSIONS, plan.id, row_key, doc),
            ))
            conn.execute(
                t.amendments.insert().values(
                    plan_id=plan.id, to_version=plan.version, from_version=record.from_version, by=record.by,
                    on=record.on, consent=record.consent, paid_minor=record.paid.minor, currency=plan.currency,
                    document=record_doc, checksum=checksum(_AMENDMENTS, plan.id, row_key, record_doc),
                )
            )
            self._write_entries(conn, plan, ledger, read.seq, fresh)
            return StoredPlan(plan, ledger, row.active)

        return self._tx(work)

    def record_entries(self, plan_id: str, entries: Iterable[LedgerEntry]) -> StoredPlan:
        """See :meth:`Store.record_entries`."""
        entries = tuple(entries)

        def work(conn: Connection) -> StoredPlan:
            row, plan, read = self._plan_and_ledger(conn, plan_id, lock=True)
            ledger, fresh = new_entries(read.ledger, entries)
            self._write_entries(conn, plan, ledger, read.seq, fresh)
            return StoredPlan(plan, ledger, row.active)

        return self._tx(work)

    def set_active(self, plan_id: str, active: bool) -> None:
        """See :meth:`Store.set_active`."""

        def work(conn: Connection) -> None:
            n = conn.execute(update(t.plans).where(t.plans.c.plan_id == plan_id).values(active=bool(active))).rowcount
            if n != 1:
                raise UnknownPlanError(f"expected a plan the store holds, got {plan_id!r}")

        self._tx(work)

    def deactivate(self, plan_ids: Iterable[str]) -> None:
        """See :meth:`Store.deactivate`."""
        ids = list(plan_ids)
        if ids:
            self._tx(lambda conn: conn.execute(update(t.plans).where(t.plans.c.plan_id.in_(ids)).values(active=False)))

    def plan_ids(self) -> tuple[str, ...]:
        """See :meth:`Store.plan_ids`."""
        return self._tx(
            lambda conn: tuple(conn.execute(select(t.plans.c.plan_id).order_by(t.plans.c.plan_id)).scalars()),
            read=True,
        )

    def portfolio(self, *, active: bool | None = None) -> tuple[tuple[PaymentPlan, Ledger], ...]:
        """See :meth:`Store.portfolio` (one read transaction per 500 plans; keyset pages on the plan id)."""
        out: list[tuple[PaymentPlan, Ledger]] = []
        after = ""
        while True:
            batch = self._tx(functools.partial(self._book_page, after=after, active=active), read=True)
            out.extend((s.plan, s.ledger) for s in batch)
            if len(batch) < 500:
                return tuple(out)
            after = batch[-1].plan.id

    def _book_page(self, conn: Connection, *, after: str, active: bool | None) -> tuple[StoredPlan, ...]:
        q = select(*_PLAN_COLUMNS).where(t.plans.c.plan_id > after)
        if active is not None:
            q = q.where(t.plans.c.active.is_(bool(active)))
        stored, hurt = self._stored_rows(conn, conn.execute(q.order_by(t.plans.c.plan_id).limit(500)).all())
        _report(hurt, None)  # a report over a damaged plan would be wrong: name it
        return stored

    def active_plans(
        self,
        *,
        batch_size: int = 500,
        shard: int = 0,
        shards: int = 1,
        damaged: Callable[[DamagedRowError], None] | None = None,
    ) -> Iterator[Sequence[StoredPlan]]:
        """See :meth:`Store.active_plans` (one read transaction per batch; keyset pages on the plan id)."""
        check_batch(batch_size, shard, shards)
        after = ""
        while True:
            batch, hurt, rows = self._tx(
                functools.partial(self._batch, after=after, size=batch_size, shard=shard, shards=shards), read=True
            )
            _report(hurt, damaged)
            if batch:
                yield batch
            if len(rows) < batch_size:
                return
            after = rows[-1]

    def _batch(
        self, conn: Connection, *, after: str, size: int, shard: int, shards: int
    ) -> tuple[tuple[StoredPlan, ...], list[DamagedRowError], list[str]]:
        q = select(*_PLAN_COLUMNS).where(t.plans.c.active.is_(True), t.plans.c.plan_id > after)
        if shards > 1:
            q = q.where(t.plans.c.shard % shards == shard)
        rows = conn.execute(q.order_by(t.plans.c.plan_id).limit(size)).all()
        return (*self._stored_rows(conn, rows), [r.plan_id for r in rows])

    def _stored_rows(
        self, conn: Connection, rows: Sequence[Any]
    ) -> tuple[tuple[StoredPlan, ...], list[DamagedRowError]]:
        """The plans of *rows* (plan_id, version, document, checksum) with their ledgers, in the rows' order.

        A plan with a damaged row (its document or one of its entries) is
        left out and its :class:`DamagedRowError` returned beside the others.
        """
        hurt: list[DamagedRowError] = []
        plans: list[PaymentPlan] = []
        for r in rows:
            try:
                plans.append(self._parse_plan(r.plan_id, r.version, r.document, r.checksum))
            except DamagedRowError as exc:
                hurt.append(exc)
        if not plans:
            return (), hurt
        starts = {p.id: self._cached(p) for p in plans}
        after: dict[str, list[_EntryRow]] = {p.id: [] for p in plans}
        e = t.entries
        for plan_id, *columns in conn.execute(
            select(e.c.plan_id, *_ENTRY_COLUMNS)
            .where(e.c.plan_id.in_(list(after)), e.c.seq > min(s.seq for s in starts.values()))
            .order_by(e.c.plan_id, e.c.seq)
        ):
            row = _EntryRow._make(columns)
            if row.seq > starts[plan_id].seq:  # what a cached ledger holds is not decoded again
                after[plan_id].append(row)
        out = []
        for plan in plans:
            try:
                read = _extend(starts[plan.id], plan, after[plan.id])
                out.append(StoredPlan(plan, self._seen(conn, plan, read).ledger))
            except DamagedRowError as exc:
                hurt.append(exc)
        return tuple(out), hurt

    # -- the daily run's claims --------------------------------------------------------

    def claim_plans(
        self,
        as_of: dt.date,
        worker: str,
        *,
        limit: int = 100,
        lease: dt.timedelta = dt.timedelta(minutes=15),
        after: str = "",
        shard: int = 0,
        shards: int = 1,
        wait: bool = False,
        damaged: Callable[[DamagedRowError], None] | None = None,
    ) -> tuple[StoredPlan, ...]:
        """See :meth:`Store.claim_plans`.

        One write transaction selects the next active plans by primary key
        (``FOR UPDATE OF plans SKIP LOCKED`` on PostgreSQL; with *wait*,
        plain ``FOR UPDATE``, which waits for the plans other transactions
        hold) and upserts their claims with ``ON CONFLICT DO UPDATE ...
        WHERE`` the existing claim's lease ran out, ``RETURNING`` the plans
        won: the unique index decides, so no plan goes to two workers and
        no join over the claims is needed. A read transaction then loads
        the plans won. Candidates all taken already: it looks further.
        """
        check_claim(as_of, worker, limit, lease, after, shard, shards)
        while True:
            won, candidates = self._tx(functools.partial(
                self._claim, as_of=as_of, worker=worker, limit=limit, lease=lease, after=after,
                shard=shard, shards=shards, wait=wait,
            ))
            if won:
                stored, hurt = self._tx(functools.partial(self._stored_ids, ids=won), read=True)
                _report(hurt, damaged)
                if stored:
                    return stored
            if not candidates:
                return ()
            after = candidates[-1]  # all taken already (or damaged, and reported): look further

    def _stored_ids(
        self, conn: Connection, *, ids: list[str]
    ) -> tuple[tuple[StoredPlan, ...], list[DamagedRowError]]:
        q = select(*_PLAN_COLUMNS).where(t.plans.c.plan_id.in_(ids))
        return self._stored_rows(conn, conn.execute(q.order_by(t.plans.c.plan_id)).all())

    def _claim(
        self, conn: Connection, *, as_of: dt.date, worker: str, limit: int, lease: dt.timedelta, after: str,
        shard: int, shards: int, wait: bool,
    ) -> tuple[list[str], list[str]]:
        p, c = t.plans, t.run_claims
        now = _now()
        stale = now - lease
        q = select(p.c.plan_id).where(p.c.active.is_(True), p.c.plan_id > after)
        if shards > 1:
            q = q.where(p.c.shard % shards == shard)
        q = q.order_by(p.c.plan_id).limit(limit)
        if self._pg:
            q = q.with_for_update(of=p) if wait else q.with_for_update(skip_locked=True, of=p)
        candidates = list(conn.execute(q).scalars())
        if not candidates:
            return [], []
        if self._claim_upsert is None:  # built once: its SQL is cached, one row of parameters per plan
            stmt = self._insert(c)
            self._claim_upsert = stmt.on_conflict_do_update(
                index_elements=[c.c.as_of, c.c.plan_id],
                set_={"worker": stmt.excluded.worker, "claimed_at": stmt.excluded.claimed_at},
                where=and_(c.c.finished_at.is_(None), c.c.claimed_at < bindparam("stale")),
            ).returning(c.c.plan_id)
        rows = [{"as_of": as_of, "plan_id": pid, "worker": worker, "claimed_at": now, "stale": stale}
                for pid in candidates]
        won = sorted(conn.execute(self._claim_upsert, rows).scalars())
        return won, candidates

    def finish_claims(
        self, as_of: dt.date, worker: str, done: Iterable[str] = (), *, released: Iterable[str] = ()
    ) -> None:
        """See :meth:`Store.finish_claims` (one transaction)."""
        done, released = list(done), list(released)
        if not done and not released:
            return
        c = t.run_claims
        mine = and_(c.c.as_of == as_of, c.c.worker == worker, c.c.finished_at.is_(None))

        def work(conn: Connection) -> None:
            if done:
                conn.execute(update(c).where(mine, c.c.plan_id.in_(done)).values(finished_at=_now()))
            if released:
                conn.execute(delete(c).where(mine, c.c.plan_id.in_(released)))

        self._tx(work)

    def claims(self, as_of: dt.date) -> tuple[RunClaim, ...]:
        """See :meth:`Store.claims`."""
        c = t.run_claims
        q = select(c).where(c.c.as_of == as_of).order_by(c.c.plan_id)
        return self._tx(
            lambda conn: tuple(
                RunClaim(r.as_of, r.plan_id, r.worker, _aware(r.claimed_at),
                         None if r.finished_at is None else _aware(r.finished_at))
                for r in conn.execute(q)
            ),
            read=True,
        )

    # -- providers --------------------------------------------------------------------

    def save_binding(self, binding: ProviderBinding) -> None:
        """See :meth:`Store.save_binding`."""
        ids = json.dumps(dict(binding.ids), sort_keys=True)
        values = {
            "plan_id": binding.plan_id, "provider": binding.provider, "plan_version": binding.plan_version,
            "ids": ids, "approval_url": binding.approval_url,
            "status": binding.status,
        }

        def work(conn: Connection) -> None:
            if self._lock_plan(conn, binding.plan_id) is None:
                raise UnknownPlanError(f"expected a plan the store holds, got {binding.plan_id!r}")
            # under the plan's lock: the next number in the order the plan's bindings were saved
            last = conn.execute(
                select(func.max(t.bindings.c.saved)).where(t.bindings.c.plan_id == binding.plan_id)
            ).scalar()
            saved = (last or 0) + 1
            stmt = self._insert(t.bindings).values(**values, saved=saved, checksum=_binding_checksum(
                binding.plan_id, binding.provider, binding.plan_version, ids, binding.approval_url,
                binding.status, saved,
            ))
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.bindings.c.plan_id, t.bindings.c.provider],
                    set_={k: stmt.excluded[k] for k in (
                        "plan_version", "ids", "approval_url", "status", "saved", "checksum"
                    )},
                )
            )

        self._tx(work)

    def current_binding(self, plan_id: str) -> ProviderBinding | None:
        """See :meth:`Store.current_binding`."""

        def work(conn: Connection) -> ProviderBinding | None:
            if conn.execute(_PLAN_Q, {"plan_id": plan_id}).first() is None:
                raise UnknownPlanError(f"expected a plan the store holds, got {plan_id!r}")
            row = conn.execute(
                select(t.bindings).where(t.bindings.c.plan_id == plan_id)
                .order_by(t.bindings.c.saved.desc(), t.bindings.c.provider.desc()).limit(1)
            ).first()
            return None if row is None else _binding(row)

        return self._tx(work, read=True)

    def bindings(self, plan_id: str) -> tuple[ProviderBinding, ...]:
        """See :meth:`Store.bindings`."""
        return self._tx(
            lambda conn: tuple(_binding(r) for r in conn.execute(_BINDINGS_Q, {"plan_id": plan_id})), read=True
        )

    # -- the webhook inbox -------------------------------------------------------------

    def ingest(self, event: ProviderEvent, body: bytes) -> IngestResult:
        """See :meth:`Store.ingest`.

        One transaction: for a new event of a plan this process has read
        before, four statements (the plan's row with the entries recorded
        since, the inbox read, the two inserts). A repeat of an event
        already applied is answered by the inbox read (on PostgreSQL after
        the plan's row lock, which orders it after any writer of the plan;
        on SQLite the one writer's lock is already held).
        """
        return self._tx(_IngestWork(self, event, body))

    def inbox(
        self, *, status: InboxStatus | None = None, plan_id: str | None = None
    ) -> tuple[InboxEvent, ...]:
        """See :meth:`Store.inbox`."""
        q = select(t.webhook_events).order_by(t.webhook_events.c.seq)
        if status is not None:
            q = q.where(t.webhook_events.c.status == status.value)
        if plan_id is not None:
            q = q.where(t.webhook_events.c.plan_id == plan_id)
        return self._tx(lambda conn: tuple(_inbox_event(r) for r in conn.execute(q)), read=True)

    def retry_pending(self) -> tuple[IngestResult, ...]:
        """See :meth:`Store.retry_pending` (one transaction per event)."""
        results = []
        for kept in self.inbox(status=InboxStatus.FAILED) + self.inbox(status=InboxStatus.DEFERRED):
            results.append(self.ingest(kept.event, kept.body))
        return tuple(r for r in results if not r.duplicate)

    # -- outbound operations -------------------------------------------------------------

    def reserve_operation(self, operation: Operation) -> Operation:
        """See :meth:`Store.reserve_operation`."""
        now = _now()
        amount = operation.amount

        def work(conn: Connection) -> Operation:
            conn.execute(
                self._insert(t.operations).values(
                    key=operation.key, provider=operation.provider, plan_id=operation.plan_id,
                    action=operation.action, status=operation.status.value, installment=operation.installment,
                    attempt=operation.attempt, amount_minor=None if amount is None else amount.minor,
                    currency=None if amount is None else amount.currency.code, reference=operation.reference,
                    error=operation.error, created_at=now, updated_at=now,
                ).on_conflict_do_nothing()
            )
            row = conn.execute(select(t.operations).where(t.operations.c.key == operation.key)).one()
            return _operation(row)

        return self._tx(work)

    def complete_operation(
        self,
        key: str,
        status: OperationStatus,
        *,
        reference: str | None = None,
        error: str | None = None,
    ) -> Operation:
        """See :meth:`Store.complete_operation`."""

        def work(conn: Connection) -> Operation:
            values: dict[str, Any] = {"status": status.value, "error": error, "updated_at": _now()}
            if reference is not None:
                values["reference"] = reference
            n = conn.execute(update(t.operations).where(t.operations.c.key == key).values(**values)).rowcount
            if n != 1:
                raise StoreError(f"expected an operation reserved under {key!r}, got none")
            return _operation(conn.execute(select(t.operations).where(t.operations.c.key == key)).one())

        return self._tx(work)

    def operations(
        self, *, status: OperationStatus | None = None, plan_id: str | None = None
    ) -> tuple[Operation, ...]:
        """See :meth:`Store.operations`."""
        q = select(t.operations).order_by(t.operations.c.created_at, t.operations.c.key)
        if status is not None:
            q = q.where(t.operations.c.status == status.value)
        if plan_id is not None:
            q = q.where(t.operations.c.plan_id == plan_id)
        return self._tx(lambda conn: tuple(_operation(r) for r in conn.execute(q)), read=True)

    # -- lifecycle steps -----------------------------------------------------------------

    def reserve_step(self, step: Step) -> Step:
        """See :meth:`Store.reserve_step`."""
        now = _now()

        def work(conn: Connection) -> Step:
            conn.execute(
                self._insert(t.steps).values(
                    key=step.key, plan_id=step.plan_id, name=step.name, status=step.status.value,
                    document=step.document, result=step.result, created_at=now, updated_at=now,
                    checksum=_step_checksum(
                        step.key, step.plan_id, step.name, step.status.value, step.document, step.result
                    ),
                ).on_conflict_do_nothing()
            )
            return _step(conn.execute(select(t.steps).where(t.steps.c.key == step.key)).one())

        return self._tx(work)

    def finish_step(self, key: str, result: str | None = None, *, status: StepStatus = StepStatus.DONE) -> Step:
        """See :meth:`Store.finish_step`."""
        done = StepStatus(status).value

        def work(conn: Connection) -> Step:
            q = select(t.steps).where(t.steps.c.key == key)
            row = conn.execute(q.with_for_update() if self._pg else q).first()
            if row is None:
                raise StoreError(f"expected a step reserved under {key!r}, got none")
            old = _step(row)  # a step edited by hand is refused, never signed again as the store's own
            conn.execute(
                update(t.steps).where(t.steps.c.key == key)
                .values(status=done, result=result, updated_at=_now(), checksum=_step_checksum(
                    old.key, old.plan_id, old.name, done, old.document, result
                ))
            )
            return _step(conn.execute(select(t.steps).where(t.steps.c.key == key)).one())

        return self._tx(work)

    def steps(self, *, plan_id: str | None = None, status: StepStatus | None = None) -> tuple[Step, ...]:
        """See :meth:`Store.steps`."""
        q = select(t.steps).order_by(t.steps.c.created_at, t.steps.c.key)
        if plan_id is not None:
            q = q.where(t.steps.c.plan_id == plan_id)
        if status is not None:
            q = q.where(t.steps.c.status == status.value)
        return self._tx(lambda conn: tuple(_step(r) for r in conn.execute(q)), read=True)

    def claim_step(self, key: str, plan_id: str, *, wait: float = 30.0) -> contextlib.AbstractContextManager[None]:
        """See :meth:`Store.claim_step`.

        PostgreSQL: a session advisory lock (``pg_try_advisory_lock`` of
        payplan's lock class and 32 bits of the key's SHA-256, asked again
        until *wait* runs out) on a connection held for the step's length,
        in autocommit (no transaction stays open); the server drops it if
        the process dies. SQLite: a POSIX lock on one byte of
        ``<database>.steps-lock`` beside the file (see
        ``payplan/store/_claims.py``); an in-memory database, one process
        only, takes a lock per key in the process.
        """
        if self._pg:
            return self._pg_claim(key, plan_id, wait)
        database = self.engine.url.database or ""
        if database.startswith("file:"):  # an SQLite URI (uri=true): the path before its query
            database = database[5:].split("?", 1)[0]
        if not database or database == ":memory:" or "mode=memory" in str(self.engine.url):
            return self._local_claims.claim(key, plan_id, wait)
        return file_claim(database + ".steps-lock", key, plan_id, wait)

    @contextlib.contextmanager
    def _pg_claim(self, key: str, plan_id: str, wait: float) -> Iterator[None]:
        lock = (_STEP_LOCK_CLASS, key_offset(key, 32) - 2**31)
        deadline = time.monotonic() + max(wait, 0.0)
        with _translated(self.engine.url):
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            attempt = 0
            while True:
                with _translated(self.engine.url):
                    if conn.execute(select(func.pg_try_advisory_lock(*lock))).scalar_one():
                        break
                if not poll(deadline, attempt):
                    raise in_progress(key, plan_id, wait)
                attempt += 1
            try:
                yield
            finally:
                try:
                    conn.execute(select(func.pg_advisory_unlock(*lock)))
                except sa_exc.SQLAlchemyError:  # the session is gone, and its lock with it
                    conn.invalidate()
        finally:
            conn.close()

    # -- reminders ----------------------------------------------------------------------

    def reserve_reminder(self, plan_id: str, reminder_id: str, on: dt.date) -> bool:
        """See :meth:`Store.reserve_reminder`."""
        return self._tx(functools.partial(self._reserve, plan_id=plan_id, reminder_id=reminder_id, on=on))

    def _reserve(self, conn: Connection, *, plan_id: str, reminder_id: str, on: dt.date) -> bool:
        if self._reserve_q is None:  # built once: the reminder's row, only if the plan exists, in one statement
            r = t.reminders
            plan = select(
                t.plans.c.plan_id, bindparam("r_id", type_=r.c.reminder_id.type), bindparam("r_on", type_=r.c.on.type),
                literal(ReminderStatus.RESERVED.value, r.c.status.type),
            ).where(t.plans.c.plan_id == bindparam("r_plan_id"))
            self._reserve_q = self._insert(r).from_select(
                [r.c.plan_id, r.c.reminder_id, r.c.on, r.c.status], plan
            ).on_conflict_do_nothing().returning(r.c.reminder_id)
        params = {"r_plan_id": plan_id, "r_id": reminder_id, "r_on": on}
        if conn.execute(self._reserve_q, params).first() is not None:
            return True
        if conn.execute(_PLAN_EXISTS_Q, {"plan_id": plan_id}).first() is None:  # nothing inserted: which reason?
            raise UnknownPlanError(f"expected a plan the store holds, got {plan_id!r}")
        return False

    def mark_reminder_sent(self, plan_id: str, reminder_id: str) -> None:
        """See :meth:`Store.mark_reminder_sent`."""
        self._tx(functools.partial(_set_reminder, status=ReminderStatus.SENT, plan_id=plan_id, reminder_id=reminder_id))

    def mark_sent_and_reserve(
        self, sent: tuple[str, str] | None, plan_id: str, reminder_id: str, on: dt.date
    ) -> bool:
        """See :meth:`Store.mark_sent_and_reserve` (one transaction)."""

        def work(conn: Connection) -> bool:
            if sent is not None:
                _set_reminder(conn, ReminderStatus.SENT, plan_id=sent[0], reminder_id=sent[1])
            return self._reserve(conn, plan_id=plan_id, reminder_id=reminder_id, on=on)

        return self._tx(work)

    def reminders(self, plan_id: str) -> tuple[ReminderRecord, ...]:
        """See :meth:`Store.reminders`."""
        return self._tx(
            lambda conn: tuple(
                ReminderRecord(r.plan_id, r.reminder_id, r.on, ReminderStatus(r.status))
                for r in conn.execute(_REMINDERS_Q, {"plan_id": plan_id})
            ),
            read=True,
        )

    def reserved_reminders(self) -> tuple[ReminderRecord, ...]:
        """See :meth:`Store.reserved_reminders` (by the index on the status)."""
        r = t.reminders
        q = select(r).where(r.c.status == ReminderStatus.RESERVED.value).order_by(r.c.plan_id, r.c.reminder_id)
        return self._tx(
            lambda conn: tuple(
                ReminderRecord(x.plan_id, x.reminder_id, x.on, ReminderStatus(x.status)) for x in conn.execute(q)
            ),
            read=True,
        )

    def drop_reminder(self, plan_id: str, reminder_id: str) -> None:
        """See :meth:`Store.drop_reminder`."""
        self._tx(functools.partial(
            _set_reminder, status=ReminderStatus.DROPPED, plan_id=plan_id, reminder_id=reminder_id, only_reserved=True
        ))

    # -- agreements ---------------------------------------------------------------------

    def save_agreement(self, agreement: SignedAgreement) -> None:
        """See :meth:`Store.save_agreement`."""

        def work(conn: Connection) -> None:
            if conn.execute(select(t.plans.c.plan_id).where(t.plans.c.plan_id == agreement.plan_id)).first() is None:
                raise UnknownPlanError(f"expected a plan the store holds, got {agreement.plan_id!r}")
            inserted = conn.execute(
                self._insert(t.agreements).values(
                    plan_id=agreement.plan_id, version=agreement.version, signed_by=agreement.signed_by,
                    signed_at=agreement.signed_at.astimezone(dt.UTC), sha256=agreement.sha256,
                    text=agreement.text, evidence=agreement.evidence, evidence_sha256=agreement.evidence_sha256,
                ).on_conflict_do_nothing().returning(t.agreements.c.version)
            ).first()
            if inserted is None:
                raise StoreConflictError(
                    f"expected one signed agreement per plan version, got a second for "
                    f"{agreement.plan_id} v{agreement.version}"
                )

        self._tx(work)

    def agreements(self, plan_id: str) -> tuple[SignedAgreement, ...]:
        """See :meth:`Store.agreements`."""
        q = select(t.agreements).where(t.agreements.c.plan_id == plan_id).order_by(t.agreements.c.version)
        return self._tx(lambda conn: tuple(_agreement(r) for r in conn.execute(q)), read=True)

    # -- measuring ----------------------------------------------------------------------

    def table_sizes(self) -> dict[str, int]:
        """Row counts of payplan's tables (for benchmarks and dashboards)."""

        def work(conn: Connection) -> dict[str, int]:
            names = set(inspect(conn).get_table_names())
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in t.metadata.sorted_tables if table.name in names
            }

        return self._tx(work, read=True)


class _IngestWork:
    """One inbox transaction: lock the plan, dedupe on (provider, event id), apply, write."""

    retry_integrity = True  # two workers inserting the same unknown-plan event: the retry sees the row

    def __init__(self, store: SQLStore, event: ProviderEvent, body: bytes) -> None:
        self.store, self.event, self.body = store, event, body

    def __call__(self, conn: Connection) -> IngestResult:
        store, event = self.store, self.event
        key = {"provider": event.provider, "event_id": event.id, "plan_id": event.plan_id}
        found = None
        if store._pg:
            # The plan's row lock first: it orders this transaction after any other writer of the
            # plan, so the inbox read next sees what they committed (a repeat is answered there).
            found = store._find_plan(conn, event.plan_id, lock=True)
        kept = None
        pending: list[ProviderEvent] = []
        for row in conn.execute(_INBOX_Q, key):
            if row.provider == event.provider and row.event_id == event.id:
                kept = row
            else:
                pending.append(_event(event.plan_id, row))
        if kept is not None and kept.status == InboxStatus.APPLIED.value:
            return IngestResult(InboxStatus.APPLIED, duplicate=True)
        if not store._pg:  # SQLite: this transaction has held the one write lock since BEGIN IMMEDIATE
            found = store._find_plan(conn, event.plan_id, lock=True)
        plan = ledger = None
        seq = 0
        if found is not None:
            _, plan, read = found
            ledger, seq = read.ledger, read.seq
        out = settle_events(plan, ledger, event, pending)
        now = _now()
        status = out.status[event.id]
        error = out.error.get(event.id)
        if kept is None:
            amount = event.amount
            document = dumps_event(event)
            conn.execute(_INSERT_EVENT, {
                "provider": event.provider, "event_id": event.id, "plan_id": event.plan_id, "status": status.value,
                "attempts": 1, "error": error, "kind": event.kind.value, "occurred_on": event.occurred_on,
                "amount_minor": None if amount is None else amount.minor,
                "currency": None if amount is None else amount.currency.code,
                "event": document, "body": self.body, "received_at": now, "updated_at": now,
                "checksum": _event_checksum(event.plan_id, event.provider, event.id, document, self.body),
            })
        else:
            conn.execute(_RETRY_EVENT, {
                "w_provider": event.provider, "w_event_id": event.id, "status": status.value,
                "attempts": kept.attempts + 1, "error": error, "updated_at": now,
            })
        providers = {p.id: p.provider for p in pending}
        unblocked = [
            {"w_provider": providers[eid], "w_event_id": eid, "w_now": now}
            for eid, st in out.status.items() if eid != event.id and st is InboxStatus.APPLIED
        ]
        if unblocked:
            conn.execute(_APPLIED_EVENT, unblocked)
        if plan is not None and out.ledger is not None:
            store._write_entries(conn, plan, out.ledger, seq, out.entries)
        return IngestResult(status, False, tuple(e.id for e in out.entries), error)
