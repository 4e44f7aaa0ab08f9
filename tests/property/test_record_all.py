"""``Ledger.record_all`` records a batch on one copy, and is exactly the fold of ``Ledger.record``.

Same entries in the same order, same totals and views, and it raises exactly
when the fold raises (recording nothing then), from an empty ledger, from a
ledger that is the newest of its line, and from one that is not.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from payplan import (
    Allocation,
    CancellationSettled,
    CreditApplied,
    FeeWaived,
    LateFeeAssessed,
    Ledger,
    LedgerEntry,
    LedgerError,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    Refund,
    WriteOff,
    plan_status,
)
from strategies import plans

KINDS = ("payment", "payment", "failed", "refund", "goodwill", "fee", "waiver", "write_off", "credit", "cancel")


@st.composite
def offers(draw: st.DrawFn) -> tuple[PaymentPlan, list[Any]]:
    """A plan and entries to offer it: new ones, replays of earlier ones, reused ids, now and then a non-entry."""
    plan = draw(plans(max_installments=4, allow_apr=False))
    cur = plan.fee.currency
    total = plan.total.minor
    days = [plan.booked + dt.timedelta(days=d) for d in draw(st.lists(st.integers(0, 90), min_size=1, max_size=3))]
    out: list[Any] = []
    fees: list[str] = []
    for n in range(draw(st.integers(0, 14))):
        choice = draw(st.integers(0, 9))
        if out and choice == 0:
            out.append(draw(st.sampled_from(out)))  # a replay: a no-op when the first was recorded
            continue
        if out and choice == 1:
            taken = draw(st.sampled_from(out))
            if isinstance(taken, PaymentReceived):  # a reused id with other content
                out.append(PaymentReceived(taken.id, taken.on, Money(taken.amount.minor + 1, cur)))
                continue
        if choice == 2 and draw(st.integers(0, 4)) == 0:
            out.append(("not", "an entry"))
            continue
        kind = draw(st.sampled_from(KINDS))
        eid = f"{kind}-{n}"
        on = draw(st.sampled_from(days))
        amount = Money(draw(st.integers(1, max(1, total))), cur)
        small = Money(draw(st.integers(1, max(1, total // 4))), cur)
        entry: LedgerEntry
        if kind == "payment":
            entry = PaymentReceived(eid, on, amount)
        elif kind == "failed":
            entry = PaymentFailed(eid, on, "card_declined", 1, small)
        elif kind == "refund":
            entry = Refund.reversal(eid, on, small)
        elif kind == "goodwill":
            entry = Refund.price_reduction(eid, on, small, "goodwill")
        elif kind == "fee":
            entry = LateFeeAssessed(eid, on, small, draw(st.integers(1, len(plan.installments))))
            fees.append(eid)
        elif kind == "waiver":
            fee_id = draw(st.sampled_from(fees)) if fees and draw(st.booleans()) else None
            entry = FeeWaived(eid, on, small, "goodwill", fee_id)
        elif kind == "write_off":
            number = draw(st.integers(1, len(plan.installments))) if draw(st.booleans()) else None
            entry = WriteOff(eid, on, small, "hardship", number)
        elif kind == "cancel":
            entry = CancellationSettled(eid, on, small, Money(0, cur), Money(0, cur), "window")
        else:
            entry = CreditApplied(eid, on, small, "referral")
        out.append(entry)
    return plan, out


def _fold(ledger: Ledger, entries: list[Any]) -> Ledger:
    for entry in entries:
        ledger = ledger.record(entry)
    return ledger


def _views(plan: PaymentPlan, ledger: Ledger) -> tuple[object, ...]:
    days = sorted({plan.booked, *(e.on for e in ledger), *(i.due for i in plan.installments)})
    return (
        tuple(ledger), len(ledger), ledger.canonical(), ledger.paid, ledger.refunded, ledger.net_paid, ledger.fees,
        ledger.waived, ledger.credits, ledger.written_off, ledger.failed_attempts, ledger.cancellation,
        ledger.last_on, ledger.charges, ledger.funds, ledger.balance, ledger.installment_write_offs(),
        tuple(ledger.as_of(d) for d in days),
        tuple(plan_status(plan, ledger, d, allocation=a) for d in days for a in Allocation),
    )


def _outcome(record: Any, base: Ledger, batch: list[Any]) -> tuple[str, Ledger | None]:
    try:
        return "ok", record(base, batch)
    except LedgerError:
        return "refused", None


class TestRecordAllIsTheFoldOfRecord:
    @settings(max_examples=250, deadline=None)
    @given(offers(), st.integers(0, 14), st.sampled_from(["newest", "not newest"]))
    def test_same_ledger_and_raises_exactly_when_the_fold_raises(
        self, drawn: tuple[PaymentPlan, list[Any]], cut: int, line: str
    ) -> None:
        plan, offered = drawn
        base = Ledger.empty(plan)
        for entry in offered[:cut]:  # a base with entries, recorded one by one (refused ones left out)
            with contextlib.suppress(LedgerError):
                base = base.record(entry)
        if line == "not newest":
            # Another version derived from the base first: the base's store has moved on.
            base.record(PaymentFailed("elsewhere", plan.booked, "other line"))
        before = _views(plan, base)
        batch = offered[cut:]
        folded = _outcome(_fold, base, batch)
        batched = _outcome(Ledger.record_all, base, batch)
        assert batched[0] == folded[0]
        assert _views(plan, base) == before  # the base never changes, refused batch or not
        if folded[1] is None or batched[1] is None:
            return
        assert batched[1] == folded[1]
        assert _views(plan, batched[1]) == _views(plan, folded[1])
        if len(folded[1]) == len(base):
            assert batched[1] is base  # nothing new: the same ledger, as record() answers a replay

    @settings(max_examples=100, deadline=None)
    @given(offers())
    def test_a_refused_batch_leaves_the_base_the_newest_of_its_line(self, drawn: tuple[PaymentPlan, list[Any]]) -> None:
        """After a refused batch, recording on the base extends its line as if the batch had never been offered."""
        plan, offered = drawn
        base = Ledger.empty(plan)
        try:
            base.record_all(offered)
        except LedgerError:
            pass
        else:
            assume(False)  # only a refused batch is the point here
        extra = PaymentFailed("after", plan.booked, "declined")
        one = base.record(extra)
        assert list(one) == [extra]
        assert one._store is base._store  # no copy: the refused batch was taken back from the shared store
        assert one.record_all(offered[:0]) is one
        assert base.get("after") is None
        assert len(base) == 0
