"""``payplan demo``: the whole story on the sandbox provider, offline and repeatable."""

from __future__ import annotations

import pytest

from payplan.cli import main


@pytest.fixture(scope="module")
def demo_output() -> str:
    """The demo's output, captured once."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["demo"]) == 0
    return buffer.getvalue()


class TestDemo:
    """The demo tells every step of the story the issue lists, in order."""

    def test_steps_in_order(self, demo_output: str) -> None:
        """Catalog, booking, deposit, decline, reminder, late fee, payment, amendment, paid in full, statement appear in order."""
        marks = [
            "1. The catalog",
            "Session Pack A: $2,000.00",
            "installment 1: payment received: $500.00",
            "installment 2: payment FAILED (card_declined)",
            "reminder e-mailed (overdue)",
            "late fee assessed after the 3-day grace: $25.00",
            "retry of installment 2 (attempt 2, a new idempotency key): succeeded",
            "Balance re-split into 4 payment(s)",
            "status paid in full",
            "deliverables: RELEASED",
            "Statement",
        ]
        positions = [demo_output.find(m) for m in marks]
        assert all(p >= 0 for p in positions), [m for m, p in zip(marks, positions, strict=True) if p < 0]
        assert positions == sorted(positions)

    def test_money_adds_up(self, demo_output: str) -> None:
        """The final portal shows $2,025.00 paid (fee included) and a zero balance."""
        assert "paid $2,025.00, balance $0.00" in demo_output

    def test_repeatable(self, demo_output: str, capsys: pytest.CaptureFixture[str]) -> None:
        """A second run prints exactly the same story (no clock, no randomness)."""
        assert main(["demo"]) == 0
        assert capsys.readouterr().out == demo_output
