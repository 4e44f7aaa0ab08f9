"""Worker processes for the store drills (importable, so `spawn` can start them)."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from typing import Any

from payplan import ExtendDueDate, StoreConflictError, amend
from payplan.store import Store, receive_webhook

from .helpers import sandbox

Delivery = tuple[dict[str, str], bytes]


def deliver(url: str, batch: Sequence[Delivery], pause: float = 0.0) -> dict[str, int]:
    """Deliver *batch* through receive_webhook as a provider would: retry each 5xx until it is answered."""
    store = Store.open(url)
    sb = sandbox()
    statuses: dict[str, int] = {}
    try:
        for headers, body in batch:
            for _ in range(200):
                response = receive_webhook(store, sb, headers, body)
                if response.status < 500:
                    break
                time.sleep(0.01)
            key = str(response.status)
            statuses[key] = statuses.get(key, 0) + 1
            if pause:
                time.sleep(pause)
    finally:
        store.close()
    return statuses


def deliver_forever(url: str, batch: Sequence[Delivery], done: Any) -> None:
    """Deliver *batch* again and again (until killed), flagging *done* after each full pass."""
    store = Store.open(url)
    sb = sandbox()
    while True:
        for headers, body in batch:
            receive_webhook(store, sb, headers, body)
        done.set()


def amend_rounds(url: str, plan_id: str, rounds: int, barrier: Any, seed: int, out: Any) -> None:
    """Each round: read the plan, amend it, wait for the other worker, save; count wins and conflicts."""
    store = Store.open(url)
    rng = random.Random(seed)
    wins = conflicts = 0
    for _ in range(rounds):
        stored = store.load(plan_id)
        plan = stored.plan
        line = plan.installments[1]
        to = line.due + dt.timedelta(days=rng.randint(1, 2))
        new, record = amend(plan, ExtendDueDate(2, to), by=f"worker-{seed}", reason="drill", on=plan.booked)
        barrier.wait()
        try:
            store.save_version(new, record)
            wins += 1
        except StoreConflictError:
            conflicts += 1
        barrier.wait()
    store.close()
    out.put((seed, wins, conflicts))
