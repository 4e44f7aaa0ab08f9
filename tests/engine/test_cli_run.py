"""`payplan import` and `payplan run` on a real SQLite store, in-process and as a process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from payplan.cli import main

pytest.importorskip("sqlalchemy", reason="the SQL store needs payplan[store]")

PACK_A = ["quote", "--fee", "2000.00", "--currency", "USD", "--deposit", "25%", "--deposit-min", "500.00",
          "--installments", "3", "--cadence", "monthly", "--booked", "2026-12-01", "--session", "2027-04-15",
          "--plan-id", "pack-a", "--grace-days", "5", "--late-fee", "25.00"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 'payplan.db'}"
    code, _, err = run(capsys, "db", "upgrade", "--db", url)
    assert code == 0, err
    return url


@pytest.fixture
def files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, str]:
    plan = tmp_path / "plan.json"
    assert run(capsys, *PACK_A, "--save", str(plan))[0] == 0
    payments = tmp_path / "payments.csv"
    payments.write_text("date,amount,reference\n2026-12-01,500.00,dep-1\n", encoding="utf-8")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("client,name,email\npack-a,Ada Lovelace,ada@example.com\n", encoding="utf-8")
    return str(plan), str(payments), str(contacts)


class TestImport:
    def test_import_twice_changes_nothing(self, db: str, files: tuple[str, str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
        plan, payments, _ = files
        code, out, _ = run(capsys, "import", "--db", db, plan, "--payments", payments)
        assert (code, out) == (0, "imported plan pack-a with 1 payments\n")
        code, out, _ = run(capsys, "import", "--db", db, plan, "--payments", payments)
        assert (code, out) == (0, "plan pack-a already stored; 0 new payments recorded\n")
        from payplan.store import open_store

        store = open_store(db)
        try:
            assert [e.id for e in store.load("pack-a").ledger] == ["dep-1"]
        finally:
            store.close()

    def test_a_different_plan_under_the_same_id_is_refused(self, db: str, files: tuple[str, str, str],
                                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        plan, _, _ = files
        assert run(capsys, "import", "--db", db, plan)[0] == 0
        other = tmp_path / "other.json"
        args = [a if a != "2000.00" else "3000.00" for a in PACK_A]
        assert run(capsys, *args, "--save", str(other))[0] == 0
        code, _, err = run(capsys, "import", "--db", db, str(other))
        assert code == 2
        assert "expected plan pack-a as stored" in err

    def test_a_missing_plan_file_is_exit_2(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "import", "--db", db, "/nonexistent/plan.json")
        assert code == 2
        assert "cannot read plan file" in err


class TestRun:
    def test_dry_run_then_run_then_again(self, db: str, files: tuple[str, str, str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
        plan, payments, contacts = files
        assert run(capsys, "import", "--db", db, plan, "--payments", payments)[0] == 0
        code, out, err = run(capsys, "run", "--db", db, "--as-of", "2027-01-07", "--dry-run", "--contacts", contacts)
        assert code == 0, err
        assert "Dry run for 2027-01-07: nothing was written, charged or sent." in out
        assert "pack-a: fee: late fee 25.00 USD on installment 2" in out
        code, out, err = run(capsys, "run", "--db", db, "--as-of", "2027-01-07", "--contacts", contacts,
                             "--format", "json")
        assert code == 0, err
        first = json.loads(out)
        assert (first["plans_seen"], first["late_fees_recorded"]) == (1, 1)
        code, out, _ = run(capsys, "run", "--db", db, "--as-of", "2027-01-07", "--format", "json")
        assert json.loads(out)["late_fees_recorded"] == 0

    def test_a_fee_the_run_does_not_charge_is_held_with_why(self, db: str, files: tuple[str, str, str],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
        """A late fee on a plan no provider charges: "late fees held" in the table, the reason in the dry run."""
        plan, payments, _ = files
        assert run(capsys, "import", "--db", db, plan, "--payments", payments)[0] == 0
        code, out, err = run(capsys, "run", "--db", db, "--as-of", "2027-01-07", "--dry-run")
        assert code == 0, err
        assert ("pack-a: held: late fee 25.00 USD (pack-a:late-fee:2:1): no provider binding: "
                "collect it another way and record the payment") in out
        code, out, err = run(capsys, "run", "--db", db, "--as-of", "2027-01-07")
        assert code == 0, err
        (row,) = [line for line in out.splitlines() if "late fees held" in line]
        assert row.split()[-1] == "1"
        code, out, _ = run(capsys, "run", "--db", db, "--as-of", "2027-01-08", "--format", "json")
        assert json.loads(out)["late_fees_held"] == 1

    def test_a_reminder_with_no_notifier_fails_the_plan_by_name_exit_1(
        self, db: str, files: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        plan, payments, contacts = files
        assert run(capsys, "import", "--db", db, plan, "--payments", payments)[0] == 0
        code, out, err = run(capsys, "run", "--db", db, "--as-of", "2026-12-25", "--contacts", contacts)
        assert code == 1
        assert "payplan: plan pack-a failed: expected a notifier" in err
        assert "plans failed" in out

    @pytest.mark.parametrize(("args", "match"), [
        (["--as-of", "2027-13-01"], "expected a date as YYYY-MM-DD"),
        (["--as-of", "2027-01-01", "--shard", "2/2"], "expected a shard K/N with 0 <= K < N"),
        (["--as-of", "2027-01-01", "--smtp", "localhost"], "HOST:PORT"),
        (["--as-of", "2027-01-01", "--setup", "nomodule"], "MODULE:FUNCTION"),
    ])
    def test_bad_input_is_exit_2(self, db: str, args: list[str], match: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "run", "--db", db, *args)
        assert code == 2
        assert match in err

    def test_plain_lines_when_not_a_terminal(self, db: str, files: tuple[str, str, str]) -> None:
        plan, _, _ = files
        subprocess.run([sys.executable, "-m", "payplan", "import", "--db", db, plan], check=True, capture_output=True)
        done = subprocess.run([sys.executable, "-m", "payplan", "run", "--db", db, "--as-of", "2026-12-02"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stderr == "1 plans done\n"
        assert "plans seen" in done.stdout

    def test_a_progress_bar_on_a_terminal(self, db: str, files: tuple[str, str, str]) -> None:
        """On a terminal (a pty as stderr) `payplan run` draws tqdm's bar; the summary table still goes to stdout."""
        import fcntl
        import os
        import pty
        import struct
        import termios

        plan, _, _ = files
        subprocess.run([sys.executable, "-m", "payplan", "import", "--db", db, plan], check=True, capture_output=True)
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
        try:
            done = subprocess.run(
                [sys.executable, "-m", "payplan", "run", "--db", db, "--as-of", "2026-12-02"],
                stdout=subprocess.PIPE, stderr=follower, text=True, timeout=120,
            )
            os.close(follower)
            follower = -1
            drawn = b""
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the pty's other end is closed: all read
                    break
                if not chunk:
                    break
                drawn += chunk
        finally:
            if follower != -1:
                os.close(follower)
            os.close(leader)
        assert done.returncode == 0
        screen = drawn.decode("utf-8", "replace")
        assert "\r" in screen  # redrawn in place, as a bar is
        assert "plans: 100%" in screen
        assert "1/1" in screen
        assert "plans done" not in screen  # no plain lines on a terminal
        assert "plans seen" in done.stdout

    def test_dry_run_changes_nothing_in_the_store(self, db: str, files: tuple[str, str, str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
        """--dry-run on a day with a fee, a charge and a reminder due: every table keeps its rows."""
        from payplan.store.sql import SQLStore

        plan, payments, contacts = files
        assert run(capsys, "import", "--db", db, plan, "--payments", payments)[0] == 0
        store = SQLStore.open(db)
        try:
            before = (store.table_sizes(), store.load("pack-a"), store.reminders("pack-a"), store.operations())
            code, out, _ = run(capsys, "run", "--db", db, "--as-of", "2027-01-07", "--dry-run", "--contacts", contacts,
                               "--claim")
            assert code == 0
            assert "pack-a: fee:" in out
            after = (store.table_sizes(), store.load("pack-a"), store.reminders("pack-a"), store.operations())
            assert after == before
        finally:
            store.close()

    def test_claims_from_the_command_line(self, db: str, files: tuple[str, str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """`--claim`: a second worker on the same date finds every plan taken; a bad lease is exit 2."""
        plan, payments, _ = files
        assert run(capsys, "import", "--db", db, plan, "--payments", payments)[0] == 0
        code, out, _ = run(capsys, "run", "--db", db, "--as-of", "2026-12-02", "--claim", "--worker", "w1",
                           "--format", "json")
        assert (code, json.loads(out)["plans_seen"]) == (0, 1)
        code, out, _ = run(capsys, "run", "--db", db, "--as-of", "2026-12-02", "--claim", "--format", "json")
        assert (code, json.loads(out)["plans_seen"]) == (0, 0)
        code, _, err = run(capsys, "run", "--db", db, "--as-of", "2026-12-02", "--claim", "--lease", "-5")
        assert code == 2
        assert "expected a lease in seconds" in err
