"""Issue #16 item 6: every CSV payplan writes is safe to open in a spreadsheet; iCalendar text has no control characters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import payplan
from payplan import Money
from payplan._reports import csv_text, safe_cell
from payplan.cli import main

EVIL = "=cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def a_plan(plan_id: str = EVIL, client: str | None = "@SUM(1+1)*cmd|' /C calc'!A0", tier: str | None = "+tier") -> payplan.PaymentPlan:
    terms = payplan.Terms(deposit=payplan.DepositRule.percent("25"), installments=2)
    return payplan.PaymentPlan.with_deposit(
        plan_id, Money.of("1000.00", "USD"), booked=dt.date(2026, 1, 5), session=dt.date(2026, 6, 1), terms=terms,
        client=client, tier=tier,
    )


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def plain_number(cell: str) -> bool:
    body = cell[1:] if cell.startswith("-") else cell
    return body.replace(".", "", 1).isdigit() and body.isascii()


def assert_safe(text: str) -> None:
    for cell in cells(text):
        assert not cell.startswith(FORMULA_START) or plain_number(cell), cell


class TestCsvExports:
    def book(self) -> list[tuple[payplan.PaymentPlan, payplan.Ledger]]:
        plan = a_plan()
        ledger = payplan.Ledger.empty(plan).record_all([
            payplan.PaymentReceived("p", dt.date(2026, 1, 5), Money.of("250.00", "USD"), reference="-2+3"),
            payplan.Refund.reversal("r", dt.date(2026, 1, 6), Money.of("50.00", "USD"), reference="@ref"),
        ])
        return [(plan, ledger)]

    @pytest.mark.parametrize(
        "export",
        [
            lambda b: payplan.tracking_csv(b, dt.date(2026, 3, 1)),
            lambda b: payplan.quickbooks_invoices_csv(b),
            lambda b: payplan.quickbooks_payments_csv(b),
        ],
    )
    def test_no_live_formula(self, export: object) -> None:
        """A plan id, client or tier written as a formula is a text cell (leading apostrophe) in every export."""
        text = export(self.book())  # type: ignore[operator]
        assert_safe(text)

    def test_tracking_csv_cells(self) -> None:
        """The formula-like cells keep their text after the apostrophe; amounts stay plain numbers."""
        got = cells(payplan.tracking_csv(self.book(), dt.date(2026, 3, 1)))
        assert "'" + EVIL in got
        assert "'@SUM(1+1)*cmd|' /C calc'!A0" in got
        assert "'+tier" in got
        assert "250.00" in got

    def test_negative_amounts_stay_numbers(self) -> None:
        """A refund is written -50.00, not '-50.00: accounting software reads it as a number."""
        got = cells(payplan.quickbooks_payments_csv(self.book()))
        assert "-50.00" in got
        assert "'-50.00" not in got

    def test_quote_csv(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`payplan quote --format csv` goes through the same writer."""
        argv = ["quote", "--fee", "1000", "--installments", "2", "--booked", "2026-01-05", "--session", "2026-06-01",
                "--format", "csv"]
        assert main(argv) == 0
        assert_safe(capsys.readouterr().out)

    @given(st.lists(st.lists(st.text(max_size=12) | st.integers() | st.decimals(allow_nan=False, places=2), max_size=5), max_size=5))
    def test_any_cell_is_neutralised(self, rows: list[list[object]]) -> None:
        """Property: whatever the cells, none read back starts a formula unless it is a plain number, and the text survives."""
        text = csv_text(["a"], rows)
        assert_safe(text)
        back = [list(r) for r in csv.reader(io.StringIO(text, newline=""))][1:]
        for written, read in zip(rows, back, strict=True):
            for value, cell in zip(written, read, strict=True):
                assert cell in (str(value), "'" + str(value))

    @pytest.mark.parametrize(("value", "expected"), [("-12.50", "-12.50"), ("-1+1", "'-1+1"), ("\t=1", "'\t=1"), (-5, -5), ("", "")])
    def test_safe_cell(self, value: object, expected: object) -> None:
        """Plain numbers pass; formula starts get an apostrophe."""
        assert safe_cell(value) == expected


class TestIcsText:
    def test_control_characters_dropped(self) -> None:
        """NUL and ESC in a tier or calendar name never reach the feed (RFC 5545 TEXT holds no controls)."""
        pytest.importorskip("icalendar")
        plan = a_plan(plan_id="p-1", tier="Pack\x00A\x1b[31m")
        data = payplan.ics_feed([plan], name="Studio\x1b\x00 payments")
        assert b"\x00" not in data
        assert b"\x1b" not in data
        assert b"PackA[31m" in data
        assert b"Studio payments" in data

    def test_due_on_the_last_day(self) -> None:
        """A due date of 9999-12-31 is an all-day event without DTEND, not an OverflowError."""
        pytest.importorskip("icalendar")
        plan = payplan.PaymentPlan.custom(
            "p-end", [(dt.date(9999, 12, 31), Money.of("10", "USD"))], booked=dt.date(9999, 12, 1),
            session=dt.date(9999, 12, 31),
        )
        data = payplan.ics_feed([plan])
        assert b"DTSTART;VALUE=DATE:99991231" in data
        assert b"DTEND" not in data


def test_docs_say_so() -> None:
    """docs/reports.md states the CSV neutralisation."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text(encoding="utf-8")
    assert "formula" in text
    assert "apostrophe" in text


def test_json_untouched(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON output is data, not a spreadsheet: it is never prefixed."""
    argv = ["quote", "--fee", "1000", "--booked", "2026-01-05", "--session", "2026-06-01", "--plan-id", "=x",
            "--format", "json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["plan_id"] == "=x"
