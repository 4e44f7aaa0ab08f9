"""Regression tests for the flow bugs of #21 (item 4): each failed on the code before its fix."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    Catalog,
    DepositRule,
    InstallmentState,
    InvalidPlanError,
    LateFeeAssessed,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    Money,
    OutOfBoundsError,
    PaymentPlan,
    PaymentReceived,
    PlanStatus,
    ProposedParts,
    Refund,
    Terms,
    aging,
    assess_late_fees,
    forecast,
    overdue,
    plan_status,
    propose,
    render_statement,
    settle_cancellation,
)

D = dt.date


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def _plan(late_fees: LateFeePolicy | None = None) -> PaymentPlan:
    pol = CancellationPolicy((CancellationWindow(30, 100),), deposit_refundable=True)
    return PaymentPlan.with_deposit(
        "p1", usd("2000.00"), booked=D(2026, 12, 1), session=D(2027, 4, 15), installments=3,
        deposit=DepositRule.percent(25), terms=Terms(cancellation=pol, late_fees=late_fees),
    )


def _pay(entry_id: str, on: dt.date, amount: str = "500", reference: str | None = "ch") -> PaymentReceived:
    return PaymentReceived(entry_id, on, usd(amount), reference=None if reference is None else f"{reference}_{entry_id}")


def _refunded(plan: PaymentPlan, ledger: Ledger, on: dt.date, *, as_credit: bool = False) -> Ledger:
    """The ledger after the settlement is recorded and each provider refund it asks for has landed."""
    s = settle_cancellation(plan, ledger, on, as_credit=as_credit)
    ledger = ledger.record_all(s.entries)
    for i in s.refunds:
        ledger = ledger.record(Refund.reversal(f"r-{i.payment_id}", D(2027, 3, 1), i.amount, reference=i.reference))
    return ledger


class TestCancellationDatedBeforePayments:
    """The client gives notice on 15 December; the studio records it after the installment of 1 January was taken."""

    def _ledger(self, plan: PaymentPlan, reference: str | None = "ch") -> Ledger:
        return Ledger.empty(plan).record_all(
            [_pay("pay1", D(2026, 12, 1), reference=reference), _pay("pay2", D(2027, 1, 1), reference=reference)]
        )

    def test_money_received_after_the_notice_is_refunded_and_the_settlement_says_so(self) -> None:
        """pay2 (after the notice) is refunded too, through its provider, and the settlement names it."""
        plan = _plan()
        s = settle_cancellation(plan, self._ledger(plan), D(2026, 12, 15))
        assert s.refund == usd("1000.00")
        assert s.received_after == usd("500.00")
        assert {(i.payment_id, i.amount) for i in s.refunds} == {("pay1", usd("500")), ("pay2", usd("500"))}
        assert "500.00 USD received after 2026-12-15 is refunded" in s.reason
        after = _refunded(plan, self._ledger(plan), D(2026, 12, 15))
        assert after.balance == usd("0.00")  # nothing left on the cancelled plan

    def test_with_credit_the_later_money_is_carried_as_credit(self) -> None:
        """A client who chose credit gets the later money as credit too, and the settlement says so."""
        plan = _plan()
        s = settle_cancellation(plan, self._ledger(plan), D(2026, 12, 15), as_credit=True)
        assert (s.refund, s.credit, s.received_after) == (usd("0"), usd("1000.00"), usd("500.00"))
        assert "is kept as credit" in s.reason
        assert self._ledger(plan).record_all(s.entries).balance == usd("0.00")

    def test_money_paid_by_hand_after_the_notice_is_refunded_no_earlier_than_it_came(self) -> None:
        """A refund by hand of money paid after the notice is dated when that money came, and the ledger takes it."""
        plan = _plan()
        ledger = self._ledger(plan, reference=None)
        s = settle_cancellation(plan, ledger, D(2026, 12, 15))
        (refund,) = [e for e in s.entries if type(e) is Refund]
        assert (refund.amount, refund.on) == (usd("1000.00"), D(2027, 1, 1))
        assert ledger.record_all(s.entries).balance == usd("0.00")

    def test_nothing_received_after_means_nothing_said(self) -> None:
        """Without later money the settlement is as before."""
        plan = _plan()
        s = settle_cancellation(plan, self._ledger(plan), D(2027, 1, 5))
        assert (s.refund, s.received_after) == (usd("1000.00"), usd("0"))
        assert "received after" not in s.reason


class TestFeesAtCancellation:
    """Installment 3 paid late, its late fee charged by the daily run, then the client cancels."""

    def _ledger(self, plan: PaymentPlan) -> Ledger:
        ledger = Ledger.empty(plan).record_all(
            [_pay("pay1", D(2026, 12, 1)), _pay("pay2", D(2027, 1, 1))]
        )
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 2, 10)))
        (fee,) = [e for e in ledger if type(e) is LateFeeAssessed]
        ledger = ledger.record(_pay("pay3", D(2027, 2, 10)))
        return ledger.record(_pay(f"p1:fee-charge:{fee.id}:a1", D(2027, 2, 11), "35"))

    def test_installments_money_is_refunded_before_the_fee_payment(self) -> None:
        """The retained fee stays on its own payment: each installment payment is refunded whole."""
        plan = _plan(LateFeePolicy.single(usd("35"), grace_days=5))
        s = settle_cancellation(plan, self._ledger(plan), D(2027, 2, 20))
        assert s.refund == usd("1500.00")
        assert sorted((i.payment_id, i.amount.minor) for i in s.refunds) == [
            ("pay1", 50000), ("pay2", 50000), ("pay3", 50000),
        ]

    def test_the_cancelled_statement_shows_the_retained_fee_as_a_fee(self) -> None:
        """After the refunds, no installment reads as paid: the $35 kept is the late fee's."""
        plan = _plan(LateFeePolicy.single(usd("35"), grace_days=5))
        ledger = _refunded(plan, self._ledger(plan), D(2027, 2, 20))
        st = plan_status(plan, ledger, D(2027, 3, 2))
        assert st.status is PlanStatus.CANCELLED
        assert [s.paid for s in st.installments] == [usd("0")] * 4
        assert (st.balance, st.fees_outstanding) == (usd("0"), usd("0"))
        text = render_statement(plan, ledger, D(2027, 3, 2), format="txt")
        assert "$500.00   $35.00" not in text
        assert "Late fees                            $35.00" in text


class TestOneOverdueNow:
    """A late fee unpaid since before the day counts as overdue in every report, and a statement, alike."""

    def _book(self) -> tuple[PaymentPlan, Ledger]:
        plan = _plan(LateFeePolicy.single(usd("35"), grace_days=5))
        ledger = Ledger.empty(plan).record_all([_pay("pay1", D(2026, 12, 1))])
        ledger = ledger.record_all(assess_late_fees(plan, ledger, D(2027, 1, 10)))  # the fee of Jan 7
        return plan, ledger.record(_pay("pay2", D(2027, 1, 10)))  # installment 2 paid; the fee is not

    def test_forecast_aging_overdue_and_the_statement_agree(self) -> None:
        """forecast.overdue, aging.past_due, the overdue list and the statement's line give the same amount."""
        plan, ledger = self._book()
        day = D(2027, 1, 20)
        listed = sum(i.outstanding.minor for i in overdue([(plan, ledger)], day))
        assert listed == usd("35").minor
        assert forecast([(plan, ledger)], day).overdue == usd("35")
        assert aging([(plan, ledger)], day).past_due == usd("35")
        assert re.search(r"Overdue now +\$35\.00\n", render_statement(plan, ledger, day, format="txt"))

    def test_a_fee_is_overdue_from_the_day_after_it_became_owed(self) -> None:
        """On the day a fee is assessed it is owed but not yet overdue, in the statement as in the reports."""
        plan, ledger = self._book()
        day = D(2027, 1, 7)
        assert forecast([(plan, ledger)], day).overdue == aging([(plan, ledger)], day).past_due
        text = render_statement(plan, ledger.as_of(day), day, format="txt")
        assert re.search(r"Overdue now +\$500\.00\n", text)  # installment 2 (due Jan 1), not the fee of the day


class TestOneBoundOnLateFeePercentages:
    def test_the_library_refuses_above_100_percent(self) -> None:
        """A step's percent and a cap's percent above 100 are refused, as the command line refuses them."""
        assert LateFeeStep.MAX_PERCENT == 100
        with pytest.raises(InvalidPlanError, match="from 0 to 100%"):
            LateFeeStep(1, percent="100.5")
        with pytest.raises(InvalidPlanError, match="from 0 to 100%"):
            LateFeePolicy((LateFeeStep(1, percent=5),), cap_percent=1000)
        assert LateFeeStep(1, percent=100).percent == 100

    def test_escalation_stays_within_the_bound(self) -> None:
        """Scaling a 60% step by 2 for a repeat offender gives 100%, not an error or 120%."""
        policy = LateFeePolicy((LateFeeStep(1, percent=60),)).scaled(2)
        assert policy.steps[0].percent == 100

    def test_the_cli_uses_the_same_bound(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan quote --late-fee 100%` is taken and 101% refused, naming the bound."""
        from payplan.cli import main

        base = ["quote", "--fee", "2000.00", "--currency", "USD", "--installments", "3", "--booked", "2026-12-01",
                "--session", "2027-04-15", "--deposit", "25%"]
        assert main([*base, "--late-fee", "100%"]) == 0
        assert main([*base, "--late-fee", "101%"]) == 2
        assert "100" in capsys.readouterr().err


class TestNamesReadTheSame:
    def test_installment_status_is_status_like_the_plan_statement(self) -> None:
        """InstallmentStatus.status, as PlanStatement.status; .state still reads it, with a DeprecationWarning."""
        plan = _plan()
        st = plan_status(plan, Ledger.empty(plan), D(2027, 1, 5))
        line = st.installment(2)
        assert line.status is InstallmentState.OVERDUE
        with pytest.warns(DeprecationWarning, match="InstallmentStatus.status"):
            assert line.state is InstallmentState.OVERDUE

    def test_aging_bucket_count_is_a_count(self) -> None:
        """AgingBucket.count is the number of lines; .installments still reads it, with a DeprecationWarning."""
        plan = _plan()
        bucket = aging([(plan, Ledger.empty(plan))], D(2027, 1, 5)).bucket("1-30")
        assert bucket.count == 1
        with pytest.warns(DeprecationWarning, match="AgingBucket.count"):
            assert bucket.installments == 1


class TestPaymentsFileBound:
    def _files(self, tmp_path: Path, amount: str) -> tuple[str, str]:
        from payplan.serialization import dumps_plan

        plan = tmp_path / "plan.json"
        plan.write_text(dumps_plan(_plan()), encoding="utf-8")
        payments = tmp_path / "payments.csv"
        payments.write_text(f"date,amount,reference\n2026-12-01,500.00,dep\n2027-01-01,{amount},big\n", encoding="utf-8")
        return str(plan), str(payments)

    @pytest.mark.parametrize("amount", ["9" * 3990, "2000.01"])
    def test_an_amount_above_the_plans_total_is_refused_on_its_line(
        self, tmp_path: Path, amount: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A 3,990-digit amount (or one cent above the whole plan) is refused, naming the file's line and the bound."""
        from payplan.cli import main

        plan, payments = self._files(tmp_path, amount)
        assert main(["status", plan, "--payments", payments, "--as-of", "2027-01-05"]) == 2
        err = capsys.readouterr().err
        assert f"{payments} line 3" in err
        assert "at most the plan's total 2000.00 USD" in err

    def test_the_whole_total_in_one_payment_is_taken(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Paying the whole plan in one row is allowed (the bound is inclusive)."""
        from payplan.cli import main

        plan, payments = self._files(tmp_path, "2000.00")
        assert main(["status", plan, "--payments", payments, "--as-of", "2027-01-05"]) == 0


_CATALOG = """
[catalog]
currency = "USD"

[terms]
deposit = { percent = "25", minimum = "500.00" }
final_due_days_before = 14
least_payment = "200.00"
most_days_between = 45
installments = [2, 3]
%s

[[tier]]
name = "Session Pack A"
fee = "2000.00"

[[tier]]
name = "Relaxed"
fee = "2000.00"
most_days_between = 90
"""


class TestCatalogTerms:
    def test_terms_gives_every_tier_its_bounds_and_counts(self) -> None:
        """least_payment, most_days_between and the counts in [terms] reach each tier that does not set its own."""
        catalog = Catalog.from_toml(_CATALOG % "")
        pack = catalog["Session Pack A"]
        assert (pack.least_payment, pack.most_days_between, pack.installment_counts) == (usd("200.00"), 45, (2, 3))
        assert catalog["Relaxed"].most_days_between == 90

    def test_an_81_day_gap_is_refused_under_the_terms_bound(self) -> None:
        """The client's 81 days between payments breaks [terms] most_days_between = 45."""
        pack = Catalog.from_toml(_CATALOG % "")["Session Pack A"]
        parts = ProposedParts([
            (D(2026, 12, 1), usd("500.00")), (D(2027, 1, 1), usd("750.00")), (D(2027, 3, 23), usd("750.00")),
        ])
        with pytest.raises(OutOfBoundsError) as caught:
            propose(pack, "b-81", parts, booked=D(2026, 12, 1), session=D(2027, 4, 15))
        assert caught.value.bound == "gap"

    @pytest.mark.parametrize(("line", "match"), [
        ('least_paymnet = "100.00"', r"\[terms\]: unknown key\(s\) \['least_paymnet'\]"),
        ('fee = "100.00"', r"fee belongs in a \[\[tier\]\]"),
        ('sale = { where = "GB" }', r"sale belongs in \[catalog\] or a \[\[tier\]\]"),
    ])
    def test_terms_refuses_a_key_it_does_not_take(self, line: str, match: str) -> None:
        """A misspelt key, or one only a tier takes, is refused naming it (it was dropped silently)."""
        with pytest.raises(InvalidPlanError, match=match):
            Catalog.from_toml(_CATALOG % line)

    def test_docs_list_every_key(self) -> None:
        """docs/catalog.md names every key [catalog], [terms] and a tier take."""
        from payplan._catalog import _TERM_KEYS, _TIER_BOUNDS, _TIER_ONLY

        text = (Path(__file__).parents[2] / "docs" / "catalog.md").read_text(encoding="utf-8")
        table = text[text.index("## What each key means"):]
        missing = sorted(k for k in {*_TERM_KEYS, *_TIER_BOUNDS, *_TIER_ONLY, "currency"} if f"`{k}`" not in table)
        assert missing == []
