"""The 14-day withdrawal period (UK-3, EU-2) in settle_cancellation."""

from __future__ import annotations

import datetime as dt

import pytest
from attrs import evolve

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    InvalidPlanError,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    settle_cancellation,
)
from payplan.guardrails import Sale, withdrawal_period

BOOKED = dt.date(2027, 3, 1)
ENDS = dt.date(2027, 3, 15)


def plan(session: dt.date = dt.date(2027, 6, 1), cur: str = "GBP") -> PaymentPlan:
    second = min(dt.date(2027, 4, 1), session)
    p = PaymentPlan.custom(
        "w", [(BOOKED, Money.of("300", cur)), (second, Money.of("700", cur))], booked=BOOKED, session=session,
    )
    # A non-refundable deposit and 50% kept within 90 days of the session.
    policy = CancellationPolicy((CancellationWindow(90, 50),), deposit_refundable=False)
    return evolve(p, terms=evolve(p.terms, cancellation=policy))


def paid(p: PaymentPlan) -> Ledger:
    return Ledger.empty(p).record(PaymentReceived("dep", BOOKED, p.installments[0].amount))


class TestWithdrawalPeriod:
    def test_the_period_ends_fourteen_days_after_booking(self) -> None:
        """A booking on 1 March can be withdrawn from until 15 March inclusive."""
        rule, ends = withdrawal_period(plan(), Sale("GB"))  # type: ignore[misc]
        assert (rule.id, ends) == ("UK-3", ENDS)
        assert withdrawal_period(plan(cur="EUR"), Sale("FR"))[0].id == "EU-2"  # type: ignore[index]

    def test_no_period(self) -> None:
        """The exemption, a business client, an in-person contract or a US sale give none."""
        p = plan()
        for sale in (Sale("GB", leisure_exemption="a concert on a date"), Sale("GB", consumer=False),
                     Sale("GB", contract="on_premises"), Sale("US")):
            assert withdrawal_period(p, sale) is None


class TestSettlement:
    def test_inside_the_window_everything_is_refunded(self) -> None:
        """On day 14 the non-refundable deposit is refunded in full; on day 15 the policy keeps it."""
        p = plan()
        inside = settle_cancellation(p, paid(p), ENDS, sale=Sale("GB"))
        assert (inside.retained.minor, inside.refund.minor) == (0, 30000)
        assert "within the 14-day cancellation period (UK-3, until 2027-03-15)" in inside.reason
        outside = settle_cancellation(p, paid(p), ENDS + dt.timedelta(days=1), sale=Sale("GB"))
        assert (outside.retained.minor, outside.refund.minor) == (30000, 0)

    def test_eu_withdrawal(self) -> None:
        """In the EEA (EU-2) the same: day 14 refunds everything, day 15 keeps the deposit."""
        p = plan(cur="EUR")
        inside = settle_cancellation(p, paid(p), ENDS, sale=Sale("DE"))
        assert (inside.retained.minor, "EU-2" in inside.reason) == (0, True)
        assert settle_cancellation(p, paid(p), ENDS + dt.timedelta(days=1), sale=Sale("DE")).retained.minor == 30000

    def test_without_a_sale_the_policy_holds(self) -> None:
        """Without a sale (the old call) the deposit is kept as the policy says."""
        p = plan()
        assert settle_cancellation(p, paid(p), BOOKED).retained.minor == 30000

    def test_the_exemption_keeps_the_policy(self) -> None:
        """With the leisure exemption claimed, the policy holds inside the 14 days."""
        p = plan()
        s = settle_cancellation(p, paid(p), BOOKED, sale=Sale("GB", leisure_exemption="a gig on 1 June"))
        assert s.retained.minor == 30000

    def test_service_begun_at_the_clients_request(self) -> None:
        """Begun at the client's request, what was provided is kept, and only that."""
        p = plan(session=dt.date(2027, 3, 10))
        ledger = paid(p)
        s = settle_cancellation(
            p, ledger, dt.date(2027, 3, 5), sale=Sale("GB"), started_on_request=True, provided=Money.of("120", "GBP"),
        )
        assert (s.retained.minor, s.refund.minor) == (12000, 18000)
        assert "express request" in s.reason
        # by default nothing is provided before the session, and the fee from the session on
        assert settle_cancellation(p, ledger, dt.date(2027, 3, 5), sale=Sale("GB"), started_on_request=True).refund.minor == 30000
        assert settle_cancellation(p, ledger, dt.date(2027, 3, 10), sale=Sale("GB"), started_on_request=True).refund.minor == 0

    def test_a_no_show_is_not_a_withdrawal(self) -> None:
        """A no-show inside the period is settled by the policy."""
        p = plan(session=dt.date(2027, 3, 10))
        s = settle_cancellation(p, paid(p), dt.date(2027, 3, 10), sale=Sale("GB"), no_show=True)
        assert s.retained.minor == 30000

    def test_bad_provided(self) -> None:
        """Provided above the fee, or in another currency, is refused."""
        p = plan()
        for bad in (Money.of("1000.01", "GBP"), Money.of("1", "EUR")):
            with pytest.raises(InvalidPlanError, match="expected provided as Money from 0 to the fee"):
                settle_cancellation(p, paid(p), BOOKED, sale=Sale("GB"), started_on_request=True, provided=bad)
