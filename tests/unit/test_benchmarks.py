"""The benchmark baselines compute the very schedules payplan computes, so every row compares like with like."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import schedule
from benchmarks._harness import Row, Settings, markdown_table, text_table

from payplan import Cadence


class TestScheduleBaselines:
    @pytest.mark.parametrize(("cadence", "count"), schedule.CASES)
    def test_hand_written_and_floor_match_payplan(self, cadence: Cadence, count: int) -> None:
        """Hand-written Decimal code and the integer floor give payplan's schedule line for line."""
        inputs = schedule.make_inputs(cadence, count, 300, seed=11)
        schedule.check_same(schedule.contenders(cadence, count, inputs))

    def test_check_same_notices_a_difference(self) -> None:
        """A contender that builds a different schedule is reported, not timed."""
        inputs = schedule.make_inputs(Cadence.MONTHLY, 3, 5)
        runs = schedule.contenders(Cadence.MONTHLY, 3, inputs)
        runs["floor"] = lambda: [schedule.floor(fee + 1, b, s, Cadence.MONTHLY, 3) for _, fee, b, s in inputs]
        with pytest.raises(AssertionError, match="floor differs"):
            schedule.check_same(runs)

    @pytest.mark.parametrize("count", schedule.PATH_COUNTS)
    def test_every_documented_path_builds_the_hand_written_schedule(self, count: int) -> None:
        """Tier.quote, keyword rules and prebuilt terms each give the hand-written schedule line for line."""
        inputs = schedule.make_inputs(Cadence.MONTHLY, count, 200, seed=12)
        schedule.check_same_paths(schedule.path_contenders(count, inputs))

    def test_check_same_paths_notices_a_difference(self) -> None:
        """A path that builds a different schedule is reported, not timed."""
        inputs = schedule.make_inputs(Cadence.MONTHLY, 3, 5)
        runs = schedule.path_contenders(3, inputs)
        runs["keywords"] = runs["quote"] = lambda: [  # one installment short
            schedule.PaymentPlan.with_deposit(pid, schedule.Money(fee, "USD"), booked=b, session=s,
                                              terms=schedule.terms_for(Cadence.MONTHLY, 2))
            for pid, fee, b, s in inputs
        ]
        with pytest.raises(AssertionError, match="differs from the hand-written"):
            schedule.check_same_paths(runs)

    def test_the_hand_written_quote_process_prints_payplan_quote_lines(self) -> None:
        """The process baseline answers the documented payplan quote command with the same lines."""
        commands = schedule.process_commands(24)
        lines = {name: schedule.process_lines(commands[name]) for name in ("payplan", "hand")}
        assert len(lines["payplan"]) == 25
        assert lines["hand"] == lines["payplan"]


class TestTable:
    def test_every_row_is_one_line_in_both_tables(self) -> None:
        """The terminal and Markdown tables have a header, a rule and one line per row."""
        rows = [
            Row("schedule", "case", 1500.0, "ns/plan", "floor", 1000.0, "1.50x the floor", "≤ 2.5x", True),
            Row("ledger", "missing", None, "", note="not built"),
        ]
        assert len(text_table(rows).splitlines()) == 4
        assert len(markdown_table(rows).splitlines()) == 4
        assert "MISSED" not in text_table(rows)

    def test_quick_settings_are_smaller(self) -> None:
        """Quick mode repeats less and picks the small input size."""
        quick, full = Settings.make(True), Settings.make(False)
        assert quick.repeats < full.repeats
        assert quick.size(100, 10) == 10
        assert full.size(100, 10) == 100

    def test_a_scaled_full_run_takes_a_fraction_of_the_full_sizes_never_below_quick(self) -> None:
        """``--scale 0.1``: a tenth of each full size, but never less than the quick size; out of (0, 1] refused."""
        from benchmarks.__main__ import main

        scaled = Settings.make(False, 0.1)
        assert scaled.size(100_000, 300) == 10_000
        assert scaled.size(1_000, 300) == 300
        assert scaled.repeats == Settings.make(False).repeats
        for bad in ("0", "1.5"):
            with pytest.raises(SystemExit):
                main(["--scale", bad, "--only", "ledger"])
