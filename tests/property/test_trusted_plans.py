"""Plan documents the store wrote read back through the trusted path exactly as ``load_plan`` reads them.

``payplan.store._codec.trusted_plan`` builds a plan from a document whose
checksum matched without running the validators again (#25, item 2); it
must give the same plan, of the same types field by field, as the
validating reader, for plans with every kind of date rule, policy and
incentive, sold from a tier, and amended.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    ExplicitDates,
    ExtendDueDate,
    FeeCollection,
    HardshipReduction,
    Incentive,
    LateFeePolicy,
    LateFeeStep,
    Money,
    MoveSession,
    PaymentPlan,
    PayplanError,
    ReminderPolicy,
    Resplit,
    RetryPolicy,
    SerializationError,
    SkipPayment,
    Terms,
    Tier,
    amend,
)
from payplan._calendar import BeforeSession
from payplan.serialization import load_plan
from payplan.store._codec import _trusted_plan, dumps_plan_doc, loads_plan_doc, trusted_plan
from strategies import plans

CURRENCIES = ("USD", "EUR", "JPY", "KWD")


def _same(a: Any, b: Any, path: str) -> None:
    """*a* and *b* equal, and of the same type, down every attrs field, tuple and mapping."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} vs {type(b).__name__}"
    assert a == b, path
    if attrs.has(type(a)):
        for f in attrs.fields(type(a)):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, tuple):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{n}]")
    elif isinstance(a, Decimal):
        assert a.as_tuple() == b.as_tuple(), path  # the same digits and exponent, not only the same number
    elif hasattr(a, "items"):
        assert dict(a) == dict(b), path


@st.composite
def _money(draw: st.DrawFn, code: str, low: int = 1) -> Money:
    return Money(draw(st.integers(low, 10**6)), code)


@st.composite
def _policies(draw: st.DrawFn, code: str, booked: dt.date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pct = st.decimals(0, 25, places=2, allow_nan=False, allow_infinity=False)
    if draw(st.booleans()):
        steps = [
            LateFeeStep.flat(draw(st.integers(0, 60)), draw(_money(code)))
            if draw(st.booleans()) else LateFeeStep.percent_of_overdue(draw(st.integers(0, 60)), draw(pct))
            for _ in range(draw(st.integers(1, 3)))
        ]
        out["late_fees"] = LateFeePolicy(
            steps,
            grace_days=draw(st.integers(0, 10)),
            cap=draw(st.none() | _money(code)),
            cap_percent=draw(st.none() | pct),
            fee_on_fee=draw(st.booleans()),
            collect=draw(st.sampled_from(list(FeeCollection))),
        )
    if draw(st.booleans()):
        out["reminders"] = ReminderPolicy(
            sorted(draw(st.sets(st.integers(-10, 30), min_size=1, max_size=4)), reverse=True),
            draw(st.booleans()),
            draw(st.sampled_from([{}, {"fee_owed": "Still owed: $amount"}])),
        )
    if draw(st.booleans()):
        within = draw(st.lists(st.integers(0, 120), min_size=1, max_size=3, unique=True))
        out["cancellation"] = CancellationPolicy(
            [CancellationWindow(w, draw(st.decimals(0, 100, places=1, allow_nan=False, allow_infinity=False)))
             for w in within],
            deposit_refundable=draw(st.booleans()),
            no_show_fee=draw(st.none() | _money(code)),
            reschedule_fee=draw(st.none() | _money(code)),
            credit_instead_of_refund=draw(st.booleans()),
            collect_shortfall=draw(st.booleans()),
        )
    incentives = []
    for kind in draw(st.lists(st.sampled_from(["pay_in_full", "early", "add_on", "loyalty", "referral", "booked_by"]),
                              max_size=3, unique=True)):
        if kind == "pay_in_full":
            incentives.append(Incentive.pay_in_full(percent=draw(pct), by=draw(st.none() | st.just(booked))))
        elif kind == "early":
            incentives.append(Incentive.early_payment(amount=draw(_money(code)), days_early=draw(st.integers(1, 30))))
        elif kind == "add_on":
            incentives.append(Incentive.add_on("Album", draw(_money(code)), by=booked + dt.timedelta(days=7)))
        elif kind == "loyalty":
            incentives.append(Incentive.loyalty(percent=draw(pct), min_on_time=draw(st.integers(1, 12))))
        elif kind == "referral":
            incentives.append(Incentive.referral(draw(_money(code)), referrer="ann", clawback=draw(st.booleans())))
        else:
            incentives.append(Incentive.booked_by(booked + dt.timedelta(days=3), percent=draw(pct)))
    if incentives:
        out["incentives"] = incentives
    if draw(st.booleans()):
        out["retries"] = RetryPolicy(
            tuple(sorted(draw(st.sets(st.integers(1, 20), max_size=3)))),
            stop_days_before=draw(st.integers(0, 14)),
            card_warning_days=draw(st.integers(0, 30)),
        )
    return out


@st.composite
def _rich_plans(draw: st.DrawFn) -> PaymentPlan:
    """A plan from a tier or built directly, with policies, a client, explicit dates or a cadence."""
    code = draw(st.sampled_from(CURRENCIES))
    booked = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 700)))
    session = booked + dt.timedelta(days=draw(st.integers(60, 500)))
    count = draw(st.integers(1, 6))
    rule: Any = draw(st.sampled_from(["monthly", "biweekly", "weekly", "dates", "before"]))
    if rule == "dates":
        step = max((session - booked).days // (count + 1), 1)
        rule = ExplicitDates([booked + dt.timedelta(days=step * (k + 1)) for k in range(count)])
    elif rule == "before":
        rule = BeforeSession(tuple(sorted(draw(st.sets(st.integers(0, 59), min_size=count, max_size=count)),
                                          reverse=True)))
    try:
        terms = Terms(
            deposit=draw(st.sampled_from([
                DepositRule.percent(25), DepositRule.fixed(Money(5000, code)), DepositRule.none(),
                DepositRule.percent_or_minimum(Decimal("12.5"), Money(10000, code)),
            ])),
            installments=count,
            dates=rule,
            final_due_days_before=draw(st.integers(0, 14)),
            remainder=draw(st.sampled_from(["first", "last"])),
            apr=draw(st.sampled_from(["0", "4.5", "19.99"])) if not isinstance(rule, (ExplicitDates, BeforeSession)) else 0,
            compress=draw(st.booleans()),
            **draw(_policies(code, booked)),
        )
        fee = Money(draw(st.integers(100_00, 10_000_00)), code)
        client = draw(st.none() | st.text("abcdefghij \"\\é", min_size=1, max_size=10))
        timezone = draw(st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]))
        if draw(st.booleans()):
            tier = Tier("Pack \"A\"", fee, terms, installment_counts=(count,))
            plan = tier.quote(draw(st.text("abc-9", min_size=1, max_size=8)), booked=booked, session=session,
                              timezone=timezone, client=client)
        else:
            plan = PaymentPlan.with_deposit(draw(st.text("abc-9", min_size=1, max_size=8)), fee, booked=booked,
                                            session=session, terms=terms, client=client, timezone=timezone)
    except PayplanError:
        assume(False)
        raise  # pragma: no cover
    return plan


@st.composite
def _amended(draw: st.DrawFn) -> PaymentPlan:
    """A plan amended once to three times (keys on its lines, a version above 1, new dates)."""
    plan = draw(_rich_plans() | plans(max_installments=6))
    for _ in range(draw(st.integers(1, 3))):
        open_lines = [i for i in plan.installments if i.number > 1]
        on = plan.booked
        change = draw(st.sampled_from(["extend", "resplit", "skip", "hardship", "move"]))
        try:
            if change == "extend" and open_lines:
                line = draw(st.sampled_from(open_lines))
                amendment: Any = ExtendDueDate(line.number, line.due + dt.timedelta(days=draw(st.integers(1, 5))))
            elif change == "resplit":
                amendment = Resplit.into(draw(st.integers(1, 4)), first_due=plan.booked + dt.timedelta(days=20))
            elif change == "skip" and open_lines:
                amendment = SkipPayment(draw(st.sampled_from(open_lines)).number)
            elif change == "hardship":
                line = draw(st.sampled_from(open_lines)) if open_lines else plan.installments[0]
                amendment = HardshipReduction(line.number, 1, Money(max(line.amount.minor // 2, 1), plan.fee.currency),
                                              catch_up_on=plan.session - dt.timedelta(days=1))
            else:
                amendment = MoveSession(plan.session + dt.timedelta(days=draw(st.integers(1, 30))))
            plan, _ = amend(plan, amendment, by="staff", reason="asked", on=on, consent=True)
        except (PayplanError, ValueError):
            continue
    return plan


def _check(plan: PaymentPlan) -> None:
    text = dumps_plan_doc(plan)
    trusted, checked = _trusted_plan(json.loads(text)), loads_plan_doc(text)  # the trusted path itself, no fallback
    _same(trusted, checked, "plan")
    assert trusted == plan
    assert dumps_plan_doc(trusted) == text  # byte for byte: what the store would write again
    assert hash(trusted.terms) == hash(checked.terms)


class TestTrustedPlans:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(plans())
    def test_generated_plans(self, plan: PaymentPlan) -> None:
        """Every plan the shared strategy builds (every cadence, deposit rule, remainder, APR)."""
        _check(plan)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(_rich_plans())
    def test_plans_with_policies_tiers_and_explicit_dates(self, plan: PaymentPlan) -> None:
        """Late fees, reminders, cancellation windows, every incentive, retries; from a tier or not."""
        _check(plan)

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(_amended())
    def test_amended_plans(self, plan: PaymentPlan) -> None:
        """Plans after amendments: line keys, versions above 1, fixed dates that replaced relative ones."""
        event(f"version {min(plan.version, 3)}")
        event("tier" if plan.tier else "no tier")
        _check(plan)

    def test_a_document_of_another_shape_goes_to_the_validating_reader(self) -> None:
        """A key the trusted reader does not know, or one it misses, is not set blindly: load_plan decides."""
        plan = PaymentPlan.with_deposit("p-1", Money(200_000, "USD"), booked=dt.date(2026, 12, 1),
                                        session=dt.date(2027, 4, 15), terms=Terms(deposit=DepositRule.percent(25),
                                                                                 installments=3))
        for change in ("unknown key", "missing key"):
            data = _doc(plan)
            data["plan"]["fee_minor"] += 1  # no longer adds up: only the validating reader sees it
            if change == "unknown key":
                data["plan"]["surprise"] = 1
            else:
                del data["plan"]["tier"]
            with pytest.raises(SerializationError, match=r"add up|total"):
                trusted_plan(json.dumps(data, sort_keys=True, separators=(",", ":")))

    def test_a_document_written_before_a_field_existed_reads_as_load_plan_reads_it(self) -> None:
        """A late-fee policy written before ``collect`` existed: the validating reader's default, not a KeyError."""
        plan = PaymentPlan.with_deposit(
            "p-1", Money(200_000, "USD"), booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
            terms=Terms(deposit=DepositRule.percent(25), installments=3,
                        late_fees=LateFeePolicy([LateFeeStep.flat(5, Money(2500, "USD"))])),
        )
        data = _doc(plan)
        del data["plan"]["terms"]["late_fees"]["collect"]
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        _same(trusted_plan(text), load_plan(json.loads(text)), "plan")
        assert trusted_plan(text).terms.late_fees.collect is FeeCollection.AFTER_LAST_INSTALLMENT  # type: ignore[union-attr]


def _doc(plan: PaymentPlan) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(dumps_plan_doc(plan))
    return data
