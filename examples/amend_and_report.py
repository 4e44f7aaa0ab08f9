"""A plan that changes, the documents that match it, and the numbers across many plans.

Run: python examples/amend_and_report.py [OUTPUT_DIR]

Books Session Pack A, records the deposit, gives the client more time on one
payment, then an upgrade; prints the agreement (with its amendment history)
and a statement, and writes a small book's aging, forecast, tracking CSV,
QuickBooks CSVs and an iCalendar feed into OUTPUT_DIR (a temporary folder by
default). No network, no clock: every date is given.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from payplan import (
    ChangeTier,
    DepositRule,
    ExtendDueDate,
    LateFeePolicy,
    Ledger,
    Money,
    Parties,
    PaymentPlan,
    PaymentReceived,
    PayplanError,
    PlanHistory,
    Terms,
    aging,
    dumps_history,
    forecast,
    ics_feed,
    quickbooks_invoices_csv,
    quickbooks_payments_csv,
    render_agreement,
    render_statement,
    tracking_csv,
)


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def main(out: Path) -> None:
    terms = Terms(
        deposit=DepositRule.percent_or_minimum(25, usd("500")),
        installments=3,
        final_due_days_before=14,
        late_fees=LateFeePolicy.single(usd("25"), grace_days=5),
    )
    plan = PaymentPlan.with_deposit(
        "pack-a-0042", usd("2000"), terms=terms, tier="Session Pack A", client="jane",
        booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15),
    )
    ledger = Ledger.empty(plan).record(PaymentReceived("ch_1", dt.date(2026, 12, 1), usd("500"), "card"))

    # The client asks for two more weeks on January's payment, then upgrades.
    history = PlanHistory.start(plan)
    history = history.apply(
        ExtendDueDate(2, dt.date(2027, 1, 15)), paid=ledger,
        by="Sam (studio)", reason="client travelling", on=dt.date(2026, 12, 20),
    )
    history = history.apply(
        ChangeTier("Session Pack B", usd("3000")), paid=ledger, consent=True,
        by="Sam (studio)", reason="upgrade to Pack B", on=dt.date(2026, 12, 28),
    )
    current = history.current
    ledger = ledger.for_plan(current).record(PaymentReceived("ch_2", dt.date(2027, 1, 15), usd("833.34"), "card"))

    parties = Parties("Studio North", "Jane Doe")
    print(render_agreement(current, format="txt", parties=parties, history=history.records))
    print(render_statement(current, ledger, dt.date(2027, 2, 10), format="txt", parties=parties))
    (out / "history.json").write_text(dumps_history(history), encoding="utf-8")

    # A second client, nothing paid yet: the book both reports read.
    other = PaymentPlan.with_deposit(
        "pack-a-0043", usd("2000"), terms=terms, tier="Session Pack A", client="lee",
        booked=dt.date(2026, 12, 5), session=dt.date(2027, 5, 1),
    )
    book = [(current, ledger), (other, Ledger.empty(other))]
    as_of = dt.date(2027, 2, 10)
    report = aging(book, as_of)
    print("Aging on", as_of, ":", ", ".join(f"{b.label} {b.amount}" for b in report.buckets))
    cash = forecast(book, as_of, periods=3)
    for period in cash.periods:
        print(f"{period.start:%b %Y}: expected {period.expected}, received {period.received}")
    print("Past due, not in any month:", cash.overdue)

    (out / "tracking.csv").write_text(tracking_csv(book, as_of), encoding="utf-8")
    (out / "qbo-invoices.csv").write_text(quickbooks_invoices_csv(book, as_of=as_of), encoding="utf-8")
    (out / "qbo-payments.csv").write_text(quickbooks_payments_csv(book, as_of=as_of), encoding="utf-8")
    try:
        (out / "due-dates.ics").write_bytes(ics_feed(book, as_of=as_of))
    except PayplanError as exc:  # icalendar is an optional extra (payplan[reports])
        print("no calendar:", exc)
    print("Wrote", ", ".join(sorted(p.name for p in out.iterdir())), "to", out)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        main(target)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
