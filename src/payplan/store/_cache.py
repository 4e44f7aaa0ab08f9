"""The SQL store's per-plan ledger cache: what a process already read of each plan's ledger.

Why a cached ledger plus "the entries after its last seq" is the plan's
whole ledger: every entry of a plan is inserted by a transaction that holds
the plan's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
one writer at a time of ``BEGIN IMMEDIATE``), or that creates the plan's row
(``add_plan``: nobody else sees the plan before it commits). So the
transactions that write one plan's entries run one after the other, and
each takes its ``seq`` values (a sequence on PostgreSQL, SQLite's rowid
with no row ever deleted) after the previous one committed: within one
plan, seq order is commit order, and any reader sees a prefix of the plan's
entries by seq. A cached ``(seq, ledger)`` is such a prefix; reading the
entries with a larger seq completes it, under the row lock (writers) or as
of the reader's statement (readers).

The cache is only told what committed: the store collects what each
transaction read and wrote, and hands it over after the commit. A rolled
back write leaves the cache as it was.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from .._ledger import Ledger

__all__ = ["CachedLedger", "LedgerCache"]


class CachedLedger(NamedTuple):
    """A plan's ledger as committed up to entry *seq*, read under plan *version*."""

    version: int
    seq: int
    ledger: Ledger


class LedgerCache:
    """Plan id -> :class:`CachedLedger`, the least recently used dropped past *size* (0: keep none).

    Safe to share across threads. A put never replaces a later state of
    the plan (a higher ``(seq, version)``) by an earlier one: a slow reader
    cannot take the cache back in time.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, CachedLedger] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, plan_id: str) -> CachedLedger | None:
        if not self.size:
            return None
        with self._lock:
            item = self._items.get(plan_id)
            if item is not None:
                self._items.move_to_end(plan_id)
            return item

    def put(self, plan_id: str, item: CachedLedger) -> None:
        if not self.size:
            return
        with self._lock:
            old = self._items.get(plan_id)
            if old is not None and (old.seq, old.version) > (item.seq, item.version):
                return
            self._items[plan_id] = item
            self._items.move_to_end(plan_id)
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
