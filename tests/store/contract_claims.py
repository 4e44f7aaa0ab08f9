"""ClaimsContract: the daily run's claims and the reserved-reminder reads, on every Store back end.

Mixed into :class:`~tests.store.contract.StoreContract`, so the memory,
SQLite and PostgreSQL stores all pass it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payplan import StoreError
from payplan.store import ReminderStatus, Store

from .helpers import make_plan

ON = dt.date(2027, 1, 1)
LEASE = dt.timedelta(minutes=15)
NOW_STALE = dt.timedelta(0)  # a lease of 0: every unfinished claim is taken over


def _plans(store: Store, n: int) -> list[str]:
    prefix = uuid.uuid4().hex[:8]
    ids = [f"c-{prefix}-{k:03d}" for k in range(n)]
    for pid in ids:
        store.add_plan(make_plan(pid))
    return ids


def _ids(batch: tuple[object, ...]) -> list[str]:
    return [s.plan.id for s in batch]  # type: ignore[attr-defined]


class ClaimsContract:
    """Claims: disjoint batches for the workers of one date, a lease, finishing and giving back."""

    def test_two_workers_take_disjoint_batches_covering_every_active_plan(self, store: Store) -> None:
        """Claims alternate between two workers; no plan twice, every active plan once, inactive ones never."""
        ids = _plans(store, 11)
        store.set_active(ids[4], False)
        taken: dict[str, list[str]] = {"a": [], "b": []}
        after = {"a": "", "b": ""}
        while True:
            got = 0
            for w in ("a", "b"):
                batch = store.claim_plans(ON, w, limit=3, after=after[w])
                assert all(s.plan.id in ids and s.ledger is not None for s in batch)
                taken[w] += _ids(batch)
                got += len(batch)
                if batch:
                    after[w] = batch[-1].plan.id
            if not got:
                break
        assert not set(taken["a"]) & set(taken["b"])
        assert sorted(taken["a"] + taken["b"]) == [p for p in ids if p != ids[4]]
        assert taken["a"]
        assert taken["b"]
        assert {(c.plan_id, c.worker, c.finished_at) for c in store.claims(ON)} == {
            (p, w, None) for w in taken for p in taken[w]
        }

    def test_claims_are_per_date_and_carry_the_ledger(self, store: Store) -> None:
        """Another date's claims are apart; a claimed plan comes with its stored ledger."""
        (pid,) = _plans(store, 1)
        assert _ids(store.claim_plans(ON, "a")) == [pid]
        assert store.claim_plans(ON, "b") == ()
        other = store.claim_plans(ON + dt.timedelta(days=1), "b")
        assert _ids(other) == [pid]
        assert other[0].ledger == store.load(pid).ledger
        assert [c.worker for c in store.claims(ON)] == ["a"]

    def test_finished_claims_stay_taken_released_ones_come_back(self, store: Store) -> None:
        """Finished plans are not taken again that date (even past the lease); given-back ones are."""
        ids = _plans(store, 3)
        assert _ids(store.claim_plans(ON, "a")) == ids
        store.finish_claims(ON, "a", ids[:2], released=[ids[2]])
        assert _ids(store.claim_plans(ON, "b", lease=NOW_STALE)) == [ids[2]]
        finished = {c.plan_id: c for c in store.claims(ON)}
        assert finished[ids[0]].finished_at is not None
        assert finished[ids[0]].finished_at.utcoffset() == dt.timedelta(0)  # type: ignore[union-attr]
        assert finished[ids[2]].worker == "b"

    def test_a_dead_workers_claims_are_taken_over_after_the_lease(self, store: Store) -> None:
        """Unfinished claims hold within the lease; past it the next worker takes them, and the dead one cannot finish them."""
        ids = _plans(store, 2)
        assert _ids(store.claim_plans(ON, "dead")) == ids
        assert store.claim_plans(ON, "next", lease=LEASE) == ()
        assert _ids(store.claim_plans(ON, "next", lease=NOW_STALE)) == ids
        store.finish_claims(ON, "dead", ids)  # too late: the claims are no longer its own
        assert {(c.worker, c.finished_at) for c in store.claims(ON)} == {("next", None)}
        store.finish_claims(ON, "next", ids)
        assert all(c.finished_at is not None for c in store.claims(ON))

    def test_after_and_shards(self, store: Store) -> None:
        """Only ids after *after*; shards split the claims as they split active_plans."""
        ids = _plans(store, 9)
        assert _ids(store.claim_plans(ON, "a", after=ids[6])) == ids[7:]
        by_shard = [
            {s.plan.id for b in store.active_plans(shard=k, shards=2) for s in b} - set(ids[7:]) for k in range(2)
        ]
        for k in range(2):
            got = set(_ids(store.claim_plans(ON, f"w{k}", shard=k, shards=2)))
            assert got == {p for p in by_shard[k] if p in ids}

    def test_mark_sent_and_reserve_is_one_step(self, store: Store) -> None:
        """Marking the last message sent and reserving the next happen together, or not at all."""
        (pid,) = _plans(store, 1)
        assert store.mark_sent_and_reserve(None, pid, "m1", ON) is True
        assert store.mark_sent_and_reserve((pid, "m1"), pid, "m2", ON) is True
        assert store.mark_sent_and_reserve((pid, "m2"), pid, "m1", ON) is False  # m1 was reserved before
        assert [r.reminder_id for r in store.reserved_reminders() if r.plan_id == pid] == []
        assert store.mark_sent_and_reserve(None, pid, "m3", ON) is True
        with pytest.raises(StoreError, match="reserved"):
            store.mark_sent_and_reserve((pid, "never"), pid, "m4", ON)
        with pytest.raises(StoreError):
            store.mark_sent_and_reserve((pid, "m3"), "no-such-plan", "m4", ON)
        # neither refusal wrote anything: m3 still reserved, m4 not
        assert {r.reminder_id: r.status for r in store.reminders(pid)} == {
            "m1": ReminderStatus.SENT, "m2": ReminderStatus.SENT, "m3": ReminderStatus.RESERVED,
        }

    def test_deactivate_many_in_one_call(self, store: Store) -> None:
        """deactivate() takes the named plans out of the run (unknown ids ignored); the rest stay."""
        ids = _plans(store, 4)
        store.deactivate([ids[0], ids[2], "no-such-plan"])
        store.deactivate([])
        active = {s.plan.id for b in store.active_plans() for s in b}
        assert active & set(ids) == {ids[1], ids[3]}
        assert store.load(ids[0]).active is False

    @pytest.mark.parametrize(("kwargs", "match"), [
        ({"as_of": "2027-01-01"}, "datetime.date"),
        ({"worker": ""}, "worker name"),
        ({"limit": 0}, "batch size"),
        ({"lease": dt.timedelta(seconds=-1)}, "lease"),
        ({"shard": 2, "shards": 2}, "shard"),
    ])
    def test_bad_claim_arguments(self, store: Store, kwargs: dict[str, object], match: str) -> None:
        """Bad claim arguments are a StoreError saying what was expected; nothing is claimed."""
        _plans(store, 1)
        args: dict[str, object] = {"as_of": ON, "worker": "a", **kwargs}
        with pytest.raises(StoreError, match=match):
            store.claim_plans(args.pop("as_of"), args.pop("worker"), **args)  # type: ignore[arg-type]
        assert store.claims(ON) == ()

    def test_reserved_reminders_and_dropping(self, store: Store) -> None:
        """Reserved-but-unsent reminders are listed; sent and dropped ones are not; dropping a sent one is refused."""
        (pid,) = _plans(store, 1)
        for rid in ("r1", "r2", "r3"):
            assert store.reserve_reminder(pid, rid, ON)
        store.mark_reminder_sent(pid, "r1")
        store.drop_reminder(pid, "r2")
        assert [(r.plan_id, r.reminder_id) for r in store.reserved_reminders() if r.plan_id == pid] == [(pid, "r3")]
        assert {r.reminder_id: r.status for r in store.reminders(pid)} == {
            "r1": ReminderStatus.SENT, "r2": ReminderStatus.DROPPED, "r3": ReminderStatus.RESERVED,
        }
        assert store.reserve_reminder(pid, "r2", ON) is False  # a dropped message is never sent
        for rid in ("r1", "r2", "never"):
            with pytest.raises(StoreError, match="reserved"):
                store.drop_reminder(pid, rid)

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors])
    @given(steps=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["claim", "finish", "release"])),
                          min_size=1, max_size=25))
    def test_any_interleaving_gives_each_plan_to_one_worker_at_a_time(
        self, new_store: Callable[[], Store], steps: list[tuple[int, str]]
    ) -> None:
        """Three workers claiming, finishing and giving back in any order: a plan is held by one worker
        at a time, a finished plan is never taken again for the date, and what is left is exactly
        what nobody finished or holds. Each example has an empty store of its own."""
        store = new_store()
        ids = set(_plans(store, 5))
        assert set(store.plan_ids()) == ids
        day = ON
        holding: dict[int, set[str]] = {0: set(), 1: set(), 2: set()}
        finished: set[str] = set()
        for w, op in steps:
            if op == "claim":
                got = set(_ids(store.claim_plans(day, f"w{w}", limit=2))) & ids
                assert not got & finished
                assert not got & set().union(*holding.values())
                holding[w] |= got
            elif op == "finish":
                store.finish_claims(day, f"w{w}", sorted(holding[w]))
                finished |= holding[w]
                holding[w] = set()
            else:
                store.finish_claims(day, f"w{w}", released=sorted(holding[w]))
                holding[w] = set()
        left = set(_ids(store.claim_plans(day, "last", limit=100))) & ids
        assert left == ids - finished - set().union(*holding.values())
        done = {c.plan_id for c in store.claims(day) if c.plan_id in ids and c.finished_at is not None}
        assert done == finished
