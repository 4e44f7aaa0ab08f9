"""`payplan check`: the findings of a saved plan where it is sold, and the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payplan.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def saved(tmp_path: Path, capsys: pytest.CaptureFixture[str], count: str, *extra: str, currency: str = "GBP") -> str:
    path = tmp_path / f"plan-{count}.json"
    code, _, err = run(
        capsys, "quote", "--fee", "1300.00", "--currency", currency, "--deposit", "100.00", "--installments", count,
        "--cadence", "biweekly", "--booked", "2027-01-04", "--session", "2028-01-01", "--plan-id", f"p{count}",
        *extra, "--save", str(path),
    )
    assert code == 0, err
    return str(path)


class TestCheckCommand:
    def test_twelve_pass_thirteen_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """In GB, 12 installments after the deposit exit 0; 13 exit 1 with UK-1 in the table."""
        code, out, _ = run(capsys, "check", saved(tmp_path, capsys, "12"), "--where", "GB")
        assert code == 0
        assert "UK-1" not in out
        assert "not refused" in out
        code, out, _ = run(capsys, "check", saved(tmp_path, capsys, "13"), "--where", "GB")
        assert code == 1
        assert "UK-1@1" in out
        assert "refuse" in out
        assert "the-fca.org.uk" in out

    def test_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--format json lists each finding with its rule, version, severity, value, threshold and source."""
        code, out, _ = run(capsys, "check", saved(tmp_path, capsys, "13"), "--where", "gb", "--format", "json")
        data = json.loads(out)
        assert code == 1
        assert data["refused"] is True
        assert data["where"] == "GB"
        (uk1,) = [f for f in data["findings"] if f["rule"] == "UK-1"]
        assert (uk1["version"], uk1["severity"], uk1["value"], uk1["threshold"]) == (1, "refuse", "13", "12")
        assert uk1["source"].startswith("https://")

    def test_facts_as_flags(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The facts payplan cannot derive come as flags: licensed, a business client, the exemption."""
        plan = saved(tmp_path, capsys, "13")
        assert run(capsys, "check", plan, "--where", "GB", "--credit-licensed")[0] == 0
        assert run(capsys, "check", plan, "--where", "GB", "--business-client")[0] == 0
        code, out, _ = run(capsys, "check", plan, "--where", "GB", "--business-client", "--format", "json")
        assert not [f for f in json.loads(out)["findings"] if f["rule"].startswith("UK")]
        code, out, _ = run(
            capsys, "check", saved(tmp_path, capsys, "3"), "--where", "GB", "--leisure-exemption", "a gig on 1 May",
            "--format", "json",
        )
        assert code == 0
        assert [f["outcome"] for f in json.loads(out)["findings"] if f["rule"] == "UK-3"] == ["exemption_claimed"]

    def test_us_layaway(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """In the US, five installments warn (exit 0), and --client-may-stop turns it into US-2's disclosure."""
        plan = saved(tmp_path, capsys, "5", currency="USD")
        code, out, _ = run(capsys, "check", plan, "--where", "US-CA", "--format", "json")
        assert code == 0
        assert [f["severity"] for f in json.loads(out)["findings"] if f["rule"] == "US-1"] == ["warn"]
        code, out, _ = run(capsys, "check", plan, "--where", "US-CA", "--client-may-stop", "--format", "json")
        rules = [f["rule"] for f in json.loads(out)["findings"]]
        assert "US-1" not in rules
        assert "US-2" in rules

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--where", "XX"], "ISO 3166"),
            (["--where", "US-ZZ"], "subdivision"),
            (["--where", "GB", "--card-currency", "ZZZ"], "ZZZ"),
            (["--where", "GB", "--leisure-exemption", " "], "leisure-on-a-date"),
            (["--where", "GB", "--contract", "online"], "invalid choice"),
            ([], "--where"),
        ],
    )
    def test_bad_input_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
        """Bad input exits 2 with one line naming what was wrong."""
        code, out, err = run(capsys, "check", saved(tmp_path, capsys, "3"), *args)
        assert code == 2
        assert out == ""
        assert message in err
        assert err.count("\n") == 1

    def test_missing_plan_file_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A plan file that is not there exits 2."""
        code, _, err = run(capsys, "check", str(tmp_path / "nope.json"), "--where", "GB")
        assert code == 2
        assert "cannot read plan file" in err


class TestWhereInOtherCommands:
    def test_agreement_states_the_notices(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan agreement --where GB` states the 14-day right; without --where it does not."""
        plan = saved(tmp_path, capsys, "3")
        code, out, _ = run(capsys, "agreement", plan, "--where", "GB")
        assert code == 0
        assert "## Your rights and notices" in out
        assert "within 14 days" in out
        code, out, _ = run(capsys, "agreement", plan)
        assert code == 0
        assert "Your rights and notices" not in out

    def test_cancel_inside_the_withdrawal_period(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan cancel --where GB` on day 14 refunds the deposit the policy would keep; on day 15 it is kept."""
        plan = tmp_path / "plan.json"
        code, _, err = run(
            capsys, "quote", "--fee", "1300.00", "--currency", "GBP", "--deposit", "100.00", "--installments", "3",
            "--booked", "2027-01-04", "--session", "2027-09-01", "--plan-id", "w", "--save", str(plan),
        )
        assert code == 0, err
        # the deposit is non-refundable under a policy: add one to the saved plan
        from attrs import evolve

        from payplan import CancellationPolicy, dumps_plan, loads_plan

        p = loads_plan(plan.read_text())
        p = evolve(p, terms=evolve(p.terms, cancellation=CancellationPolicy(deposit_refundable=False)))
        plan.write_text(dumps_plan(p))
        pays = tmp_path / "pay.csv"
        pays.write_text("2027-01-04,100.00\n")
        args = ["cancel", str(plan), "--payments", str(pays), "--format", "json", "--where", "GB"]
        code, out, _ = run(capsys, *args, "--on", "2027-01-18")
        assert code == 0
        assert json.loads(out)["refund_minor"] == 10000
        code, out, _ = run(capsys, *args, "--on", "2027-01-19")
        assert json.loads(out)["retained_minor"] == 10000
        code, out, _ = run(capsys, *args, "--on", "2027-01-18", "--started-on-request", "--provided", "40.00")
        assert json.loads(out)["retained_minor"] == 4000
        code, _, err = run(capsys, *args, "--on", "2027-01-18", "--started-on-request", "--provided", "4e1")
        assert code == 2
        assert "--provided" in err
