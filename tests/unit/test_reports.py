"""Worked examples for every report and export, amounts checked to the minor unit."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from payplan import (
    AGING_BUCKETS,
    CancellationSettled,
    CurrencyMismatchError,
    DepositRule,
    FeeWaived,
    InvalidPlanError,
    LateFeeAssessed,
    Ledger,
    Money,
    PaymentPlan,
    PaymentReceived,
    Refund,
    WriteOff,
    aging,
    forecast,
    ics_feed,
    overdue,
    period_summary,
    quickbooks_invoices_csv,
    quickbooks_payments_csv,
    tracking_csv,
)

D = dt.date
AS_OF = D(2027, 2, 15)


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack(plan_id: str, client: str | None = None, fee: str = "2000.00") -> PaymentPlan:
    """Pack A: $500 deposit 2026-12-01, then $500 on Jan 1, Feb 1 and Mar 1 2027."""
    return PaymentPlan.with_deposit(
        plan_id, usd(fee), deposit=DepositRule.percent_or_minimum(25, usd("500")), installments=3,
        booked=D(2026, 12, 1), session=D(2027, 4, 15), final_due_days_before=14, tier="Pack A", client=client,
    )


def book() -> list[tuple[PaymentPlan, Ledger]]:
    """Four plans: on time, deposit only, nothing paid, and one cancelled."""
    a, b, c, x = pack("a", "c1"), pack("b", "c1"), pack("c", "c2"), pack("x", "c3")
    return [
        (a, Ledger.empty(a).record_all([
            PaymentReceived("a1", D(2026, 12, 1), usd("500")),
            PaymentReceived("a2", D(2027, 1, 1), usd("500")),
            PaymentReceived("a3", D(2027, 2, 1), usd("250.50")),
        ])),
        (b, Ledger.empty(b).record_all([
            PaymentReceived("b1", D(2026, 12, 1), usd("500")),
            LateFeeAssessed("bf1", D(2027, 1, 10), usd("25"), installment=2),
            FeeWaived("bw1", D(2027, 1, 11), usd("10"), fee_id="bf1"),
        ])),
        (c, Ledger.empty(c)),
        (x, Ledger.empty(x).record_all([
            PaymentReceived("x1", D(2026, 12, 1), usd("500")),
            CancellationSettled("xc", D(2027, 1, 5), usd("500"), usd("0"), usd("0")),
        ])),
    ]


class TestAging:
    def test_buckets_to_the_cent(self) -> None:
        """On Feb 15: current $1500 (3), 1-30 $1249.50 (3), 31-60 $1015 (3), 61-90 $500 (1), 90+ nothing."""
        r = aging(book(), AS_OF)
        got = {b.label: (b.amount, b.count) for b in r.buckets}
        assert got == {
            # Mar 1 for a, b, c; nothing of x (cancelled).
            "current": (usd("1500.00"), 3),
            # Feb 1: a owes 249.50, b and c owe 500 each.
            "1-30": (usd("1249.50"), 3),
            # Jan 1: b and c; and b's late fee of Jan 10, $15 once $10 of it was waived.
            "31-60": (usd("1015.00"), 3),
            # Dec 1: c's deposit, 76 days.
            "61-90": (usd("500.00"), 1),
            "90+": (usd("0.00"), 0),
        }
        assert r.total == usd("4264.50")
        assert r.past_due == usd("2764.50")
        assert r.plans == 4
        assert [b.label for b in r.buckets] == [label for label, _, _ in AGING_BUCKETS]

    def test_bucket_edges(self) -> None:
        """30 days overdue is 1-30, 31 is 31-60, 90 is 61-90, 91 is 90+; due today is current."""
        plan = PaymentPlan.pay_in_full("p", usd("10"), booked=D(2027, 1, 1), session=D(2027, 12, 1))
        pairs = [(plan, Ledger.empty(plan))]
        for days, label in ((0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"),
                            (61, "61-90"), (90, "61-90"), (91, "90+")):
            r = aging(pairs, D(2027, 1, 1) + dt.timedelta(days=days))
            assert r.bucket(label).amount == usd("10"), (days, label)

    def test_written_off_installment_is_not_aged(self) -> None:
        """A write-off aimed at an installment removes it from the aging."""
        plan = pack("w")
        ledger = Ledger.empty(plan).record(WriteOff("wo", D(2027, 1, 2), usd("500"), installment=1))
        assert aging([(plan, ledger)], AS_OF).bucket("61-90").count == 0

    def test_mixed_currencies_are_refused(self) -> None:
        """A book in two currencies cannot be summed."""
        eur = PaymentPlan.pay_in_full("e", Money.of("10", "EUR"), booked=D(2027, 1, 1), session=D(2027, 2, 1))
        with pytest.raises(CurrencyMismatchError, match="report each currency separately"):
            aging([book()[0], (eur, Ledger.empty(eur))], AS_OF)

    def test_empty_book_needs_a_currency(self) -> None:
        """An empty book gives zero buckets in the given currency, and asks for one otherwise."""
        assert aging([], AS_OF, currency="EUR").total == Money.of("0", "EUR")
        with pytest.raises(InvalidPlanError, match="currency"):
            aging([], AS_OF)


class TestOverdue:
    def test_most_overdue_first(self) -> None:
        """Six overdue installments and b's unpaid late fee, c's deposit first, ties by plan then number."""
        items = overdue(book(), AS_OF)
        assert [(i.plan_id, i.installment, i.days_overdue, i.outstanding, i.bucket) for i in items] == [
            ("c", 1, 76, usd("500"), "61-90"),
            ("b", 2, 45, usd("500"), "31-60"),
            ("c", 2, 45, usd("500"), "31-60"),
            # The $25 late fee on b's installment 2, $10 of it waived: owed since Jan 10.
            ("b", 2, 36, usd("15"), "31-60"),
            ("a", 3, 14, usd("249.50"), "1-30"),
            ("b", 3, 14, usd("500"), "1-30"),
            ("c", 3, 14, usd("500"), "1-30"),
        ]
        assert items[0].client == "c2"
        assert [i.fee_id for i in items] == [None, None, None, "bf1", None, None, None]


class TestForecast:
    def test_monthly_expected_and_received(self) -> None:
        """From December: received $1500, $500, $250.50; Mar expects $1500; $2764.50 is overdue (fees included)."""
        f = forecast(book(), AS_OF, start=D(2026, 12, 1), periods=5)
        got = [(p.start, p.end, p.expected, p.received) for p in f.periods]
        assert got == [
            (D(2026, 12, 1), D(2026, 12, 31), usd("0"), usd("1500.00")),
            (D(2027, 1, 1), D(2027, 1, 31), usd("0"), usd("500.00")),
            (D(2027, 2, 1), D(2027, 2, 28), usd("0"), usd("250.50")),
            (D(2027, 3, 1), D(2027, 3, 31), usd("1500.00"), usd("0")),
            (D(2027, 4, 1), D(2027, 4, 30), usd("0"), usd("0")),
        ]
        # $2749.50 on installments and a $15.00 late fee: overdue now as aging counts it (#21)
        assert f.overdue == usd("2764.50") == aging(book(), AS_OF).past_due
        assert f.beyond == usd("0")
        assert f.expected == usd("1500.00")
        assert f.received == usd("2250.50")

    def test_weekly_periods_start_on_monday(self) -> None:
        """Weeks run Monday to Sunday; Mar 1 2027 (a Monday) starts the week that expects $1500."""
        f = forecast(book(), AS_OF, by="week", periods=3)
        assert [(p.start, p.end) for p in f.periods] == [
            (D(2027, 2, 15), D(2027, 2, 21)),
            (D(2027, 2, 22), D(2027, 2, 28)),
            (D(2027, 3, 1), D(2027, 3, 7)),
        ]
        assert [p.expected for p in f.periods] == [usd("0"), usd("0"), usd("1500")]

    def test_beyond_the_last_period(self) -> None:
        """What is due after the last period is reported as beyond."""
        f = forecast(book(), AS_OF, periods=1)
        assert f.beyond == usd("1500")

    def test_refunds_reduce_what_was_received(self) -> None:
        """A $100 refund in December makes December's receipts $400."""
        plan = pack("r")
        ledger = Ledger.empty(plan).record_all([
            PaymentReceived("p", D(2026, 12, 1), usd("500")),
            Refund.reversal("r", D(2026, 12, 20), usd("100")),
        ])
        f = forecast([(plan, ledger)], AS_OF, start=D(2026, 12, 1), periods=1)
        assert f.periods[0].received == usd("400")

    def test_bad_arguments(self) -> None:
        """Unknown period kinds, zero periods and a start after as_of are refused."""
        with pytest.raises(InvalidPlanError, match="week"):
            forecast(book(), AS_OF, by="day")  # type: ignore[arg-type]
        with pytest.raises(InvalidPlanError, match="periods"):
            forecast(book(), AS_OF, periods=0)
        with pytest.raises(InvalidPlanError, match="start"):
            forecast(book(), AS_OF, start=D(2027, 3, 1))


class TestPeriodSummary:
    def test_december_and_january(self) -> None:
        """Dec-Jan: $3000 due on 3 live plans, $1500 collected (50%), 1 of 4 cancelled, $1000 per client."""
        s = period_summary(book(), D(2026, 12, 1), D(2027, 1, 31))
        assert s.due == usd("3000.00")
        assert s.collected == usd("1500.00")
        assert s.collection_rate == Decimal("0.5000")
        assert (s.plans, s.cancelled) == (4, 1)
        assert s.cancellation_rate == Decimal("0.2500")
        assert s.revenue == usd("2000.00")
        assert s.clients == 3
        assert s.revenue_per_client == usd("666.67")

    def test_cancelled_before_the_period_is_left_out(self) -> None:
        """A plan cancelled in January is not active in February."""
        s = period_summary(book(), D(2027, 2, 1), D(2027, 2, 28))
        assert (s.plans, s.cancelled) == (3, 0)
        assert s.due == usd("1500")
        assert s.collected == usd("250.50")
        assert s.collection_rate == Decimal("0.1670")
        assert s.revenue_per_client == usd("125.25")

    def test_nothing_due_has_no_rate(self) -> None:
        """With nothing due in the period the collection rate is None, not zero."""
        s = period_summary(book(), D(2027, 3, 2), D(2027, 3, 31))
        assert s.collection_rate is None


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


class TestExports:
    def test_tracking_csv(self) -> None:
        """One row per installment and per fee still owed, with paid, outstanding and status to the cent."""
        rows = _rows(tracking_csv(book(), AS_OF))
        assert len(rows) == 17
        fee = next(r for r in rows if r["kind"] == "late_fee")
        assert fee == {
            "plan_id": "b", "client": "c1", "tier": "Pack A", "version": "1", "installment": "2",
            "kind": "late_fee", "due": "2027-01-10", "currency": "USD", "amount": "15.00",
            "paid": "0.00", "outstanding": "15.00", "status": "overdue", "days_overdue": "36", "label": "bf1",
        }
        a3 = next(r for r in rows if r["plan_id"] == "a" and r["installment"] == "3")
        assert a3 == {
            "plan_id": "a", "client": "c1", "tier": "Pack A", "version": "1", "installment": "3",
            "kind": "installment", "due": "2027-02-01", "currency": "USD", "amount": "500.00",
            "paid": "250.50", "outstanding": "249.50", "status": "overdue", "days_overdue": "14", "label": "",
        }
        assert {r["status"] for r in rows if r["plan_id"] == "x"} == {"paid", "cancelled"}

    def test_ics_feed_with_alarms(self) -> None:
        """Unpaid installments become all-day events with alarms 7 days, 1 day and 0 days before."""
        icalendar = pytest.importorskip("icalendar")
        plan, ledger = book()[0]
        cal = icalendar.Calendar.from_ical(ics_feed([(plan, ledger)], as_of=AS_OF))
        events = list(cal.walk("VEVENT"))
        assert [e.decoded("dtstart") for e in events] == [D(2027, 2, 1), D(2027, 3, 1)]
        assert str(events[0]["uid"]) == "payplan-a-3@payplan"
        assert "$249.50 due" in str(events[0]["summary"])
        triggers = [a.decoded("trigger") for a in events[1].walk("VALARM")]
        assert triggers == [dt.timedelta(days=-7), dt.timedelta(days=-1), dt.timedelta(0)]

    def test_ics_feed_cancels_a_cancelled_plans_events(self) -> None:
        """A cancelled plan's feed lists its events again under the same UIDs as cancelled, so calendars drop them."""
        icalendar = pytest.importorskip("icalendar")
        plan, ledger = book()[3]
        before = icalendar.Calendar.from_ical(ics_feed([(plan, ledger)], as_of=D(2027, 1, 4)))
        imported = {str(e["uid"]) for e in before.walk("VEVENT")}
        assert imported == {"payplan-x-2@payplan", "payplan-x-3@payplan", "payplan-x-4@payplan"}
        after = icalendar.Calendar.from_ical(ics_feed([(plan, ledger)], as_of=D(2027, 1, 5)))
        events = list(after.walk("VEVENT"))
        assert imported <= {str(e["uid"]) for e in events}
        assert {str(e["status"]) for e in events} == {"CANCELLED"}
        assert all(int(e["sequence"]) > 0 for e in events)
        assert not any(e.walk("VALARM") for e in events), "no alarm for a date that is no longer due"
        assert "Cancelled" in str(events[0]["summary"])

    def test_ics_feed_is_deterministic(self) -> None:
        """The same plan gives the same bytes: no clock, stable UIDs."""
        pytest.importorskip("icalendar")
        plan = pack("d")
        assert ics_feed([plan], alarms=(3,)) == ics_feed([plan], alarms=(3,))
        assert b"TRIGGER:-P3D" in ics_feed([plan], alarms=(3,))
        assert ics_feed([plan]).count(b"BEGIN:VEVENT") == 4

    def test_quickbooks_invoices(self) -> None:
        """Each installment is a QuickBooks invoice; a late fee less its waiver is one more."""
        rows = _rows(quickbooks_invoices_csv(book()[1:2]))
        assert [r["InvoiceNo"] for r in rows] == ["b-1", "b-2", "b-3", "b-4", "b-F1"]
        assert rows[1]["DueDate"] == "01/01/2027"
        assert rows[1]["InvoiceDate"] == "12/01/2026"
        assert rows[1]["ItemAmount"] == "500.00"
        assert rows[1]["Customer"] == "c1"
        assert (rows[4]["Item(Product/Service)"], rows[4]["ItemAmount"]) == ("Late fee", "15.00")

    def test_quickbooks_invoice_numbers_are_limited(self) -> None:
        """An invoice number above QuickBooks's 21 characters is refused unless mapped."""
        plan = pack("a-very-long-plan-id-indeed")
        with pytest.raises(InvalidPlanError, match="21 characters"):
            quickbooks_invoices_csv([(plan, Ledger.empty(plan))])
        text = quickbooks_invoices_csv(
            [(plan, Ledger.empty(plan))], invoice_number=lambda p, i: f"PP{i.number}", date_format="%Y-%m-%d"
        )
        assert _rows(text)[0]["InvoiceNo"] == "PP1"
        assert _rows(text)[0]["DueDate"] == "2026-12-01"

    def test_quickbooks_payments(self) -> None:
        """Payments positive, refunds negative, in the 3-column bank upload layout."""
        plan = pack("q", "Jane")
        ledger = Ledger.empty(plan).record_all([
            PaymentReceived("p1", D(2026, 12, 1), usd("500"), reference="ch_1"),
            Refund.reversal("r1", D(2026, 12, 3), usd("20.25")),
        ])
        assert quickbooks_payments_csv([(plan, ledger)]) == (
            "Date,Description,Amount\r\n"
            "12/01/2026,Payment Jane plan q ref ch_1,500.00\r\n"
            "12/03/2026,Refund Jane plan q ref r1,-20.25\r\n"
        )
