"""The six-month drill on every adapter, through the clocked fakes (issue #20, "must be true" 2).

Stripe (subscription schedule and invoices), Square and PayPal (REST and
server-SDK bindings): the plans of :mod:`.adapter_drill` run day by day for
six months, the provider collecting the installments by itself on their
dates as each card's script says, its webhooks delivered shuffled and some
twice, the site booking, cancelling and refunding through
:class:`~payplan.bookings.Bookings` and collecting with the daily run.
``make test`` runs a sample of each (21 plans: every script under each fee
timing); ``make drills`` the full size (``PAYPLAN_DRILLS=full``: 210). The
same days with the run in a worker process SIGKILLed at random points and
restarted, on SQLite, the fake outliving it as a provider does: Stripe
(invoices mode) in ``make test``, Stripe and Square in ``make drills``.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
import pytest

from payplan import LateFeeAssessed, PaymentReceived, PlanStatus
from payplan.providers import Capability

from . import adapter_drill as ad

FULL = os.environ.get("PAYPLAN_DRILLS") == "full"
PLANS = 210 if FULL else 21
KILL_PLANS = 70 if FULL else 7
_NEEDS = {"stripe": ("stripe",), "square": ("square",), "paypal": ("paypalrestsdk", "paypalserversdk", "cryptography")}


def _skip_without_sdk(name: str) -> None:
    for module in _NEEDS[name.split("-", 1)[0]]:
        pytest.importorskip(module, reason=f"the {name} drill needs the {module} SDK (payplan's extras)")


@pytest.fixture(scope="module", params=ad.ADAPTERS)
def drilled(request: pytest.FixtureRequest) -> Any:
    _skip_without_sdk(request.param)
    with ad.adapter(request.param) as a:
        d = ad.Drill(a, PLANS).run()
        print(f"\n{request.param}: {ad.tally(d)}")
        yield d


@pytest.mark.slow
class TestSixMonthsOnEveryAdapter:
    def test_every_check_holds(self, drilled: ad.Drill) -> None:
        """Endings, nothing charged twice or above the balance, fees collected or held, refunds once, goodwill
        kept paid, no message twice, every delivery accepted and applied."""
        assert ad.check(drilled) == {}

    def test_the_drill_did_what_it_drills(self, drilled: ad.Drill) -> None:
        """Every script ran, deliveries were repeated, fees were assessed, and each was charged or held."""
        t = ad.tally(drilled)
        a = drilled.a
        assert t["repeated"] > 0
        assert t["fees assessed"] > 0
        assert t["cancelled"] == sum(ad.script_of(n) is ad.Script.CANCELLED for n in range(PLANS))
        ends = {a.ends(ad.script_of(n)) for n in range(PLANS)}
        assert {PlanStatus.PAID_IN_FULL, PlanStatus.DEFAULTED, PlanStatus.CANCELLED} <= ends
        if Capability.CHARGE_FEES in a.provider.capabilities:
            assert t["fee charges succeeded"] > 0
            assert sum(a.fee_charges().values()) == t["fee charges succeeded"]
        else:
            assert t["fee charges"] == 0
            assert t["held (fee-days)"] > 0
        if a.goodwill:
            assert t["goodwill refunds"] == sum(ad.script_of(n) is ad.Script.GOODWILL for n in range(PLANS))


@pytest.mark.slow
# make test kills Stripe's worker (~35 s); make drills (PAYPLAN_DRILLS=full) Square's too, with more plans
@pytest.mark.parametrize("name", ["stripe-invoices", *(["square"] if FULL else [])])
def test_a_worker_killed_at_random_points_and_restarted(name: str, tmp_path: Any) -> None:
    """Each day's run in a worker process SIGKILLed at random moments (by the parent) and at random store
    calls (by itself), restarted on the same day; the fake, like a provider, outlives it. On SQLite."""
    _skip_without_sdk(name)
    pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store]")
    from payplan.store.sql import upgrade

    url = f"sqlite:///{tmp_path / 'drill.db'}"
    upgrade(url)
    with ad.adapter(name) as a:
        d = ad.KillDrill(a, name, KILL_PLANS, url, a.server_url, str(tmp_path / "outbox.jsonl"), kill_chance=0.004)
        try:
            d.run()
            found = ad.check(d)
        finally:
            d.store.close()
    kills = d.worker.kills
    print(f"\n{name}: {kills} kills, {ad.tally(d)}")
    assert kills >= 5, kills
    assert d.worker.starts == kills + 1
    # each kill may cut short one message handed to the mail system: sent again, with the same id
    twice = found.pop("messages twice", {})
    assert sum(n - 1 for n in twice.values()) <= kills
    assert found == {}


class TestTheChecksCatch:
    """The drill's checks fail on what they look for (a drill whose checks cannot fail proves nothing)."""

    @pytest.fixture(scope="class")
    def small(self) -> Any:
        _skip_without_sdk("stripe-invoices")
        with ad.adapter("stripe-invoices") as a:
            yield ad.Drill(a, 7).run()

    def test_a_clean_drill_passes(self, small: ad.Drill) -> None:
        assert ad.check(small) == {}

    def test_a_fee_neither_collected_nor_held(self, small: ad.Drill) -> None:
        last = small.summaries[-1]
        kept = list(last.actions)
        last.actions = [x for x in kept if x.kind != "held"]
        try:
            found = ad.check(small)
        finally:
            last.actions = kept
        owed = [e.id for n in range(7) for e in small.store.load(ad.plan_of(n).id).ledger
                if isinstance(e, LateFeeAssessed)]
        assert owed
        assert set(found) == {"fees neither collected nor held"}

    def test_a_cancellation_refunded_other_than_settled(self, small: ad.Drill) -> None:
        plan_id = next(ad.plan_of(n).id for n in range(7) if ad.script_of(n) is ad.Script.CANCELLED)
        settlement = small.cancelled[plan_id]
        assert settlement.refund.minor > 0
        small.cancelled[plan_id] = attrs.evolve(settlement, refund=settlement.refund + settlement.refund)
        try:
            assert set(ad.check(small)) == {"cancellation refunds"}
        finally:
            small.cancelled[plan_id] = settlement

    def test_money_taken_twice(self, small: ad.Drill) -> None:
        """(Last: it leaves the store changed.)"""
        plan = ad.plan_of(0)  # PAYS: paid in full
        small.store.record_entries(
            plan.id, [PaymentReceived("twice", ad.END, plan.installments[1].amount, "stripe", "in_twice")]
        )
        assert set(ad.check(small)) == {"above the balance"}
