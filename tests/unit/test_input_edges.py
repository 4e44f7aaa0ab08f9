"""Issue #16: every bad input a clear error at the point where it enters (numbers, day counts, messages)."""

from __future__ import annotations

import datetime as dt
import importlib.util
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
            ("--fee", "9" * 5000, "expected --fee of at most 4000 digits, got 5000 characters"),
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


class TestJsonDocuments:
    def plan_text(self) -> str:
        return payplan.dumps_plan(a_plan())

    @pytest.mark.parametrize("loads", [payplan.loads_plan, payplan.loads_ledger, payplan.loads_history])
    def test_integer_past_the_digit_limit(self, loads: object) -> None:
        """An integer of 5,000 digits is a SerializationError naming its path, not Python's ValueError."""
        text = '{"schema": "payplan/plan", "schema_version": 1, "plan": {"fee_minor": ' + "9" * 5000 + "}}"
        with pytest.raises(payplan.SerializationError, match=r"^plan\.fee_minor: expected an integer of at most 4000 digits, got one of 5000"):
            loads(text)  # type: ignore[operator]

    @pytest.mark.parametrize("depth", [101, 5_000, 100_000])
    def test_deep_nesting(self, depth: int) -> None:
        """A document nested 100,000 levels deep is refused with the path and the bound, not a RecursionError."""
        text = '{"schema": "payplan/plan", "plan": {"terms": ' + "[" * depth + "]" * depth + "}}"
        with pytest.raises(payplan.SerializationError) as info:
            payplan.loads_plan(text)
        message = str(info.value)
        assert message.startswith("plan.terms[0][0]")
        assert message.endswith(": expected a document nested at most 100 levels deep")

    def test_nesting_at_the_bound_is_read(self) -> None:
        """Exactly 100 levels parse (and are then judged as a plan, which this is not)."""
        with pytest.raises(payplan.SerializationError, match=r"^document: expected an object, got list"):
            payplan.loads_plan("[" * 100 + "]" * 100)

    def test_brackets_inside_strings_do_not_count(self) -> None:
        """A label full of brackets is text, not nesting."""
        plan = payplan.PaymentPlan.custom(
            "p-[[[", [(dt.date(2026, 1, 5), Money.of("10", "USD"))], booked=dt.date(2026, 1, 5),
            session=dt.date(2026, 6, 1),
        )
        doc = payplan.dump_plan(plan)
        doc["plan"]["installments"][0]["label"] = "[" * 500 + "{" * 500
        again = payplan.loads_plan(json.dumps(doc))
        assert again.installments[0].label == "[" * 500 + "{" * 500

    @pytest.mark.parametrize(
        ("replace", "path"),
        [
            ('"fee_minor": 200000,', '"fee_minor": 200000, "fee_minor": 100,'),
            ('"apr": "0",', '"apr": "0", "apr": "99",'),
        ],
    )
    def test_duplicate_key(self, replace: str, path: str) -> None:
        """A key given twice is refused with the object's path (it silently took the last value)."""
        text = payplan.dumps_plan(a_plan(), indent=None).replace(replace.replace(",", ""), path.rstrip(","), 1)
        assert text != payplan.dumps_plan(a_plan(), indent=None)
        where = "plan" if "fee" in replace else "plan.terms"
        key = "fee_minor" if "fee" in replace else "apr"
        with pytest.raises(payplan.SerializationError, match=rf"^{re.escape(where)}: the key '{key}' appears twice"):
            payplan.loads_plan(text)

    def test_duplicate_key_in_a_ledger_entry(self) -> None:
        """Duplicates are found at any depth, with the entry's index in the path."""
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan).record(
            payplan.PaymentReceived("dep", dt.date(2026, 1, 5), Money.of("500.00", "USD"))
        )
        text = payplan.dumps_ledger(ledger, indent=None).replace('"amount_minor": 50000', '"amount_minor": 50000, "amount_minor": 5')
        with pytest.raises(payplan.SerializationError, match=r"^ledger\.entries\[0\]: the key 'amount_minor' appears twice"):
            payplan.loads_ledger(text, plan)

    def test_cli_reports_one_line(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Through the CLI each of these is exit 2 and one line naming the file and the path."""
        for name, text in (
            ("deep.json", "[" * 100_000 + "]" * 100_000),
            ("dup.json", '{"schema": "payplan/plan", "schema": "payplan/plan"}'),
            ("big.json", '{"schema_version": ' + "1" * 5000 + "}"),
        ):
            (tmp_path / name).write_text(text, encoding="utf-8")
            for command in (["status", str(tmp_path / name), "--as-of", "2026-03-01"], ["agreement", str(tmp_path / name)]):
                line = one_error_line(capsys, command)
                assert name in line


class TestCatalogToml:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("[" * 5000 + "]" * 5000, "nested at most 100 levels deep"),
            ("{a = " * 5000 + "1" + "}" * 5000, "nested at most 100 levels deep"),
            ("9" * 5000, "numbers of at most 4000 digits"),
        ],
    )
    def test_refused_with_the_line(self, value: str, expected: str) -> None:
        """A catalog nested 5,000 levels deep or with a 5,000-digit number names the line, not a RecursionError."""
        with pytest.raises(payplan.InvalidPlanError, match=rf"^catalog line 3: expected .*{expected}"):
            payplan.Catalog.from_toml(f"[catalog]\ncurrency = 'USD'\nx = {value}\n")

    def test_quote(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan quote --catalog` on such a file exits 2 with one line."""
        path = tmp_path / "deep.toml"
        path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
        line = one_error_line(
            capsys, ["quote", "--catalog", str(path), "--tier", "A", "--booked", "2026-01-05", "--session", "2026-06-01"]
        )
        assert "catalog line 1: expected a TOML catalog with arrays and inline tables nested at most 100" in line


class TestPaymentsCsv:
    @pytest.fixture
    def plan_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
        path = tmp_path / "plan.json"
        assert main([*QUOTE, "--save", str(path)]) == 0
        capsys.readouterr()
        return path

    def status(self, capsys: pytest.CaptureFixture[str], plan_file: Path, text: str) -> str:
        csv_file = plan_file.parent / "payments.csv"
        csv_file.write_text(text, encoding="utf-8", newline="")
        return one_error_line(capsys, ["status", str(plan_file), "--as-of", "2026-03-01", "--payments", str(csv_file)])

    def balance(self, capsys: pytest.CaptureFixture[str], plan_file: Path, text: str) -> int:
        csv_file = plan_file.parent / "payments.csv"
        csv_file.write_text(text, encoding="utf-8", newline="")
        argv = ["status", str(plan_file), "--as-of", "2026-03-01", "--payments", str(csv_file), "--format", "json"]
        assert main(argv) == 0
        return int(json.loads(capsys.readouterr().out)["balance_minor"])

    @pytest.mark.parametrize("separator", ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
    def test_line_separators_inside_a_line_are_not_records(
        self, capsys: pytest.CaptureFixture[str], plan_file: Path, separator: str
    ) -> None:
        """A vertical tab, form feed or U+2028 inside a reference is one bad cell on line 1, never two payments."""
        line = self.status(capsys, plan_file, f"2026-01-05,500.00,ab{separator}cd\n")
        assert f"payments.csv line 1: expected the reference without control characters, got U+{ord(separator):04X}" in line
        line = self.status(capsys, plan_file, f"2026-01-05,500.00,ab{separator}2026-01-06,500.00\n")
        assert "payments.csv line 1: expected 2 or 3 columns (date,amount[,reference]), got 4" in line

    def test_quoted_cells_are_read_as_csv(self, capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
        """Quoted cells (a comma in a reference) are one cell each, and later records keep their own line numbers."""
        text = 'date,amount,reference\n"2026-01-05","500.00","inv 1, deposit"\n2026-02-05,250,\n'
        assert self.balance(capsys, plan_file, text) == 200000 - 75000
        line = self.status(capsys, plan_file, 'date,amount\n2026-01-05,"500\n.00"\n2026-02-05,x\n')
        assert "payments.csv line 2: expected the amount without control characters" in line

    def test_record_over_two_lines_reports_its_start(self, capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
        """A record whose quoted reference spans lines is reported where it starts; the next record after it."""
        line = self.status(capsys, plan_file, '2026-01-05,500,"a\nb"\n2026-02-05,x\n')
        assert "payments.csv line 1:" in line
        line = self.status(capsys, plan_file, '2026-01-05,500,"ab"\n2026-02-05,x\n')
        assert "payments.csv line 2: expected the amount as digits" in line

    def test_cell_over_the_field_limit(self, capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
        """A cell past the csv module's field limit is a line-numbered error, not _csv.Error."""
        line = self.status(capsys, plan_file, "2026-01-05,500,ok\n2026-01-06,500," + "x" * 200_000 + "\n")
        assert "payments.csv line 2: expected CSV records" in line
        assert "a cell longer than the csv module's limit of 131072 characters" in line

    def test_identical_rows_without_reference_count_twice(
        self, capsys: pytest.CaptureFixture[str], plan_file: Path
    ) -> None:
        """Two identical rows with no reference are two payments."""
        assert self.balance(capsys, plan_file, "2026-01-05,500.00\n2026-01-05,500.00\n") == 200000 - 100000

    @pytest.mark.parametrize("second", ["2026-01-05,500.00,r-1", "2026-02-05,400.00,r-1"])
    def test_reference_twice_names_both_lines(
        self, capsys: pytest.CaptureFixture[str], plan_file: Path, second: str
    ) -> None:
        """A reference on two rows, same amount or not, is refused naming both lines in words (no repr)."""
        line = self.status(capsys, plan_file, f"date,amount,reference\n2026-01-05,500.00,r-1\n{second}\n")
        assert "payments.csv line 3: the reference 'r-1' (" in line
        assert "is already used on line 2 (500.00 USD on 2026-01-05)" in line
        assert "PaymentReceived(" not in line

    def test_huge_amount_says_amount(self, capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
        """A 4,000-digit amount is refused as the amount, not as an entry id of 200 characters at most."""
        line = self.status(capsys, plan_file, "2026-01-05," + "9" * 4000 + "\n")
        assert "line 1: expected the amount of at most 3998 digits before the decimal point, got 4000 digits" in line
        assert "entry id" not in line
        assert len(line) < 300

    def test_large_amount_without_reference(self, capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
        """A 300-digit payment (more than the whole plan) is refused on its line, never read as a vast credit."""
        line = self.status(capsys, plan_file, "2026-01-05," + "9" * 300 + "\n")
        assert "line 1: expected one payment of at most the plan's total" in line

    def test_long_reference(self, capsys: pytest.CaptureFixture[str], plan_file: Path) -> None:
        """A reference longer than an entry id may be says so in terms of the reference."""
        line = self.status(capsys, plan_file, "2026-01-05,500," + "r" * 201 + "\n")
        assert "line 1: expected a reference of at most 200 characters, got 201" in line


class TestCalendarEdges:
    @pytest.mark.parametrize("extra", [[], ["--installments", "3"], ["--installments", "3", "--cadence", "semimonthly"]])
    def test_quote_past_9999(self, capsys: pytest.CaptureFixture[str], extra: list[str]) -> None:
        """`quote --booked 9999-12-01 --session 9999-12-31` is ScheduleDoesNotFitError in words, not 'year 10000'."""
        line = one_error_line(capsys, ["quote", "--fee", "10", "--booked", "9999-12-01", "--session", "9999-12-31", *extra])
        assert "would fall after 9999-12-31, the last day of the calendar" in line
        assert '9999-12-31 used as "no session date yet"' in line
        assert "year 10000" not in line

    def test_library_error_class(self) -> None:
        """Through the library it is a ScheduleDoesNotFitError with latest_due the cutoff."""
        with pytest.raises(payplan.ScheduleDoesNotFitError) as info:
            payplan.PaymentPlan.with_deposit(
                "p", Money.of("10", "USD"), booked=dt.date(9999, 12, 1), session=dt.date(9999, 12, 31),
                terms=payplan.Terms(installments=2),
            )
        assert info.value.latest_due == dt.date(9999, 12, 31)

    @pytest.mark.parametrize("cadence", ["monthly", "bimonthly", "semimonthly", "weekly", "biweekly"])
    def test_compress_fits(self, capsys: pytest.CaptureFixture[str], cadence: str) -> None:
        """With --compress the same request fits between the booking and 9999-12-31."""
        argv = ["quote", "--fee", "10", "--booked", "9999-12-01", "--session", "9999-12-31", "--installments", "5",
                "--cadence", cadence, "--compress", "--format", "json"]
        assert main(argv) == 0
        dues = [i["due"] for i in json.loads(capsys.readouterr().out)["installments"]]
        assert dues == sorted(dues)
        assert dues[0] >= "9999-12-01"
        assert dues[-1] <= "9999-12-31"

    def test_cadence_dates_say_why(self) -> None:
        """Cadence.nth and add_months past either end of the calendar raise payplan errors, not ValueError."""
        with pytest.raises(payplan.ScheduleDoesNotFitError, match="after 9999-12-31"):
            payplan.Cadence.MONTHLY.nth(dt.date(9999, 12, 1), 1)
        with pytest.raises(payplan.InvalidPlanError, match="before 0001-01-01"):
            payplan.Cadence.WEEKLY.nth(dt.date(1, 1, 3), -1)
        with pytest.raises(payplan.ScheduleDoesNotFitError, match="after 9999-12-31"):
            payplan.add_months(dt.date(9999, 12, 31), 1)
        with pytest.raises(payplan.InvalidPlanError, match="before 0001-01-01"):
            payplan.BeforeSession((30,)).dates(dt.date(1, 1, 5))

    def test_collections_near_the_end(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Late fees and reminders whose day would be after 9999-12-31 never fall due; status, statement, ics and cancel run."""
        saved = tmp_path / "end.json"
        assert main(["quote", "--fee", "10", "--booked", "9999-12-20", "--session", "9999-12-31", "--installments", "2",
                     "--cadence", "weekly", "--compress", "--late-fee", "5", "--grace-days", "3",
                     "--save", str(saved)]) == 0
        capsys.readouterr()
        assert main(["status", str(saved), "--as-of", "9999-12-31", "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        # Installment 1 (Dec 20) is 11 days overdue: its fee applied on Dec 24; installment 2 is due on Dec 31,
        # its fee would apply on 10000-01-04, a day that never comes.
        assert [f["installment"] for f in data["fees"]] == [1]
        commands = [["statement", str(saved), "--as-of", "9999-12-31"], ["cancel", str(saved), "--on", "9999-12-31"],
                    ["agreement", str(saved)]]
        if importlib.util.find_spec("icalendar") is not None:  # the reports extra
            commands.append(["ics", str(saved)])
        for argv in commands:
            assert main(argv) == 0, argv
        capsys.readouterr()

    def test_reminder_and_early_payment_near_the_start(self) -> None:
        """An early-payment deadline before 0001-01-01 is never met; no OverflowError."""
        terms = payplan.Terms(
            installments=1, dates=payplan.ExplicitDates((dt.date(1, 1, 2),)),
            incentives=(payplan.Incentive.early_payment(30, percent=5),),
        )
        plan = payplan.PaymentPlan.with_deposit(
            "p", Money.of("10", "USD"), booked=dt.date(1, 1, 1), session=dt.date(1, 1, 3), terms=terms
        )
        ledger = payplan.Ledger.empty(plan).record(payplan.PaymentReceived("x", dt.date(1, 1, 1), Money.of("10", "USD")))
        assert payplan.earned_incentives(plan, ledger, dt.date(1, 1, 3)) == ()

    def test_move_session_before_year_one(self) -> None:
        """Moving a session so a relative due date would precede 0001-01-01 is a payplan error in words."""
        terms = payplan.Terms(installments=1, dates=payplan.BeforeSession((10,)))
        plan = payplan.PaymentPlan.with_deposit(
            "p", Money.of("10", "USD"), booked=dt.date(1, 1, 1), session=dt.date(1, 3, 1), terms=terms
        )
        with pytest.raises(payplan.InvalidPlanError, match=r"installment 1 \(10 days before the session\) would fall before 0001-01-01"):
            payplan.amend(plan, payplan.MoveSession(dt.date(1, 1, 5)), by="o", reason="r", on=dt.date(1, 1, 1),
                          consent=True)


class TestForecastAtTheEnd:
    def book(self) -> list[tuple[payplan.PaymentPlan, payplan.Ledger]]:
        plan = payplan.PaymentPlan.pay_in_full(
            "p", Money.of("10", "USD"), booked=dt.date(9999, 12, 1), session=dt.date(9999, 12, 31)
        )
        return [(plan, payplan.Ledger.empty(plan))]

    def test_last_month_and_week_end_on_9999_12_31(self) -> None:
        """The periods reaching the calendar's last day end on it, and the payment due then is counted."""
        by_month = payplan.forecast(self.book(), dt.date(9999, 1, 1), by="month", periods=12)
        assert (by_month.periods[-1].end, by_month.periods[-1].expected) == (dt.date.max, Money.of("10", "USD"))
        by_week = payplan.forecast(self.book(), dt.date(9999, 11, 29), by="week", periods=5)
        assert by_week.periods[-1].end == dt.date.max
        assert sum(p.expected.minor for p in by_week.periods) == 1000

    @pytest.mark.parametrize("by", ["week", "month"])
    def test_periods_past_the_end_refused(self, by: str) -> None:
        """Periods that would start after 9999-12-31 are an InvalidPlanError, not 'year 10000 is out of range'."""
        with pytest.raises(payplan.InvalidPlanError, match="to end by 9999-12-31, the last day of the calendar"):
            payplan.forecast(self.book(), dt.date(9999, 11, 1), by=by, periods=12)  # type: ignore[arg-type]
