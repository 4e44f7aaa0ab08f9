"""A process that claims a lifecycle step and holds it until it is killed (tests/store/test_step_claims.py)."""

from __future__ import annotations

import time
from typing import Any

from payplan.store import Store


def hold(url: str, key: str, ready: Any) -> None:
    store = Store.open(url)
    with store.claim_step(key, "a-plan", wait=10):
        ready.set()
        time.sleep(600)  # until the test kills it
