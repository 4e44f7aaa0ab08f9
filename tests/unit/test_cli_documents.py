"""`payplan agreement`, `payplan statement` and `payplan ics` on a saved Pack A plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from payplan import DepositRule, Money, PaymentPlan, PlanHistory, SkipPayment, dumps_history
from payplan.cli import main

PACK_A = ["quote", "--fee", "2000.00", "--currency", "USD", "--deposit", "25%", "--deposit-min", "500.00",
          "--installments", "3", "--cadence", "monthly", "--booked", "2026-12-01", "--session", "2027-04-15",
          "--final-due-days-before", "14", "--plan-id", "pack-a"]


@pytest.fixture
def plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "plan.json"
    assert main([*PACK_A, "--save", str(path)]) == 0
    capsys.readouterr()
    return path


@pytest.fixture
def payments(tmp_path: Path) -> Path:
    path = tmp_path / "payments.csv"
    path.write_text("date,amount,reference\n2026-12-01,500.00,ch_1\n2027-01-20,300,ch_2\n", encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class TestAgreement:
    def test_markdown_to_stdout(self, plan_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The default is a Markdown agreement with Pack A's schedule."""
        code, out, _ = run(capsys, "agreement", str(plan_file), "--business", "Studio North", "--client", "Jane")
        assert code == 0
        assert out.startswith("# Payment agreement")
        assert "| 4 | Installment | Mar 1, 2027 | $500.00 |  |" in out
        assert "Studio North (the business) and Jane (the client)" in out

    def test_html_german_to_a_file(self, plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--format html --locale de_DE --output writes a German HTML page."""
        out_file = tmp_path / "a.html"
        code, out, _ = run(capsys, "agreement", str(plan_file), "--format", "html", "--locale", "de_DE",
                           "-o", str(out_file))
        assert (code, out) == (0, "")
        text = out_file.read_text(encoding="utf-8")
        assert '<html lang="de">' in text
        assert "2.000,00\xa0$" in text

    def test_site_template(self, plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--template replaces the layout."""
        tpl = tmp_path / "t.txt"
        tpl.write_text("Total $total for $plan_id\n", encoding="utf-8")
        code, out, _ = run(capsys, "agreement", str(plan_file), "--format", "txt", "--template", str(tpl))
        assert (code, out) == (0, "Total $2,000.00 for pack-a\n")

    def test_history_file_lists_amendments(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Given a plan history file, the agreement shows the current schedule and the amendments."""
        plan = PaymentPlan.with_deposit(
            "pack-a", Money.of("2000", "USD"), deposit=DepositRule.fixed(Money.of("500", "USD")),
            installments=3, booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 4, 15),
        )
        history = PlanHistory.start(plan).apply(
            SkipPayment(2, "next"), by="Sam", reason="hardship", on=dt.date(2026, 12, 20)
        )
        path = tmp_path / "history.json"
        path.write_text(dumps_history(history), encoding="utf-8")
        code, out, _ = run(capsys, "agreement", str(path))
        assert code == 0
        assert "installment 2 skipped, its amount moved to the next installment. By Sam" in out
        assert "| 2 | Installment | Feb 1, 2027 | $1,000.00 |  |" in out

    def test_bad_template_exits_2(self, plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown placeholder ends with exit status 2 and one line."""
        tpl = tmp_path / "t.txt"
        tpl.write_text("$nope\n", encoding="utf-8")
        code, _, err = run(capsys, "agreement", str(plan_file), "--template", str(tpl))
        assert code == 2
        assert err.count("\n") == 1
        assert "$nope" in err


class TestStatement:
    def test_statement_with_payments(self, plan_file: Path, payments: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """$800 paid by Feb 5: balance $1200, $700 overdue, $500 next on March 1."""
        code, out, _ = run(capsys, "statement", str(plan_file), "--payments", str(payments), "--as-of", "2027-02-05")
        assert code == 0
        assert "| Paid (less refunds) | $800.00 |" in out
        assert "| Balance | $1,200.00 |" in out
        assert "| Overdue now | $700.00 |" in out
        assert "| Next payment | $500.00 due March 1, 2027 |" in out

    def test_as_of_is_required(self, plan_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --as-of the command exits 2."""
        code, _, err = run(capsys, "statement", str(plan_file))
        assert code == 2
        assert "--as-of" in err


class TestIcs:
    def test_writes_a_calendar(self, plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """payplan ics writes one event per installment with the plan's reminder alarms."""
        pytest.importorskip("icalendar")
        out_file = tmp_path / "plan.ics"
        code, _, _ = run(capsys, "ics", str(plan_file), "-o", str(out_file))
        assert code == 0
        data = out_file.read_bytes()
        assert data.startswith(b"BEGIN:VCALENDAR")
        assert data.count(b"BEGIN:VEVENT") == 4
        assert b"DTSTART;VALUE=DATE:20270301" in data
        assert b"TRIGGER:-P7D" in data

    def test_paid_installments_left_out(
        self, plan_file: Path, payments: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With payments and --as-of, the paid deposit is left out and installment 2 shows $200 owed."""
        pytest.importorskip("icalendar")
        out_file = tmp_path / "plan.ics"
        code, _, _ = run(capsys, "ics", str(plan_file), "--payments", str(payments), "--as-of", "2027-02-05",
                         "--alarm", "2", "-o", str(out_file))
        assert code == 0
        data = out_file.read_bytes()
        assert data.count(b"BEGIN:VEVENT") == 3
        assert b"installment 2\\, $200.00 due" in data
        assert b"TRIGGER:-P2D" in data
        assert b"TRIGGER:-P7D" not in data

    def test_payments_need_as_of(self, plan_file: Path, payments: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--payments without --as-of is an error, exit 2."""
        code, _, err = run(capsys, "ics", str(plan_file), "--payments", str(payments))
        assert code == 2
        assert "--as-of" in err
