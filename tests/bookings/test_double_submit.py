"""Two `book` calls for the same plan in two processes send one deposit request (#21).

Each call reserves the step and then claims it (Store.claim_step: a POSIX
lock beside the SQLite file, a PostgreSQL advisory lock); the second
waits for the first and returns the booking as the first left it, or
raises StepInProgressError when its wait runs out. Checked on the fake
Stripe's request log: every idempotency key is sent once, one invoice is
paid. On real SQLite and real PostgreSQL, with real processes.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("stripe", reason="the test drives the Stripe adapter (payplan[stripe])")
pytest.importorskip("sqlalchemy", reason="the test needs payplan[store]")

from payplan import StepInProgressError
from payplan.store import StepStatus, Store
from payplan.testing.server import FakeServer

from . import double_submit
from .crash_drill import PLAN_ID

DEPOSIT = 50000


@pytest.fixture(scope="module")
def ctx() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([double_submit.__name__, "payplan.store.sql", "sqlalchemy", "stripe"])
    return ctx


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        from payplan.store.sql import upgrade

        db = f"sqlite:///{tmp_path / 'double.db'}"
        upgrade(db)
        return db
    return str(request.getfixturevalue("pg_url"))


def _posts(server: FakeServer) -> list[Any]:
    return [r for r in server.requests() if r.method == "POST"]


def _two(ctx: Any, url: str, server: FakeServer, fake: double_submit.SlowStripe, waits: tuple[float, float]) -> list[Any]:
    """The first worker starts; once it is inside its first Stripe request the second starts; both answers."""
    out = ctx.Queue()
    first = ctx.Process(target=double_submit.book, args=(url, server.url, waits[0], out))
    first.start()
    assert fake.first.wait(60), "the first worker never reached Stripe"
    second = ctx.Process(target=double_submit.book, args=(url, server.url, waits[1], out))
    second.start()
    answers = [out.get(timeout=120), out.get(timeout=120)]
    for proc in (first, second):
        proc.join(60)
        assert proc.exitcode == 0
    return answers


def test_the_second_process_waits_and_returns_the_booking(ctx: Any, url: str) -> None:
    """Both calls return the booking with its deposit paid; Stripe got each request once (one invoice paid)."""
    fake = double_submit.SlowStripe(delay=1.0)
    with fake.serve() as server:
        answers = _two(ctx, url, server, fake, (30.0, 30.0))
        assert answers == [("ok", DEPOSIT, ""), ("ok", DEPOSIT, "")]
        keys = Counter(r.headers.get("Idempotency-Key") for r in _posts(server))
        assert [k for k, n in keys.items() if n > 1] == []
        assert sum(1 for r in _posts(server) if r.path.endswith("/pay")) == 1
        assert len(fake.fake.charges) == 1
    store = Store.open(url)
    try:
        assert [(s.name, s.status) for s in store.steps(plan_id=PLAN_ID)] == [("book", StepStatus.DONE)]
        assert store.load(PLAN_ID).ledger.paid.minor == DEPOSIT
    finally:
        store.close()


def test_a_second_process_that_stops_waiting_gets_a_clear_error_then_the_booking(ctx: Any, url: str) -> None:
    """With a short wait the second call says the step is in progress (nothing sent); called again, it returns the booking."""
    fake = double_submit.SlowStripe(delay=1.5)
    with fake.serve() as server:
        answers = _two(ctx, url, server, fake, (30.0, 0.2))
        errors = [a for a in answers if a[0] == "error"]
        assert len(errors) == 1
        assert errors[0][1] == StepInProgressError.__name__
        assert f"plan {PLAN_ID!r}" in errors[0][2]
        assert "in progress" in errors[0][2]
        assert [a for a in answers if a[0] == "ok"] == [("ok", DEPOSIT, "")]
        sent = len(server.requests())
        out = ctx.Queue()
        again = ctx.Process(target=double_submit.book, args=(url, server.url, 0.2, out))
        again.start()
        assert out.get(timeout=120) == ("ok", DEPOSIT, "")
        again.join(60)
        assert len(server.requests()) == sent  # the finished booking is read, nothing sent
        assert len(fake.fake.charges) == 1
