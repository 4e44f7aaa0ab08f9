"""Store.claim_step: one holder of a step key at a time, across processes and threads; a dead holder lets go.

On real SQLite (a POSIX lock beside the file) and real PostgreSQL (a session
advisory lock), with a real second process killed with SIGKILL.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store] (SQLAlchemy, Alembic)")

from payplan import StepInProgressError, StoreConflictError
from payplan.store import MemoryStore, Store

from . import claim_worker


@pytest.fixture
def holder(url: str) -> Iterator[Any]:
    """A second process holding the claim of step "k1" until it is killed."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=claim_worker.hold, args=(url, "k1", ready))
    proc.start()
    assert ready.wait(60), "the holder never took its claim"
    yield proc
    proc.kill()
    proc.join(30)


def test_a_claim_held_by_another_process_is_respected_until_it_dies(url: str, holder: Any) -> None:
    """Another process holds k1: a claim of k1 waits and then says it is in progress; k2 is free; once the holder is killed, k1 is free."""
    store = Store.open(url)
    try:
        started = time.monotonic()
        with pytest.raises(StepInProgressError) as caught, store.claim_step("k1", "a-plan", wait=0.3):
            pytest.fail("claimed a step another process holds")
        assert time.monotonic() - started >= 0.3
        err = caught.value
        assert (err.key, err.plan_id, err.retryable) == ("k1", "a-plan", True)
        assert isinstance(err, StoreConflictError)
        with store.claim_step("k2", "a-plan", wait=0):
            pass
        holder.kill()  # SIGKILL: nothing of the holder runs again
        holder.join(30)
        with store.claim_step("k1", "a-plan", wait=10):
            pass
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_threads_of_one_process_take_turns(kind: str, request: pytest.FixtureRequest) -> None:
    """Two threads claiming the same key run one after the other, never both inside; a claim is released after an error."""
    store = MemoryStore() if kind == "memory" else Store.open(
        str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url"))
    )
    inside: list[int] = []
    overlaps: list[int] = []

    def run(n: int) -> None:
        with store.claim_step("k1", "a-plan", wait=30):
            if inside:
                overlaps.append(n)
            inside.append(n)
            time.sleep(0.2)
            inside.remove(n)

    with pytest.raises(RuntimeError), store.claim_step("k1", "a-plan", wait=1):
        raise RuntimeError("the step failed")
    try:
        threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert overlaps == []
        with store.claim_step("k1", "a-plan", wait=0):
            pass
        if kind == "sqlite":  # the lock file's descriptor is closed once no claim is held (none kept per database)
            from payplan.store import _claims

            assert [k for k in _claims._FDS if k[1] == os.getpid()] == []
    finally:
        if not isinstance(store, MemoryStore):
            store.close()
