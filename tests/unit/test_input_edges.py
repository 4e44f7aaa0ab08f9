"""Issue #16: every bad input a clear error at the point where it enters (numbers, day counts, messages)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

import payplan
from payplan import MAX_DAYS, Money
from payplan.cli import main
from payplan.cli._common import CliError, number_arg

QUOTE = ["quote", "--fee", "2000.00", "--deposit", "25%", "--installments", "3", "--cadence", "monthly",
         "--booked", "2026-01-05", "--session", "2026-06-01", "--plan-id", "p-1"]


def one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the command; it must exit 2 with exactly one line on stderr naming the program once."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("payplan: error: ")
    assert lines[0].count("payplan") == 1, lines[0]
    return lines[0]


def a_plan(**terms: object) -> payplan.PaymentPlan:
    """$2000, 25% deposit, 3 monthly installments, with *terms* added."""
    t = payplan.Terms(deposit=payplan.DepositRule.percent("25"), installments=3, **terms)  # type: ignore[arg-type]
    return payplan.PaymentPlan.with_deposit(
        "p-1", Money.of("2000.00", "USD"), booked=dt.date(2026, 1, 5), session=dt.date(2026, 6, 1), terms=t
    )


class TestMessagesNameTheProgramOnce:
    def test_unknown_subcommand(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan db` (before the store lands) says invalid choice once, not 'payplan: error: payplan: ...'."""
        line = one_error_line(capsys, ["nosuchcommand"])
        assert "invalid choice: 'nosuchcommand'" in line

    def test_subcommand_option(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A subcommand's own parser error names the subcommand, and the program once."""
        line = one_error_line(capsys, ["quote", "--booked", "2026-01-05"])
        assert line.startswith("payplan: error: quote: ")
        assert "--session" in line


class TestNumbersInArguments:
    @pytest.mark.parametrize(
        ("option", "value", "expected"),
        [
            ("--apr", "1e-9999", "argument --apr: expected a percentage written as a plain number"),
            ("--apr", "1000", "argument --apr: expected a percentage from 0 to 999"),
            ("--apr", "9.1234567", "argument --apr: expected a percentage with at most 6 decimals"),
            ("--apr", "-1", "argument --apr: expected a percentage from 0 to 999"),
            ("--late-fee", "150%", "expected --late-fee as a percentage from 0 to 100, got '150%'"),
            ("--late-fee", "1e3%", "expected --late-fee as a percentage written as a plain number"),
            ("--grace-days", "99999999999", f"argument --grace-days: expected whole days from 0 to {MAX_DAYS - 1}"),
            ("--grace-days", "-1", "argument --grace-days: expected whole days from 0"),
            ("--final-due-days-before", "1e3", "argument --final-due-days-before: expected whole days written as a plain"),
            ("--installments", "521", "argument --installments: expected a count from 0 to 520"),
            ("--installments", "2.5", "argument --installments: expected a count as a whole number"),
            ("--deposit", "101%", "expected --deposit as a percentage from 0 to 100, got '101%'"),
            ("--fee", "9" * 5000, "expected --fee as digits with an optional decimal point"),
        ],
    )
    def test_refused_with_the_bound(
        self, capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str
    ) -> None:
        """Every numeric option goes through one checked parser: one line stating the bound, never a traceback."""
        argv = list(QUOTE)
        if option in argv:
            argv[argv.index(option) + 1] = value
        else:
            argv += [option, value]
        if option == "--grace-days":
            argv += ["--late-fee", "10"]
        assert expected in one_error_line(capsys, argv)

    def test_bounds_are_inclusive(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The stated bounds themselves are accepted: a 100% late fee, the largest grace, a 999% APR."""
        argv = [*QUOTE, "--late-fee", "100%", "--grace-days", str(MAX_DAYS - 1), "--apr", "999", "--format", "json"]
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out)["finance_charge_minor"] > 0

    @pytest.mark.parametrize(
        ("text", "places", "value"),
        [("0", 0, Decimal(0)), ("12.5", 1, Decimal("12.5")), (" 7 ", 0, Decimal(7))],
    )
    def test_number_arg_reads_plain_numbers(self, text: str, places: int, value: Decimal) -> None:
        """Plain digits within the bounds are read exactly."""
        assert number_arg(text, "x", low=0, high=100, places=places) == value

    @pytest.mark.parametrize("text", ["1e2", "+5", "5_0", "\u0665", "NaN", "Infinity", "", ".5", "5."])
    def test_number_arg_refuses_other_notations(self, text: str) -> None:
        """Exponents, signs, underscores, non-ASCII digits and special values are refused."""
        with pytest.raises(CliError, match="written as a plain"):
            number_arg(text, "x", low=0, high=100, places=2)


class TestDayCountsAreBounded:
    @pytest.mark.parametrize(
        "build",
        [
            lambda: payplan.LateFeePolicy.single(Money.of("10", "USD"), grace_days=99999999999),
            lambda: payplan.LateFeePolicy((payplan.LateFeeStep.flat(2**31, Money.of("10", "USD")),)),
            lambda: payplan.ReminderPolicy((-(2**31), 0)),
            lambda: payplan.ReminderPolicy((0, MAX_DAYS + 1)),
            lambda: payplan.BeforeSession((MAX_DAYS + 1,)),
            lambda: payplan.Terms(final_due_days_before=MAX_DAYS + 1),
            lambda: payplan.CancellationWindow(2**31, 50),
        ],
    )
    def test_refused_where_they_enter(self, build: object) -> None:
        """A day count past MAX_DAYS is an InvalidPlanError stating the bound, when the policy is made."""
        with pytest.raises(payplan.InvalidPlanError, match=r"as whole days from -?\d+ to \d+"):
            build()  # type: ignore[operator]

    def test_largest_counts_accepted(self) -> None:
        """The bounds themselves are accepted, and the plan's collections run on them."""
        policy = payplan.LateFeePolicy.single(Money.of("10", "USD"), grace_days=MAX_DAYS - 1)
        plan = a_plan(late_fees=policy, reminders=payplan.ReminderPolicy((-MAX_DAYS, MAX_DAYS)))
        ledger = payplan.Ledger.empty(plan)
        assert payplan.assess_late_fees(plan, ledger, dt.date(2036, 1, 1)) == ()
        assert payplan.reminders_due(plan, ledger, dt.date(2026, 1, 5)) == ()

    @pytest.mark.parametrize(
        ("edit", "path"),
        [
            (lambda t: t["late_fees"].__setitem__("grace_days", 2**31), "plan.terms.late_fees"),
            (lambda t: t["late_fees"]["steps"][0].__setitem__("days", 2**31), "plan.terms.late_fees.steps[0]"),
            (lambda t: t["reminders"].__setitem__("offsets", [-(2**31), 0]), "plan.terms.reminders"),
        ],
    )
    def test_plan_file(self, edit: object, path: str) -> None:
        """A plan file with a day count of 2^31 is a SerializationError naming the field, not an OverflowError later."""
        doc = payplan.dump_plan(a_plan(late_fees=payplan.LateFeePolicy.single(Money.of("10", "USD"))))
        edit(doc["plan"]["terms"])  # type: ignore[operator]
        with pytest.raises(payplan.SerializationError, match="^" + re.escape(path) + ": expected"):
            payplan.load_plan(doc)

    def test_quote_then_status(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`quote --grace-days 99999999999 --save` is refused, so no plan file exists for `status` to crash on."""
        saved = tmp_path / "p.json"
        one_error_line(capsys, [*QUOTE, "--late-fee", "1", "--grace-days", "99999999999", "--save", str(saved)])
        assert not saved.exists()


class TestApr:
    @pytest.mark.parametrize("apr", ["1e-9999", "0.0000001", Decimal("1E-30")])
    def test_too_many_decimals(self, apr: object) -> None:
        """An APR finer than 6 decimals is refused at Terms, not a decimal.DivisionByZero in the annuity."""
        with pytest.raises(payplan.InvalidPlanError, match="at most 6 decimals"):
            payplan.Terms(apr=apr)  # type: ignore[arg-type]

    def test_trailing_zeros_are_fine(self) -> None:
        """9.90000000 is 9.9: the bound is on the rate, not on how it is written."""
        assert payplan.Terms(apr="9.90000000").apr == Decimal("9.9")


class TestErrorPathsNotDoubled:
    def test_bad_date_rule(self) -> None:
        """A bad dates.type names plan.terms.dates.type once (it read 'plan.terms.terms: plan.terms.dates.type')."""
        doc = payplan.dump_plan(a_plan())
        doc["plan"]["terms"]["dates"]["type"] = "fortnightly-ish"
        with pytest.raises(payplan.SerializationError) as info:
            payplan.load_plan(doc)
        assert str(info.value).startswith("plan.terms.dates.type: expected cadence, dates or before_session")
        assert "terms.terms" not in str(info.value)
