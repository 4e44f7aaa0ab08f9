"""`payplan status`, `payplan cancel` and the quote's late-fee options, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payplan import loads_plan
from payplan.cli import main

PACK_A = ["quote", "--fee", "2000.00", "--currency", "USD", "--deposit", "25%", "--deposit-min", "500.00",
          "--installments", "3", "--cadence", "monthly", "--booked", "2026-12-01", "--session", "2027-04-15",
          "--plan-id", "pack-a"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Pack A saved with a $25 late fee after 5 days' grace."""
    path = tmp_path / "plan.json"
    code, _, _ = run(capsys, *PACK_A, "--grace-days", "5", "--late-fee", "25.00", "--save", str(path))
    assert code == 0
    return str(path)


def payments(tmp_path: Path, text: str) -> str:
    path = tmp_path / "payments.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


class TestQuotePolicyOptions:
    def test_flat_fee_after_grace(self, plan_file: str) -> None:
        """--grace-days 5 --late-fee 25.00 saves one $25 step on day 6."""
        policy = loads_plan(Path(plan_file).read_text()).terms.late_fees
        assert policy is not None
        assert policy.grace_days == 5
        assert [(s.days, s.amount and s.amount.minor, s.percent) for s in policy.steps] == [(6, 2500, None)]

    def test_percent_fee(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--late-fee 5% saves a percent step and the table says so."""
        path = tmp_path / "p.json"
        code, out, _ = run(capsys, *PACK_A, "--late-fee", "5%", "--save", str(path))
        assert code == 0
        assert "5% of the overdue amount once 1 day overdue" in out
        policy = loads_plan(path.read_text()).terms.late_fees
        assert policy is not None
        assert str(policy.steps[0].percent) == "5"

    def test_grace_without_fee_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--grace-days alone exits 2 and asks for a late fee."""
        code, _, err = run(capsys, *PACK_A, "--grace-days", "5")
        assert code == 2
        assert "--late-fee" in err


class TestStatus:
    def test_json_contract(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The JSON keys, amounts, fees and reminders on 2027-01-08 after a partial payment."""
        csv = payments(tmp_path, "date,amount,reference\n2026-12-01,500.00,ch_1\n2027-01-03,300,ch_2\n")
        code, out, _ = run(capsys, "status", plan_file, "--payments", csv, "--as-of", "2027-01-08", "--format", "json")
        assert code == 0
        data = json.loads(out)
        assert data["balance_minor"] == 122500
        assert data["paid_in_full"] is False
        assert data["status"] == "overdue"
        assert data["installments"][:2] == [
            {"number": 1, "due": "2026-12-01", "amount_minor": 50000, "paid_minor": 50000, "status": "paid",
             "days_overdue": 0},
            {"number": 2, "due": "2027-01-01", "amount_minor": 50000, "paid_minor": 30000, "status": "overdue",
             "days_overdue": 7},
        ]
        assert [(f["installment"], f["amount_minor"]) for f in data["fees"]] == [(2, 2500)]
        assert "25.00 USD once 6 days overdue" in data["fees"][0]["reason"]
        assert [(r["installment"], r["kind"], r["date"]) for r in data["reminders"]] == [(2, "overdue", "2027-01-08")]

    def test_paid_in_full(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Everything paid on time: paid in full, balance zero, no fees, no reminders."""
        csv = payments(tmp_path, "2026-12-01,2000.00\n")
        code, out, _ = run(capsys, "status", plan_file, "--payments", csv, "--as-of", "2027-03-02", "--format", "json")
        data = json.loads(out)
        assert (code, data["balance_minor"], data["paid_in_full"], data["status"]) == (0, 0, True, "paid_in_full")
        assert data["fees"] == []
        assert data["reminders"] == []

    def test_without_payments_file(self, plan_file: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --payments, nothing is paid: the table shows the deposit overdue."""
        code, out, _ = run(capsys, "status", plan_file, "--as-of", "2026-12-03")
        assert code == 0
        assert "overdue, balance $2,000.00" in out
        assert "overdue (2 days)" in out

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("date,amount\n2026-12-01,5x\n", "line 2: expected the amount as digits with an optional decimal point (e.g. 500.00), got '5x'"),
            ("2026-12-01,500\n2026-13-01,5\n", "line 2: expected a date as YYYY-MM-DD, got '2026-13-01'"),
            ("2026-12-01\n", "line 1: expected 2 or 3 columns"),
            ("2026-12-01,-5\n", "line 1: expected an amount above zero"),
            ("2026-12-01,5.001\n", "line 1: expected the amount with at most 2 decimals, got '5.001'"),
            ("2026-12-01,5,ref\n2026-12-02,6,ref\n", "the reference 'ref' (6.00 USD on 2026-12-02) is already used on line 1 (5.00 USD on 2026-12-01)"),
            ("date,amt\n", "line 1: expected the header date,amount[,reference]"),
        ],
    )
    def test_malformed_payments_exit_2(
        self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
    ) -> None:
        """A malformed payments file names the line and the problem and exits 2."""
        csv = payments(tmp_path, text)
        code, out, err = run(capsys, "status", plan_file, "--payments", csv, "--as-of", "2027-01-08")
        assert code == 2
        assert out == ""
        assert message in err
        assert len(err.strip().splitlines()) == 1

    def test_missing_files_exit_2(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A missing plan or payments file exits 2 with one line."""
        code, _, err = run(capsys, "status", str(tmp_path / "nope.json"), "--as-of", "2027-01-08")
        assert code == 2
        assert "cannot read plan file" in err
        code, _, err = run(capsys, "status", plan_file, "--payments", str(tmp_path / "x.csv"), "--as-of", "2027-01-08")
        assert code == 2
        assert "cannot read payments file" in err


class TestCancel:
    def test_settlement_json(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a cancellation policy, what was paid comes back less the late fees."""
        csv = payments(tmp_path, "2026-12-01,500.00\n2027-01-03,300\n")
        code, out, _ = run(capsys, "cancel", plan_file, "--payments", csv, "--on", "2027-01-20", "--format", "json")
        assert code == 0
        data = json.loads(out)
        assert (data["paid_minor"], data["retained_minor"], data["refund_minor"], data["balance_minor"]) == (
            80000, 0, 77500, 0,
        )
        assert [(e["kind"], e["amount_minor"]) for e in data["entries"]] == [("cancellation", 0), ("refund", 77500)]

    def test_settlement_table(self, plan_file: str, capsys: pytest.CaptureFixture[str]) -> None:
        """The table prints the rule and the amounts."""
        code, out, _ = run(capsys, "cancel", plan_file, "--on", "2026-12-01", "--as-credit")
        assert code == 0
        assert "135 days before the session" in out
        assert "refund:     $0.00" in out


CATALOG = """
[catalog]
currency = "USD"

[terms]
deposit = { percent = "25", minimum = "500.00" }
cadence = "monthly"
grace_days = 5
late_fee_steps = [ { days = 1, amount = "25.00" }, { days = 15, percent = "5%" } ]
late_fee_cap = "40.00"

[terms.cancellation]
windows = [ { within_days = 30, retain = "50%" }, { within_days = 7, retain = "100%" } ]

[[tier]]
name = "Pack A"
fee = "2000.00"
installments = [3]
"""


class TestWithCatalogPolicies:
    def test_ladder_and_cancellation_from_the_catalog(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A catalog's ladder, cap and cancellation windows drive status and cancel."""
        catalog = tmp_path / "catalog.toml"
        catalog.write_text(CATALOG, encoding="utf-8")
        plan = tmp_path / "plan.json"
        code, _, _ = run(
            capsys, "quote", "--catalog", str(catalog), "--tier", "Pack A", "--booked", "2026-12-01",
            "--session", "2027-04-15", "--plan-id", "cat-a", "--save", str(plan),
        )
        assert code == 0
        csv = payments(tmp_path, "2026-12-01,500\n2027-01-01,500\n2027-02-01,500\n")
        code, out, _ = run(capsys, "status", str(plan), "--payments", csv, "--as-of", "2027-03-20", "--format", "json")
        data = json.loads(out)
        assert [(f["installment"], f["amount_minor"]) for f in data["fees"]] == [(4, 2500), (4, 1500)]
        code, out, _ = run(capsys, "cancel", str(plan), "--payments", csv, "--on", "2027-03-20", "--format", "json")
        data = json.loads(out)
        assert (data["notice_days"], data["retained_minor"], data["refund_minor"]) == (26, 100000, 46000)
