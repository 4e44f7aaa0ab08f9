"""Bad input through the public API and the ``payplan`` command: a payplan error, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest

import payplan
from payplan import InvalidMoneyError, Money
from payplan.cli import main

QUOTE = ["quote", "--fee", "2000.00", "--deposit", "25%", "--installments", "3", "--cadence", "monthly",
         "--booked", "2026-01-05", "--session", "2026-06-01", "--plan-id", "p-1"]


@pytest.fixture
def files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A directory with a valid plan.json and a few malformed inputs."""
    assert main([*QUOTE, "--save", str(tmp_path / "plan.json")]) == 0
    capsys.readouterr()
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00not utf-8")
    (tmp_path / "huge.csv").write_text("2026-01-05," + "9" * 29 + "\n", encoding="utf-8")
    return tmp_path


def a_plan() -> payplan.PaymentPlan:
    """$2000, 25% deposit, 3 monthly installments."""
    terms = payplan.Terms(deposit=payplan.DepositRule.percent("25"), installments=3)
    return payplan.PaymentPlan.with_deposit(
        "p-1", Money.of("2000.00", "USD"), booked=dt.date(2026, 1, 5), session=dt.date(2026, 6, 1), terms=terms
    )


def one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the command; it must exit 2 with exactly one line on stderr, which is returned."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("payplan: error: ")
    return lines[0]


class TestMoneyOfLargeAmounts:
    @pytest.mark.parametrize(
        ("text", "minor"),
        [
            ("99999999999999999999999999999", 9999999999999999999999999999900),
            ("99999999999999999999999999999.99", 9999999999999999999999999999999),
            ("1e30", 10**32),
        ],
    )
    def test_exact_beyond_the_default_decimal_precision(self, text: str, minor: int) -> None:
        """An amount with more than 28 digits is kept exactly, never rounded by the decimal context."""
        assert Money.of(text, "USD").minor == minor
        assert Money.of(Decimal(text), "USD").minor == minor

    @pytest.mark.parametrize("text", ["1e4000", "1e999999999", "9" * 4001])
    def test_absurdly_large_amount_refused(self, text: str) -> None:
        """An amount too large to be money is refused with a payplan error, not a ValueError or a hang."""
        with pytest.raises(InvalidMoneyError, match="at most 4000 digits"):
            Money.of(text, "USD")

    def test_large_amount_formats(self) -> None:
        """A large amount formats with all its digits instead of raising decimal.InvalidOperation."""
        m = Money.of("99999999999999999999999999999.99", "USD")
        assert m.format("en_US") == "$99,999,999,999,999,999,999,999,999,999.99"
        assert isinstance(m.format("de_DE"), str)


def test_errors_are_payplan_errors() -> None:
    """InvalidMoneyError is part of the payplan tree (callers catch one base class)."""
    assert issubclass(InvalidMoneyError, payplan.PayplanError)


class TestCliBadFiles:
    @pytest.mark.parametrize(
        ("argv", "expected"),
        [
            (["status", "{d}/binary.bin", "--as-of", "2026-03-01"], "expected a UTF-8 JSON plan file"),
            (["statement", "{d}/binary.bin", "--as-of", "2026-03-01"], "expected a UTF-8 JSON plan file"),
            (["ics", "{d}/binary.bin"], "expected a UTF-8 JSON plan file"),
            (["agreement", "{d}/binary.bin"], "expected a UTF-8 JSON plan or history file"),
            (["agreement", "{d}/plan.json", "--template", "{d}/binary.bin"], "expected a UTF-8 text template"),
            (["quote", "--booked", "2026-01-05", "--session", "2026-06-01", "--catalog", "{d}/binary.bin",
              "--tier", "A"], "expected a UTF-8 TOML catalog"),
        ],
    )
    def test_undecodable_file(
        self, files: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
    ) -> None:
        """A file that is not UTF-8 ends the command with one line naming the file, not a UnicodeDecodeError."""
        line = one_error_line(capsys, [a.format(d=files) for a in argv])
        assert expected in line
        assert "binary.bin" in line

    def test_payment_with_29_digits(self, files: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A payment of 29 nines (more than the whole plan) is refused on its line with the bound, not a traceback."""
        line = one_error_line(
            capsys, ["status", str(files / "plan.json"), "--as-of", "2026-03-01", "--payments", str(files / "huge.csv")]
        )
        assert "huge.csv line 1: expected one payment of at most the plan's total" in line

    def test_ics_name_on_two_lines(self, files: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An iCalendar name with a line break is refused with one line, not icalendar's AssertionError."""
        line = one_error_line(capsys, ["ics", str(files / "plan.json"), "--name", "a\nb"])
        assert "expected the calendar name as one line of text" in line

    def test_ics_feed_name_checked(self) -> None:
        """ics_feed itself refuses a name it cannot write on one content line."""
        plan = a_plan()
        with pytest.raises(payplan.PayplanError, match="one line"):
            payplan.ics_feed([plan], name="x\r\ny")


class TestPlanConstructionTypes:
    BOOKED = dt.date(2026, 1, 5)
    SESSION = dt.date(2026, 6, 1)

    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({"booked": "2026-01-05"}, "expected booked as a datetime.date, got str"),
            ({"booked": dt.datetime(2026, 1, 5)}, "expected booked as a datetime.date, got datetime"),
            ({"session": None}, "expected session as a datetime.date, got NoneType"),
            ({"terms": {}}, "expected terms as Terms, got dict"),
            ({"first_due": "2026-02-01"}, "expected first_due as date or None, got str"),
            ({"first_due": dt.datetime(2026, 2, 1)}, "expected first_due as date or None, got datetime"),
            ({"remainder": "middle"}, "expected remainder 'first' or 'last', got 'middle'"),
            ({"compress": "yes"}, "expected compress as bool, got str"),
            ({"final_due_days_before": 10**12}, "expected final_due_days_before as whole days from 0 to 3653"),
            ({"final_due_days_before": 3_000_000}, "expected final_due_days_before as whole days from 0 to 3653"),
        ],
    )
    def test_with_deposit_refuses(self, changes: dict[str, object], expected: str) -> None:
        """A wrong type or an off-the-calendar cutoff is an InvalidPlanError naming the field, not a TypeError."""
        kwargs: dict[str, object] = {
            "booked": self.BOOKED, "session": self.SESSION,
            "terms": payplan.Terms(deposit=payplan.DepositRule.percent("25"), installments=3),
        }
        kwargs.update(changes)
        with pytest.raises(payplan.InvalidPlanError, match=re.escape(expected)):
            payplan.PaymentPlan.with_deposit("p-1", Money.of("2000.00", "USD"), **kwargs)  # type: ignore[arg-type]

    def test_fixed_deposit_as_text(self) -> None:
        """DepositRule.fixed("500") is an InvalidPlanError, not an AttributeError when the plan is built."""
        with pytest.raises(payplan.InvalidPlanError, match="expected a deposit amount as Money"):
            payplan.DepositRule.fixed("500")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "build",
        [
            lambda: payplan.PaymentPlan.pay_in_full(
                "p", Money.of("10", "USD"), booked=dt.date(2026, 1, 5), session=dt.datetime(2026, 6, 1)  # type: ignore[arg-type]
            ),
            lambda: payplan.PaymentPlan.pay_in_full(
                "p", Money.of("10", "USD"), booked=dt.date(2026, 1, 5), session=dt.date(2026, 6, 1),
                final_due_days_before=10**9,
            ),
        ],
    )
    def test_pay_in_full_refuses(self, build: Callable[[], object]) -> None:
        """pay_in_full checks the same dates the same way."""
        with pytest.raises(payplan.InvalidPlanError):
            build()

    def test_plan_json_with_a_bad_apr(self) -> None:
        """A plan file whose APR is not a number is a SerializationError, not decimal.InvalidOperation."""
        doc = payplan.dump_plan(a_plan())
        doc["plan"]["terms"]["apr"] = "abc"
        with pytest.raises(payplan.SerializationError, match="APR"):
            payplan.load_plan(doc)


class TestAssessmentDates:
    CALLS: ClassVar[dict[str, Callable[..., object]]] = {
        "assess_late_fees": payplan.assess_late_fees,
        "reminders_due": payplan.reminders_due,
        "earned_incentives": payplan.earned_incentives,
        "plan_status": payplan.plan_status,
        "settle_cancellation": payplan.settle_cancellation,
        "settle_reschedule": payplan.settle_reschedule,
        "render_statement": payplan.render_statement,
    }

    @pytest.mark.parametrize("name", sorted(CALLS))
    @pytest.mark.parametrize("day", ["2026-03-01", dt.datetime(2026, 3, 1, 12), None])
    def test_not_a_date(self, name: str, day: object) -> None:
        """A string, a datetime or None as the date is an InvalidPlanError naming it, not a TypeError."""
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan)
        with pytest.raises(payplan.InvalidPlanError, match=r"as a datetime\.date, got"):
            self.CALLS[name](plan, ledger, day)

    @pytest.mark.parametrize("name", ["assess_late_fees", "reminders_due", "earned_incentives", "settle_cancellation"])
    def test_not_a_plan_or_ledger(self, name: str) -> None:
        """None in place of the plan or the ledger is a payplan error, not an AttributeError."""
        plan = a_plan()
        day = dt.date(2026, 3, 1)
        with pytest.raises(payplan.InvalidPlanError, match="expected a PaymentPlan"):
            self.CALLS[name](None, payplan.Ledger.empty(plan), day)
        with pytest.raises(payplan.LedgerError, match="expected a Ledger"):
            self.CALLS[name](plan, None, day)


class TestAmendWithAnotherPlansLedger:
    def test_refused(self) -> None:
        """Payments on another plan's ledger are not counted as paid toward this one."""
        plan = a_plan()
        other = payplan.PaymentPlan.with_deposit(
            "p-2", Money.of("2000.00", "USD"), booked=dt.date(2026, 1, 5), session=dt.date(2026, 6, 1),
            terms=plan.terms,
        )
        paid = payplan.Ledger.empty(other).record(
            payplan.PaymentReceived("x", dt.date(2026, 1, 5), Money.of("1000.00", "USD"))
        )
        change = payplan.ExtendDueDate(2, dt.date(2026, 2, 20))
        with pytest.raises(payplan.LedgerError, match="expected the ledger of plan 'p-1'"):
            payplan.amend(plan, change, by="owner", reason="asked", on=dt.date(2026, 1, 10), consent=True, paid=paid)
        # The plan's own ledger is still accepted.
        own = payplan.Ledger.empty(plan).record(
            payplan.PaymentReceived("x", dt.date(2026, 1, 5), Money.of("500.00", "USD"))
        )
        new, _ = payplan.amend(plan, change, by="owner", reason="asked", on=dt.date(2026, 1, 10), consent=True, paid=own)
        assert new.installment(2).due == dt.date(2026, 2, 20)


class TestMoneyComparedWithOtherTypes:
    @pytest.mark.parametrize("other", [1, Decimal("1"), "1.00", None])
    def test_ordering_against_a_non_money_is_a_type_error(self, other: object) -> None:
        """Money < 1 is Python's TypeError (as Money + 1 is), not an AttributeError about .currency."""
        m = Money.of("1.00", "USD")
        for compare in (
            lambda: m < other, lambda: m <= other, lambda: m > other, lambda: m >= other,  # type: ignore[operator]
        ):
            with pytest.raises(TypeError, match="not supported"):
                compare()
        assert m != other


class TestCliLateFeeOfZero:
    @pytest.mark.parametrize("fee", ["0", "0.00", "0%", "0.0%"])
    def test_refused(self, capsys: pytest.CaptureFixture[str], fee: str) -> None:
        """A late fee of nothing is refused whether flat or a percentage (0% was accepted and printed as a policy)."""
        line = one_error_line(capsys, [*QUOTE, "--late-fee", fee])
        assert "expected --late-fee above zero" in line


class TestCancellationBeforeBooking:
    @pytest.mark.parametrize("settle", [payplan.settle_cancellation, payplan.settle_reschedule])
    def test_refused(self, settle: Callable[..., object]) -> None:
        """A cancellation dated before the booking is refused (it refunded payments not yet made)."""
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan).record(
            payplan.PaymentReceived("dep", dt.date(2026, 1, 5), Money.of("500.00", "USD"))
        )
        with pytest.raises(payplan.RuleViolationError, match="on or after the booking 2026-01-05"):
            settle(plan, ledger, dt.date(2025, 12, 31))

    def test_cli(self, files: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan cancel --on` before the booking ends with one error line."""
        line = one_error_line(capsys, ["cancel", str(files / "plan.json"), "--on", "2020-01-01"])
        assert "expected a cancellation dated on or after the booking 2026-01-05, got 2020-01-01" in line


class TestCliAmountNotation:
    @pytest.mark.parametrize("amount", ["5e2", "5E+2", "5_00", "+500", "\u0665\u0660\u0660", "500."])
    def test_payments_file(self, files: Path, capsys: pytest.CaptureFixture[str], amount: str) -> None:
        """A payment written as a float export, with underscores, a plus or non-ASCII digits is refused, not read as 500."""
        csv_file = files / "payments.csv"
        csv_file.write_text(f"date,amount\n2026-01-05,{amount}\n", encoding="utf-8")
        line = one_error_line(
            capsys, ["status", str(files / "plan.json"), "--as-of", "2026-03-01", "--payments", str(csv_file)]
        )
        assert "line 2: expected the amount as digits with an optional decimal point" in line

    @pytest.mark.parametrize(
        ("option", "value"),
        [("--fee", "2e3"), ("--deposit", "5_00"), ("--deposit-min", "+500"), ("--late-fee", "2.5e1")],
    )
    def test_quote_options(self, capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
        """Quote amounts are read the same strict way; the message names the option."""
        argv = ["quote", "--fee", "2000.00", "--booked", "2026-01-05", "--session", "2026-06-01"]
        if option == "--fee":
            argv[2] = value
        elif option == "--deposit-min":
            argv += ["--deposit", "25%", option, value]
        else:
            argv += [option, value]
        line = one_error_line(capsys, argv)
        assert f"expected {option} as digits with an optional decimal point" in line

    def test_plain_amounts_still_read(self, files: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """500, 500.00 and ' 500.5 ' are still payments of $500, $500 and $500.50."""
        csv_file = files / "payments.csv"
        csv_file.write_text("2026-01-05,500\n2026-02-05,500.00\n2026-03-05, 500.5 \n", encoding="utf-8")
        code = main(["status", str(files / "plan.json"), "--as-of", "2026-03-05", "--payments", str(csv_file),
                     "--format", "json"])
        out = capsys.readouterr().out
        assert code == 0
        assert json.loads(out)["balance_minor"] == 200000 - 150050


class TestDocumentArguments:
    @pytest.mark.parametrize("template", [5, b"$title", ["$title"]])
    def test_template_of_the_wrong_type(self, template: object) -> None:
        """A template that is not a str or string.Template is an InvalidPlanError, not a TypeError from re."""
        with pytest.raises(payplan.InvalidPlanError, match=r"expected the template as a str or string\.Template"):
            payplan.render_agreement(a_plan(), template=template)  # type: ignore[arg-type]

    def test_not_a_plan(self) -> None:
        """render_agreement and render_statement name the missing plan instead of an AttributeError."""
        with pytest.raises(payplan.InvalidPlanError, match="expected a PaymentPlan, got NoneType"):
            payplan.render_agreement(None)  # type: ignore[arg-type]
        with pytest.raises(payplan.InvalidPlanError, match="expected a PaymentPlan, got dict"):
            payplan.render_statement({}, payplan.Ledger.empty(a_plan()), dt.date(2026, 3, 1))  # type: ignore[arg-type]


class TestPlanFileWithAnAbsurdCutoff:
    @pytest.mark.parametrize("days", [10**30, 3_000_000])
    def test_serialization_error(self, days: int) -> None:
        """A plan file whose final_due_days_before is past its bound is a SerializationError, not OverflowError."""
        doc = payplan.dump_plan(a_plan())
        doc["plan"]["terms"]["final_due_days_before"] = days
        with pytest.raises(
            payplan.SerializationError, match=r"^plan\.terms: expected final_due_days_before as whole days from 0 to 3653"
        ):
            payplan.load_plan(doc)


class TestLedgerRefusalsChangeNothing:
    def refusals(self, plan: payplan.PaymentPlan) -> list[object]:
        day = dt.date(2026, 1, 6)
        return [
            "payment",
            None,
            payplan.PaymentReceived("eur", day, Money.of("5.00", "EUR")),
            payplan.PaymentReceived("dep", day, Money.of("400.00", "USD")),  # same id, other content
            payplan.Refund.reversal("r", day, Money.of("500.01", "USD")),  # more than was paid
            payplan.FeeWaived("w", day, Money.of("1.00", "USD"), "goodwill"),  # no fee standing
        ]

    def test_record_refused_and_ledger_unchanged(self) -> None:
        """Each refused record raises LedgerError and leaves the ledger's entries and totals as they were."""
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan).record(
            payplan.PaymentReceived("dep", dt.date(2026, 1, 5), Money.of("500.00", "USD"))
        )
        before = (ledger.entries, ledger.balance, ledger.paid, ledger.refunded, ledger.fees, ledger.waived, len(ledger))
        for entry in self.refusals(plan):
            with pytest.raises(payplan.LedgerError):
                ledger.record(entry)  # type: ignore[arg-type]
            assert (
                ledger.entries, ledger.balance, ledger.paid, ledger.refunded, ledger.fees, ledger.waived, len(ledger)
            ) == before
        ok = payplan.PaymentReceived("p2", dt.date(2026, 2, 5), Money.of("500.00", "USD"))
        with pytest.raises(payplan.LedgerError):
            ledger.record_all([ok, "not an entry"])  # type: ignore[list-item]
        assert ledger.entries == before[0]
        assert ledger.record(ok).balance == Money.of("1000.00", "USD")


class TestOtherPlanConstructors:
    BOOKED = dt.date(2026, 1, 5)
    SESSION = dt.date(2026, 6, 1)

    @pytest.mark.parametrize(
        "parts",
        [
            [(dt.date(2026, 1, 5),)],
            [(dt.date(2026, 1, 5), "500.00")],
            [("2026-01-05", Money.of("500.00", "USD"))],
            [(dt.datetime(2026, 1, 5), Money.of("500.00", "USD"))],
        ],
    )
    def test_custom_parts(self, parts: list[tuple[object, ...]]) -> None:
        """Each custom part must be a (date, Money) pair; anything else names the part, not an IndexError/TypeError."""
        with pytest.raises(payplan.InvalidPlanError, match=r"expected part 1 as a \(datetime\.date, Money\) pair"):
            payplan.PaymentPlan.custom("c", parts, booked=self.BOOKED, session=self.SESSION)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("price", "uses", "booked"),
        [
            (Money.of("45", "USD"), ["2026-01-06"], dt.date(2026, 1, 5)),
            (Money.of("45", "USD"), [dt.date(2026, 1, 6)], "2026-01-05"),
            ("45", [dt.date(2026, 1, 6)], dt.date(2026, 1, 5)),
        ],
    )
    def test_pay_as_you_go(self, price: object, uses: list[object], booked: object) -> None:
        """pay_as_you_go refuses text dates and prices with InvalidPlanError."""
        with pytest.raises(payplan.InvalidPlanError):
            payplan.PaymentPlan.pay_as_you_go("g", price, uses, booked=booked)  # type: ignore[arg-type]

    def test_progressive(self) -> None:
        """progressive names a wrong upfront rule or milestone instead of an AttributeError."""
        ms = [payplan.Milestone("rest", percent=100, due=dt.date(2026, 3, 1))]
        for upfront, milestones in ((payplan.DepositRule.percent(30), ["rest"]), ("30%", ms)):
            with pytest.raises(payplan.InvalidPlanError, match="expected upfront as a DepositRule"):
                payplan.PaymentPlan.progressive(
                    "p", Money.of("1000", "USD"), upfront=upfront, milestones=milestones,  # type: ignore[arg-type]
                    booked=self.BOOKED, session=self.SESSION,
                )

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"percent": 50, "due": "2026-03-01"},
            {"amount": "100.00", "due": dt.date(2026, 3, 1)},
            {"percent": 50, "days_before_session": -3},
            {"percent": 50, "days_before_session": 3.0},
        ],
    )
    def test_milestone(self, kwargs: dict[str, object]) -> None:
        """A milestone checks the type of its due date, amount and days when it is made."""
        with pytest.raises(payplan.InvalidPlanError, match="milestone 'm'"):
            payplan.Milestone("m", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("source", [5, None, b"[catalog]"])
def test_catalog_source_of_the_wrong_type(source: object) -> None:
    """Catalog.from_toml names a source that is neither text nor a path, instead of a TypeError."""
    with pytest.raises(payplan.InvalidPlanError, match="expected TOML text or a path"):
        payplan.Catalog.from_toml(source)  # type: ignore[arg-type]


class TestWriteOffAboveWhatIsOwed:
    def test_refused_and_nothing_changes(self) -> None:
        """Writing off $2000 when $1500 is owed is refused: it made the client $500 in credit, then refunded and credited both."""
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan).record(
            payplan.PaymentReceived("dep", dt.date(2026, 1, 5), Money.of("500.00", "USD"))
        )
        with pytest.raises(payplan.LedgerError, match=r"more than the 1500\.00 USD owed"):
            ledger.record(payplan.WriteOff("w", dt.date(2026, 1, 6), Money.of("2000.00", "USD"), "hardship"))
        assert ledger.balance == Money.of("1500.00", "USD")
        assert len(ledger) == 1

    def test_up_to_what_is_owed_is_fine(self) -> None:
        """Writing off exactly what is owed is accepted and leaves nothing owed and no credit."""
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan).record_all([
            payplan.PaymentReceived("dep", dt.date(2026, 1, 5), Money.of("500.00", "USD")),
            payplan.WriteOff("w", dt.date(2026, 1, 6), Money.of("1500.00", "USD"), "hardship"),
        ])
        assert ledger.balance == Money.of("0.00", "USD")
        assert payplan.plan_status(plan, ledger, dt.date(2026, 1, 7)).credit == Money.of("0.00", "USD")

    def test_cancellation_after_a_write_off_returns_only_cash(self) -> None:
        """After $500 paid and $1500 written off, a cancellation returns at most the $500 paid (it credits $1500 more)."""
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan).record_all([
            payplan.PaymentReceived("dep", dt.date(2026, 1, 5), Money.of("500.00", "USD")),
            payplan.WriteOff("w", dt.date(2026, 1, 6), Money.of("1500.00", "USD"), "hardship"),
        ])
        assert ledger.balance == Money.of("0.00", "USD")
        s = payplan.settle_cancellation(plan, ledger, dt.date(2026, 1, 8))
        assert s.refund.minor + s.credit.minor <= 50000
        settled = ledger.record_all(s.entries)
        assert settled.balance == Money.of("0.00", "USD")
        assert settled.net_paid.minor + s.credit.minor <= 50000
        again = payplan.loads_ledger(payplan.dumps_ledger(settled), plan)
        assert again == settled
        assert again.balance == settled.balance


def test_cancel_after_the_session_says_after(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A no-show settled after the session reads '30 days after the session', not '-30 days before'."""
    assert main(["cancel", str(files / "plan.json"), "--on", "2026-07-01", "--no-show"]) == 0
    out = capsys.readouterr().out
    assert "(30 days after the session)" in out
    assert "-30" not in out
