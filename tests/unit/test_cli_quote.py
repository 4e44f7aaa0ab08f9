"""`payplan quote`: the reference scenario, every format, and exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from payplan import REFERENCE_CATALOG_TOML, loads_plan
from payplan.cli import main

PACK_A = ["quote", "--fee", "2000.00", "--currency", "USD", "--deposit", "25%", "--deposit-min", "500.00",
          "--installments", "3", "--cadence", "monthly", "--booked", "2026-12-01", "--session", "2027-04-15",
          "--plan-id", "pack-a"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class TestQuote:
    def test_json_contract(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--format json prints the stable keys with Pack A's amounts and dates."""
        code, out, _ = run(capsys, *PACK_A, "--format", "json")
        assert code == 0
        data = json.loads(out)
        assert data["currency"] == "USD"
        assert data["total"] == "2000.00"
        assert data["total_minor"] == 200000
        assert [(i["number"], i["kind"], i["due"], i["amount"], i["amount_minor"]) for i in data["installments"]] == [
            (1, "deposit", "2026-12-01", "500.00", 50000),
            (2, "installment", "2027-01-01", "500.00", 50000),
            (3, "installment", "2027-02-01", "500.00", 50000),
            (4, "installment", "2027-03-01", "500.00", 50000),
        ]

    def test_table(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The table lists every line and the total."""
        code, out, _ = run(capsys, *PACK_A)
        assert code == 0
        assert "2027-03-01" in out
        assert "$2,000.00" in out.splitlines()[-1]

    def test_csv(self, capsys: pytest.CaptureFixture[str]) -> None:
        """CSV has a header and one row per line."""
        code, out, _ = run(capsys, *PACK_A, "--format", "csv")
        lines = out.strip().splitlines()
        assert code == 0
        assert lines[0] == "number,kind,due,amount,amount_minor,currency,label"
        assert lines[1] == "1,deposit,2026-12-01,500.00,50000,USD,"
        assert len(lines) == 5

    def test_zero_decimal_currency(self, capsys: pytest.CaptureFixture[str]) -> None:
        """JPY amounts print with no decimals."""
        code, out, _ = run(capsys, "quote", "--fee", "100000", "--currency", "JPY", "--deposit", "10000",
                           "--installments", "3", "--booked", "2026-12-01", "--session", "2027-04-15", "--format", "json")
        assert code == 0
        assert [i["amount"] for i in json.loads(out)["installments"]] == ["10000", "30000", "30000", "30000"]

    def test_save_writes_a_loadable_plan(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """--save writes plan JSON that loads back to the quoted plan."""
        target = tmp_path / "plan.json"
        code, _, _ = run(capsys, *PACK_A, "--save", str(target))
        assert code == 0
        plan = loads_plan(target.read_text())
        assert plan.id == "pack-a"
        assert plan.total.minor == 200000

    def test_catalog_tier(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """--catalog/--tier quotes a tier with its own terms."""
        cat = tmp_path / "c.toml"
        cat.write_text(REFERENCE_CATALOG_TOML)
        code, out, _ = run(capsys, "quote", "--catalog", str(cat), "--tier", "Session Pack B",
                           "--booked", "2026-12-01", "--session", "2027-04-15", "--format", "json")
        assert code == 0
        assert json.loads(out)["total_minor"] == 300000

    def test_apr_and_remainder(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--apr adds a finance charge; --remainder last moves the odd cent."""
        code, out, _ = run(capsys, "quote", "--fee", "1000", "--installments", "3", "--remainder", "last",
                           "--booked", "2026-01-01", "--session", "2026-12-01", "--format", "json")
        assert code == 0
        assert [i["amount_minor"] for i in json.loads(out)["installments"]] == [33333, 33333, 33334]
        code, out, _ = run(capsys, *PACK_A, "--apr", "12", "--format", "json")
        assert code == 0
        assert json.loads(out)["total_minor"] == 203010


class TestBadInput:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"--fee": "0"}, "fee above zero"),
            ({"--fee": "-5"}, "fee above zero"),
            ({"--fee": "12,00"}, "digits with an optional decimal point"),
            ({"--fee": "2000.001"}, "at most 2 decimal"),
            ({"--currency": "ABC"}, "ISO 4217"),
            ({"--deposit": "2500.00"}, "goes with a percentage --deposit"),
            ({"--booked": "2026-02-30"}, "YYYY-MM-DD"),
            ({"--installments": "three"}, "whole number"),
            ({"--installments": "9"}, "latest possible due date 2027-04-15"),
            ({"--cadence": "daily"}, "expected a cadence"),
            ({"--session": "2026-11-01"}, "session on or after the booking"),
        ],
    )
    def test_exit_2_with_one_line(self, capsys: pytest.CaptureFixture[str], change: dict[str, str], message: str) -> None:
        """Bad input exits 2 with a single line naming the problem, never a traceback."""
        args = list(PACK_A)
        for flag, value in change.items():
            args[args.index(flag) + 1] = value
        code, out, err = run(capsys, *args)
        assert code == 2
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert message in err
        assert "Traceback" not in err

    def test_deposit_above_fee(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A fixed deposit above the fee exits 2 naming both amounts."""
        code, _, err = run(capsys, "quote", "--fee", "2000", "--deposit", "2500.00", "--installments", "3",
                           "--booked", "2026-12-01", "--session", "2027-04-15")
        assert code == 2
        assert "deposit 2500.00 USD is above the fee 2000.00 USD" in err

    def test_missing_required_option(self, capsys: pytest.CaptureFixture[str]) -> None:
        """argparse errors are one line and exit 2 as well."""
        code, _, err = run(capsys, "quote", "--fee", "100")
        assert code == 2
        assert len(err.strip().splitlines()) == 1
        assert "--booked" in err

    def test_console_script_exits_2(self) -> None:
        """The installed module entry point exits 2 on bad input."""
        proc = subprocess.run(
            [sys.executable, "-m", "payplan", "quote", "--fee", "abc", "--booked", "2026-01-01", "--session", "2026-02-01"],
            capture_output=True, text=True, check=False,
        )
        assert proc.returncode == 2
        assert proc.stderr.startswith("payplan: error:")
