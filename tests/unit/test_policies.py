"""Collection policies: validation, catalog TOML, JSON round trip and plain-English descriptions."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import attrs
import pytest

from payplan import (
    DEFAULT_REMINDER_TEMPLATES,
    CancellationPolicy,
    CancellationWindow,
    Catalog,
    EscalationPolicy,
    Incentive,
    IncentiveKind,
    InvalidPlanError,
    LateFeePolicy,
    LateFeeStep,
    Money,
    PaymentPlan,
    ReminderKind,
    ReminderPolicy,
    SerializationError,
    Terms,
    dump_plan,
    load_plan,
    loads_plan,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


class TestLateFeePolicy:
    def test_step_needs_exactly_one_of_amount_and_percent(self) -> None:
        """A step is a flat amount or a percent, not both and not neither."""
        with pytest.raises(InvalidPlanError, match="exactly one of amount and percent"):
            LateFeeStep(1)
        with pytest.raises(InvalidPlanError, match="exactly one of amount and percent"):
            LateFeeStep(1, amount=usd("1"), percent=5)

    def test_steps_must_increase(self) -> None:
        """Ladder steps go up in days overdue; an empty ladder is refused."""
        with pytest.raises(InvalidPlanError, match="increasing days overdue"):
            LateFeePolicy((LateFeeStep(10, percent=1), LateFeeStep(5, percent=1)))
        with pytest.raises(InvalidPlanError, match="at least one late-fee step"):
            LateFeePolicy(())

    def test_refuses_floats_and_negative_days(self) -> None:
        """Percentages as floats and negative days are refused."""
        with pytest.raises(InvalidPlanError, match="float"):
            LateFeeStep(1, percent=2.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidPlanError, match="whole days"):
            LateFeePolicy.single(usd("1"), grace_days=-1)

    def test_grace_moves_early_steps(self) -> None:
        """A step inside the grace period applies the day after it."""
        policy = LateFeePolicy((LateFeeStep(1, amount=usd("5")), LateFeeStep(20, percent=1)), grace_days=10)
        assert [policy.applies_on(s) for s in policy.steps] == [11, 20]

    def test_scaled(self) -> None:
        """Scaling multiplies flat fees, percents and the absolute cap."""
        policy = LateFeePolicy((LateFeeStep(1, amount=usd("25")), LateFeeStep(15, percent="2.5")), cap=usd("60"))
        doubled = policy.scaled("1.5")
        assert doubled.steps[0].amount == usd("37.50")
        assert doubled.steps[1].percent == Decimal("3.75")
        assert doubled.cap == usd("90")

    def test_percent_fee_rounds_half_up(self) -> None:
        """A percent step rounds half up to the minor unit: 2.5% of $0.50 is $0.0125, so $0.01."""
        assert LateFeeStep(1, percent="2.5").fee_for(usd("0.50")) == usd("0.01")
        assert LateFeeStep(1, percent="5").fee_for(usd("0.30")) == usd("0.02")


class TestOtherPolicies:
    def test_reminder_offsets_and_templates(self) -> None:
        """Offsets must increase; unknown template names are refused."""
        with pytest.raises(InvalidPlanError, match="increasing whole days"):
            ReminderPolicy((1, -1))
        with pytest.raises(InvalidPlanError, match="template names"):
            ReminderPolicy(templates={"late": "x"})
        policy = ReminderPolicy(templates={"overdue": "Pay"})
        assert policy.templates["before_due"] == DEFAULT_REMINDER_TEMPLATES["before_due"]
        assert policy.custom_templates == {"overdue": "Pay"}
        assert policy == ReminderPolicy(templates={"overdue": "Pay"})
        assert hash(policy) == hash(ReminderPolicy(templates={"overdue": "Pay"}))

    def test_reminder_kinds(self) -> None:
        """The last offset after the due date is the final notice unless turned off."""
        policy = ReminderPolicy()
        assert [policy.kind_for(o) for o in policy.offsets] == [
            ReminderKind.BEFORE_DUE, ReminderKind.BEFORE_DUE, ReminderKind.DUE_TODAY,
            ReminderKind.OVERDUE, ReminderKind.OVERDUE, ReminderKind.FINAL_NOTICE,
        ]
        assert ReminderPolicy(final_notice=False).kind_for(14) is ReminderKind.OVERDUE

    def test_cancellation_windows(self) -> None:
        """The strictest window the notice falls in holds; a window is at most 100%."""
        policy = CancellationPolicy((CancellationWindow(7, 100), CancellationWindow(30, 50)))
        assert [policy.percent_retained(d) for d in (31, 30, 8, 7, 0)] == [0, 50, 50, 100, 100]
        with pytest.raises(InvalidPlanError, match="0 to 100"):
            CancellationWindow(7, 150)

    def test_incentive_requirements(self) -> None:
        """Add-ons need a value and a date; booked-by offers need a date; one of amount and percent."""
        with pytest.raises(InvalidPlanError, match="exactly one of amount and percent"):
            Incentive(IncentiveKind.REFERRAL)
        with pytest.raises(InvalidPlanError, match="date the booking must be made by"):
            Incentive(IncentiveKind.BOOKED_BY, percent=5)
        assert Incentive.early_payment(7, percent=1).value_on(usd("500")) == usd("5")

    def test_escalation(self) -> None:
        """The pay-in-full requirement starts at the threshold."""
        policy = EscalationPolicy(require_full_payment_after=3, fee_factor=2)
        assert not policy.require_pay_in_full(2)
        assert policy.require_pay_in_full(3)
        assert policy.describe() == (
            "Repeat late payment: late fees are multiplied by 2 for clients flagged as consistently late; "
            "after 3 late installments, new bookings must be paid in full."
        )


FULL_TERMS = {
    "late_fees": LateFeePolicy(
        (LateFeeStep(1, amount=usd("25")), LateFeeStep(15, percent="7.5")),
        grace_days=5, cap=usd("60"), cap_percent=3, fee_on_fee=True,
    ),
    "reminders": ReminderPolicy((-3, 0, 5), final_notice=False, templates={"overdue": "Pay $amount"}),
    "cancellation": CancellationPolicy(
        (CancellationWindow(30, 50),), deposit_refundable=True, no_show_fee=usd("100"),
        reschedule_fee=usd("75"), credit_instead_of_refund=True, collect_shortfall=True,
    ),
    "incentives": (
        Incentive.pay_in_full(percent=5, by=D(2026, 12, 15)),
        Incentive.early_payment(7, amount=usd("5")),
        Incentive.add_on("Album", usd("150"), by=D(2027, 1, 15)),
        Incentive.loyalty(6, percent="2.5"),
        Incentive.referral(usd("50"), referrer="Ann", clawback=False),
        Incentive.booked_by(D(2026, 12, 31), amount=usd("20")),
    ),
}


def full_plan() -> PaymentPlan:
    return PaymentPlan.with_deposit(
        "pack-a", usd("2000"), terms=Terms(installments=3, **FULL_TERMS),  # type: ignore[arg-type]
        booked=D(2026, 12, 1), session=D(2027, 4, 15),
    )


class TestSerialization:
    def test_round_trip(self) -> None:
        """Every policy field survives dump and load."""
        plan = full_plan()
        assert load_plan(json.loads(json.dumps(dump_plan(plan)))) == plan

    def test_documents_without_policies_load_with_defaults(self) -> None:
        """A document written before policies existed loads with the defaults."""
        document = dump_plan(full_plan())
        for key in ("late_fees", "reminders", "cancellation", "incentives"):
            del document["plan"]["terms"][key]
        terms = load_plan(document).terms
        assert (terms.late_fees, terms.reminders, terms.cancellation, terms.incentives) == (
            None, ReminderPolicy(), None, (),
        )

    def test_bad_policy_names_the_path(self) -> None:
        """A malformed policy names the path of the field."""
        document = dump_plan(full_plan())
        document["plan"]["terms"]["late_fees"]["steps"][1]["percent"] = "lots"
        with pytest.raises(SerializationError, match=r"plan\.terms\.late_fees\.steps\[1\]"):
            load_plan(document)
        document = dump_plan(full_plan())
        document["plan"]["terms"]["incentives"][0]["kind"] = "bogus"
        with pytest.raises(SerializationError, match=r"plan\.terms\.incentives\[0\]"):
            loads_plan(json.dumps(document))


CATALOG = """
[catalog]
currency = "USD"

[terms]
grace_days = 5
late_fee_steps = [ { days = 1, amount = "25.00" }, { days = 15, percent = "7.5%" } ]
late_fee_cap = "60.00"
reminders = [-3, 0, 5]
final_notice = false

[terms.reminder_templates]
overdue = "Pay $$amount"

[terms.cancellation]
windows = [ { within_days = 30, retain = "50%" } ]
no_show_fee = "100.00"

[[terms.incentives]]
kind = "booked_by"
amount = "20.00"
by = 2026-12-31

[[tier]]
name = "A"
fee = "2000.00"
installments = [3]

[[tier]]
name = "B"
fee = "3000.00"
installments = [3]
late_fee = "5%"
grace_days = 2
"""


class TestCatalog:
    def test_terms_and_tier_override(self) -> None:
        """[terms] sets every tier's policies; a tier's late_fee replaces the ladder."""
        catalog = Catalog.from_toml(CATALOG)
        a, b = catalog["A"].terms, catalog["B"].terms
        assert a.late_fees == LateFeePolicy(
            (LateFeeStep(1, amount=usd("25")), LateFeeStep(15, percent="7.5")), grace_days=5, cap=usd("60")
        )
        assert b.late_fees == LateFeePolicy((LateFeeStep(3, percent=5),), grace_days=2, cap=usd("60"))
        assert a.reminders == ReminderPolicy((-3, 0, 5), final_notice=False, templates={"overdue": "Pay $$amount"})
        assert a.cancellation == CancellationPolicy((CancellationWindow(30, 50),), no_show_fee=usd("100"))
        assert a.incentives == (Incentive.booked_by(D(2026, 12, 31), amount=usd("20")),)

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (('late_fee_cap = "60.00"', "late_fee_cap = 60.0"), "late_fee_cap: expected an amount as a quoted string"),
            (('retain = "50%"', "retain = 0.5"), r"cancellation.windows\[1\].retain"),
            (('kind = "booked_by"', 'kind = "bogus"'), r"incentives\[1\].kind: expected one of"),
            (("by = 2026-12-31", 'by = "soon"'), r"incentives\[1\].by: expected a TOML date"),
            (("reminders = [-3, 0, 5]", 'reminders = ["a"]'), "reminders: expected an array of whole days"),
            (("[[tier]]\nname = \"A\"", "[[tier]]\nname = \"A\"\nlate_fee = \"1\"\nlate_fee_steps = []"), "not both"),
            (('no_show_fee = "100.00"', 'no_show = "100.00"'), r"unknown key\(s\) \['no_show'\]"),
        ],
    )
    def test_errors_name_the_key(self, change: tuple[str, str], message: str) -> None:
        """A bad policy key in the catalog names the table and the key."""
        old, new = change
        assert old in CATALOG
        with pytest.raises(InvalidPlanError, match=message):
            Catalog.from_toml(CATALOG.replace(old, new, 1))

    def test_grace_without_fee(self) -> None:
        """grace_days without any late fee is refused."""
        with pytest.raises(InvalidPlanError, match="need late_fee or late_fee_steps"):
            Catalog.from_toml('[terms]\ngrace_days = 3\n[[tier]]\nname = "A"\nfee = "1.00"\n')

    def test_quote_keeps_policies(self) -> None:
        """A quote from a tier carries the tier's policies."""
        plan = Catalog.from_toml(CATALOG)["A"].quote("p", booked=D(2026, 12, 1), session=D(2027, 4, 15))
        assert plan.terms.late_fees is not None
        assert plan.terms.late_fees.grace_days == 5
        assert attrs.evolve(plan.terms, late_fees=None).late_fees is None
