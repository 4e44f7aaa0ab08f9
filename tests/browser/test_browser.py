"""The example booking site, used the way a person uses it: in headless Chromium.

Each page visited is saved as a screenshot under build/screenshots/<test name>/
(or $PAYPLAN_SCREENSHOTS), so a person can look at what the tests saw.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from payplan import LateFeeAssessed, PaymentFailed, PaymentReceived
from payplan.providers import EventKind
from payplan.store import receive_webhook

from .conftest import LiveSite


def wait_for_preview(page: Any, after: int) -> None:
    """Wait until the form's live preview has answered more than *after* times, and no change awaits an answer."""
    # An arrow function, not an expression: Playwright would eval() an expression, which the CSP refuses.
    page.wait_for_function(
        f"() => {{ const f = document.getElementById('booking-form'); "
        f"return Number(f.dataset.previewed || 0) > {after} && f.dataset.busy === '0'; }}"
    )


def advance_clock(page: Any, live_site: LiveSite, days: int) -> None:
    """The owner (logged in) advances the demo clock from the dashboard; the page shows what the days' runs did."""
    page.goto(live_site.url + "/owner")
    page.fill("#days", str(days))
    page.click("#advance")
    page.wait_for_selector(".flash")


def dollars(text: str) -> Decimal:
    """An amount as the pages show it ("$1,000.00") as a number."""
    return Decimal(text.strip().replace("$", "").replace(",", ""))


def previews(page: Any) -> int:
    return int(page.eval_on_selector("#booking-form", "f => Number(f.dataset.previewed || 0)"))


class TestAClientBooksPackA:
    def test_book_sign_pay_decline_overdue_cancel(self, live_site: LiveSite, browser_page: Any, shots: Any) -> None:
        """Pack A booked, signed and paid; a decline brings a reminder and a late fee; overdue on the dashboard; cancelled with a settlement."""
        page, site = browser_page, live_site.site

        # The catalog, then the booking form for Pack A.
        page.goto(live_site.url + "/")
        assert "Session Pack A" in page.inner_text("#tier-session-pack-a")
        assert "Paid in full 14 days before the session" in page.inner_text("#tier-session-pack-a")
        shots(page, "catalog")
        shots.phone(page, "catalog")
        page.click("#tier-session-pack-a a.button")
        page.wait_for_selector("#booking-form")

        # The schedule shows as soon as the amounts allow: before the name and e-mail are typed.
        assert page.query_selector("#schedule-table"), "the fresh form shows the schedule"
        seen = previews(page)
        page.fill("#session", "2027-03-20")
        wait_for_preview(page, seen)
        assert page.query_selector("#schedule-table"), "the schedule shows with no name or e-mail yet"
        assert page.inner_text("#error-name") == ""
        # Each field's error is linked to it, and none is a live region of its own.
        assert page.get_attribute("#email", "aria-describedby") == "error-email"
        assert page.query_selector_all("#booking-form span.error[role], #booking-form span.error[aria-live]") == []
        page.evaluate("""() => { window.announced = 0; new MutationObserver(() => window.announced++)
            .observe(document.getElementById('form-status'), {childList: true, characterData: true, subtree: true}); }""")
        seen = previews(page)
        page.fill("#email", "grace@")
        wait_for_preview(page, seen)
        assert "e-mail address" in page.inner_text("#form-status")
        assert page.get_attribute("#email", "aria-invalid") == "true"
        announced = page.evaluate("window.announced")
        seen = previews(page)
        page.type("#email", "example")  # still not an address: the same message, not announced again
        wait_for_preview(page, seen)
        assert page.evaluate("window.announced") == announced
        shots.phone(page, "booking-form-error")

        # The client's choice: a deposit and 3 monthly installments; the schedule updates as they change it.
        page.fill("#name", "Grace Hopper")
        seen = previews(page)
        page.fill("#email", "grace@example.com")
        wait_for_preview(page, seen)
        assert page.get_attribute("#email", "aria-invalid") is None
        page.select_option("#card", "pm_demo_decline_after_deposit")
        seen = previews(page)
        page.select_option("#count", "2")
        wait_for_preview(page, seen)
        assert len(page.query_selector_all("#schedule-table tbody tr")) == 3
        seen = previews(page)
        page.select_option("#count", "3")
        wait_for_preview(page, seen)
        rows = [r.inner_text() for r in page.query_selector_all("#schedule-table tbody tr")]
        assert len(rows) == 4
        assert all("$500.00" in r for r in rows), rows
        assert "Jan 1, 2027" in rows[1]
        assert "Mar 1, 2027" in rows[3]
        assert "$2,000.00" in page.inner_text("#schedule-total")
        assert "Mar 6, 2027" in page.inner_text("#cutoff-rule")  # paid in full 14 days before the session
        shots(page, "booking-form")
        shots.phone(page, "booking-form")
        page.click("#continue")

        # The agreement, rendered from the plan; signed with the booking's name.
        page.wait_for_selector("#agreement")
        agreement = page.inner_text("#agreement")
        assert "Grace Hopper" in agreement
        assert "$500.00" in agreement
        shots(page, "agreement")
        shots.phone(page, "agreement")
        page.fill("#signature", "Grace Hopper")
        page.check("#accept")
        page.click("#sign")

        # The client's page: the deposit was charged through the sandbox and arrived by webhook.
        page.wait_for_selector("#client-schedule")
        assert page.inner_text("#paid") == "$500.00"
        assert page.inner_text("#balance") == "$1,500.00"
        (plan_id,) = site.store.plan_ids()
        client_page = page.url
        assert plan_id not in client_page, "the client's link is signed, not the plan id"
        inbox = site.store.inbox(plan_id=plan_id)
        assert [e.status.value for e in inbox] == ["applied"], "the deposit's webhook went through the store's inbox"
        assert "Grace Hopper" in page.inner_text("#signatures")
        assert re.search(r"SHA-256 [0-9a-f]{16}", page.inner_text("#signatures"))
        shots(page, "client-after-deposit")
        shots.phone(page, "client-after-deposit")
        # The client imports the calendar feed of the dates still owed.
        uids = set(re.findall(r"UID:(\S+)", page.request.get(client_page + "/schedule.ics").text()))
        assert len(uids) == 3, uids

        # The sandbox clock advances past the first installment (declined) by a week.
        live_site.log_in(page)
        advance_clock(page, live_site, 38)
        assert site.today == dt.date(2027, 1, 8)
        ledger = site.store.load(plan_id).ledger
        assert any(isinstance(e, PaymentFailed) for e in ledger)
        assert any(isinstance(e, LateFeeAssessed) for e in ledger)

        # The owner's dashboard: the client is overdue; the forecast is drawn.
        overdue = page.inner_text("#overdue")
        assert "grace@example.com" in overdue
        assert "$500.00" in overdue
        # One "overdue now": the dashboard's figure is the sum of its overdue list (late fee included), and the
        # client's page says the same for their booking.
        listed = sum(dollars(cell.inner_text()) for cell in page.query_selector_all("#overdue td.num"))
        assert dollars(page.inner_text("#overdue-total")) == listed == Decimal("525.00")
        assert page.query_selector_all("#forecast-chart rect.expected"), "the forecast chart has bars"
        shots(page, "dashboard-overdue")
        shots.phone(page, "dashboard-overdue")

        # The client's page: the decline, the late fee and a reminder.
        page.goto(client_page)
        assert "declined" in page.inner_text("#declines")
        assert "$25.00" in page.inner_text("#late-fees")
        assert page.inner_text("#fees") == "$25.00"
        assert page.inner_text("#overdue-now") == "$525.00"
        assert page.query_selector_all("#reminders li.message"), "a reminder was sent"
        assert "overdue" in page.inner_text("#client-schedule")
        shots(page, "client-declined-late-fee")

        # The client pays what is overdue now from their page; the same form sent twice charges once.
        owed = page.inner_text("#owed-now")
        assert owed == "$500.00"
        form = {name: page.get_attribute(f"#pay-form input[name={name}]", "value") for name in ("csrf_token", "request")}
        page.click("#pay-now")
        page.wait_for_selector(".flash")
        assert f"{owed} was charged" in page.inner_text(".flash")
        paid = site.store.load(plan_id).ledger.paid
        again = page.request.post(client_page + "/pay", form=form)
        assert f"{owed} was charged" in again.text(), "the second submit shows what the first one did"
        assert site.store.load(plan_id).ledger.paid == paid, "and charges nothing more"
        # The late fee comes next (the client keeps it for now: the cancellation below settles it).
        page.goto(client_page)
        assert page.inner_text("#owed-now") == "$25.00"
        shots.phone(page, "client-paid-overdue")

        # Nineteen days before the session: inside the 30-day window, half the fee is retained.
        advance_clock(page, live_site, 52)
        assert site.today == dt.date(2027, 3, 1)
        page.goto(client_page)
        assert "50% of the fee retained with 19 days' notice" in page.inner_text("#cancel-preview")
        # The preview adds up: what was paid is what is kept, the late fees owed and what comes back.
        sums = {k: dollars(page.inner_text(f"#preview-{k}")) for k in ("paid", "retained", "fees", "refund")}
        assert sums["paid"] == sums["retained"] + sums["fees"] + sums["refund"], sums
        assert sums["fees"] > 0
        shots.phone(page, "client-cancel-preview")
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#cancel")
        page.wait_for_selector("#settlement")
        ledger = site.store.load(plan_id).ledger
        settled = ledger.cancellation
        assert settled is not None
        assert page.inner_text("#retained") == "$1,000.00"  # 50% of the $2,000 fee
        # Back: what was paid, less what is retained and the late fees still owed.
        assert settled.refund == ledger.paid - settled.amount - ledger.fees
        assert page.inner_text("#refund") == site.money(settled.refund)
        assert page.inner_text("#plan-status") == "cancelled"
        shots(page, "client-cancelled")
        shots.phone(page, "client-cancelled")
        # The calendar feed now cancels the same events, so a calendar that imported it drops them.
        feed = page.request.get(client_page + "/schedule.ics").text()
        assert uids <= set(re.findall(r"UID:(\S+)", feed))
        assert feed.count("STATUS:CANCELLED") == feed.count("BEGIN:VEVENT")
        assert sum(1 for e in site.store.load(plan_id).ledger if isinstance(e, PaymentReceived)) >= 2

        # The refund went back through the provider that took the money, and counts once in the
        # ledger even after the provider's refund webhooks arrive (and arrive again).
        refunds = [c for c in site.sandbox.calls if c.verb == "refund"]
        assert refunds
        assert len({c.idempotency_key for c in refunds}) == len(refunds)
        site.deliver()
        refund_events = [e for e in site.sandbox.events if e.kind is EventKind.REFUNDED and e.plan_id == plan_id]
        assert refund_events
        for _ in range(2):
            for event in refund_events:  # delivered again, as a provider retries
                headers, body = site.sandbox.delivery(event)
                assert receive_webhook(site.store, site.sandbox, headers, body).status == 200
            after = site.store.load(plan_id).ledger
            assert after.refunded == settled.refund
            assert after.balance.minor == 0
        assert site.cancel(plan_id) is False  # a second click refunds nothing more
        assert [c for c in site.sandbox.calls if c.verb == "refund"] == refunds


class TestBadInput:
    def test_messages_next_to_fields(self, live_site: LiveSite, browser_page: Any, shots: Any) -> None:
        """Bad input gets a message next to its field, never a stack trace; nothing is booked."""
        page = browser_page
        page.goto(live_site.url + "/book/session-pack-a")
        page.fill("#name", "")
        page.fill("#email", "not-an-email")
        page.fill("#session", "2026-12-10")  # too soon: nothing fits 14 days before it
        page.click("#choice-own")
        page.fill("#amount_1", "100")  # below the least deposit
        page.fill("#amount_2", "abc")
        page.click("#continue")
        page.wait_for_selector("#booking-form")
        assert "Please enter your name." in page.inner_text("#error-name")
        assert "e-mail address" in page.inner_text("#error-email")
        assert "amount above zero" in page.inner_text("#error-amount_2")
        assert "Traceback" not in page.content()
        shots(page, "bad-input")
        # Fix the fields one by one: the bound broken is named, with the nearest value that keeps it.
        page.fill("#name", "Alan Turing")
        page.fill("#email", "alan@example.com")
        page.fill("#amount_2", "950")
        page.fill("#date_2", "2027-01-10")
        page.fill("#amount_3", "950")
        page.fill("#date_3", "2027-02-01")
        page.fill("#session", "2027-03-01")
        page.click("#continue")
        page.wait_for_selector("#booking-form")
        assert "below the least deposit 500.00 USD" in page.inner_text("#error-amount_1")
        # 500.00 alone would not make the parts add up to the fee: no "nearest that works" the form would refuse.
        assert "nearest that works" not in page.inner_text("#error-amount_1")
        shots(page, "bound-refused")
        assert live_site.site.store.plan_ids() == ()


class TestOnStripe:
    def test_daily_collections_on_stripe(self, tmp_path: Any, browser_page: Any, shots: Any) -> None:
        """On Stripe (its clocked fake, the real SDK and adapter, Stripe's default mode): the deposit at signing,
        an installment declined and paid by Smart Retries, the late fee assessed and charged by the daily run."""
        pytest.importorskip("stripe", reason="the Stripe configuration needs the stripe SDK")
        live_site = LiveSite(tmp_path, today=dt.date(2026, 12, 1), provider="stripe")
        page, site = browser_page, live_site.site
        try:
            assert site.stripe is not None
            page.goto(live_site.url + "/book/session-pack-a")
            page.fill("#name", "Grace Hopper")
            page.fill("#email", "grace@example.com")
            page.fill("#session", "2027-03-20")
            page.select_option("#card", "pm_demo_decline_after_deposit")
            page.click("#continue")
            page.fill("#signature", "Grace Hopper")
            page.check("#accept")
            page.click("#sign")
            page.wait_for_selector("#client-schedule")
            client_page = page.url
            assert page.inner_text("#paid") == "$500.00"
            (plan_id,) = site.store.plan_ids()
            assert [(e.event.provider, e.status.value) for e in site.store.inbox(plan_id=plan_id)] == [("stripe", "applied")]
            fake = site.stripe.fake
            schedules = [o for o in fake.objects.values() if o.get("object") == "subscription_schedule"]
            assert len(schedules) == 1, "Stripe's default mode: the installments are a subscription schedule"

            # Days pass on Stripe's clock: the first installment is declined, retried, and paid.
            live_site.log_in(page)
            advance_clock(page, live_site, 38)
            ledger = site.store.load(plan_id).ledger
            assert any(isinstance(e, PaymentFailed) for e in ledger), "Stripe's decline reached the ledger"
            assert any(isinstance(e, LateFeeAssessed) for e in ledger), "the daily run assessed the late fee"
            assert ledger.paid.minor == 100000, "Smart Retries paid the installment"
            shots(page, "stripe-dashboard")

            # After the last installment the run charges the fee through Stripe, once.
            advance_clock(page, live_site, 60)
            ledger = site.store.load(plan_id).ledger
            assert ledger.paid.minor == 200000 + ledger.fees.minor
            fee_invoices = [o for o in fake.objects.values() if o.get("object") == "invoice"
                            and (o.get("metadata") or {}).get("payplan_fee")]
            assert len(fee_invoices) == 1, fee_invoices
            assert fee_invoices[0]["status"] == "paid"
            page.goto(client_page)
            assert page.inner_text("#balance") == "$0.00"
            shots(page, "stripe-client-paid")
        finally:
            live_site.close()
