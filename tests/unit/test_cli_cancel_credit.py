"""Issue #11 item 7 (CLI): `cancel --on` after the session, and `status` on an overpaid plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unit.test_cli_status import run

CATALOG = """
[catalog]
currency = "USD"

[terms]
deposit = { percent = "25", minimum = "500.00" }
cadence = "monthly"

[terms.cancellation]
windows = [ { within_days = 30, retain = "50%" }, { within_days = 7, retain = "100%" } ]
no_show_fee = "100.00"

[[tier]]
name = "Pack A"
fee = "2000.00"
installments = [3]
"""


@pytest.fixture
def plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Pack A from a catalog with cancellation windows and a no-show fee; session 2027-04-15."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    path = tmp_path / "plan.json"
    code, _, err = run(capsys, "quote", "--catalog", str(catalog), "--tier", "Pack A", "--booked", "2026-12-01",
                       "--session", "2027-04-15", "--plan-id", "pack-a", "--save", str(path))
    assert code == 0, err
    return str(path)


def paid_in_full(tmp_path: Path) -> str:
    path = tmp_path / "payments.csv"
    path.write_text("2026-12-01,500\n2027-01-01,500\n2027-02-01,500\n2027-03-01,500\n", encoding="utf-8")
    return str(path)


class TestCancelAfterTheSession:
    @pytest.mark.parametrize("on", ["2027-04-16", "2027-06-01"])
    def test_refused_without_no_show(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], on: str) -> None:
        """A cancellation dated after the session is refused with one line naming the session and --no-show."""
        code, out, err = run(capsys, "cancel", plan_file, "--payments", paid_in_full(tmp_path), "--on", on)
        assert code == 2
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert f"the session was on 2027-04-15, before the cancellation date {on}" in err
        assert "pass --no-show" in err

    def test_no_show_under_the_policy(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """With --no-show it is settled as a no-show: the 100% window and the no-show fee, no refund."""
        code, out, err = run(capsys, "cancel", plan_file, "--payments", paid_in_full(tmp_path), "--on", "2027-04-20",
                             "--no-show", "--format", "json")
        assert code == 0, err
        data = json.loads(out)
        assert data["refund_minor"] == 0
        assert data["credit_minor"] == 0
        assert data["retained_minor"] >= 200000

    def test_on_the_session_day_is_still_a_cancellation(
        self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The session day itself is inside the last window (0 days' notice), as before."""
        code, out, _ = run(capsys, "cancel", plan_file, "--payments", paid_in_full(tmp_path), "--on", "2027-04-15",
                           "--format", "json")
        assert code == 0
        assert json.loads(out)["refund_minor"] == 0


class TestStatusOverpaid:
    def overpaid(self, tmp_path: Path) -> str:
        path = tmp_path / "payments.csv"
        path.write_text("2026-12-01,500\n2027-01-01,1600\n", encoding="utf-8")
        return str(path)

    def test_json(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """JSON gains overpaid and credit_minor (added keys; balance_minor is still negative)."""
        code, out, _ = run(capsys, "status", plan_file, "--payments", self.overpaid(tmp_path), "--as-of", "2027-01-02",
                           "--format", "json")
        assert code == 0
        data = json.loads(out)
        assert data["overpaid"] is True
        assert data["credit_minor"] == 10000
        assert data["balance_minor"] == -10000
        assert data["paid_in_full"] is True

    def test_text(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The table says the plan is overpaid and shows the client's credit."""
        code, out, _ = run(capsys, "status", plan_file, "--payments", self.overpaid(tmp_path), "--as-of", "2027-01-02")
        assert code == 0
        assert "Overpaid: the client has $100.00 in credit" in out

    def test_not_overpaid(self, plan_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Exactly paid: overpaid is false, credit 0, and the text says nothing about credit."""
        code, out, _ = run(capsys, "status", plan_file, "--payments", paid_in_full(tmp_path), "--as-of", "2027-03-02",
                           "--format", "json")
        assert code == 0
        data = json.loads(out)
        assert (data["overpaid"], data["credit_minor"]) == (False, 0)
        code, out, _ = run(capsys, "status", plan_file, "--payments", paid_in_full(tmp_path), "--as-of", "2027-03-02")
        assert code == 0
        assert "Overpaid" not in out
