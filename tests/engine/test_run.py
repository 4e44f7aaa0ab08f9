"""The daily run on the in-memory store: what it does, and that doing it again does nothing twice.

Pack A (deposit $500 paid at booking 2026-12-01; $500 due 2027-01-01, 02-01,
03-01; session 2027-04-15) on the on-demand sandbox, which the run charges.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from payplan import (
    DepositRule,
    InstallmentState,
    InvalidPlanError,
    LateFeePolicy,
    Money,
    NotificationError,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    Terms,
    plan_status,
)
from payplan.engine import RunSummary, run_due, run_plan
from payplan.notify import Contact, InMemoryNotifier, Message
from payplan.providers import EventKind, Payer
from payplan.store import MemoryStore, OperationStatus, ReminderStatus, receive_webhook
from payplan.testing import OnDemandSandboxProvider, SandboxCard, SandboxFault, SandboxProvider

D = dt.date
BOOKED = D(2026, 12, 1)


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a(plan_id: str = "pack-a", client: str = "ada", **terms: object) -> PaymentPlan:
    return PaymentPlan.with_deposit(
        plan_id,
        usd("2000.00"),
        terms=Terms(deposit=DepositRule.percent_or_minimum(25, usd("500.00")), installments=3, **terms),  # type: ignore[arg-type]
        booked=BOOKED,
        session=D(2027, 4, 15),
        client=client,
    )


ADA = Contact("Ada Lovelace", email="ada@example.com", fields={"business": "Studio Lumen"})


def setup(
    card: str = SandboxCard.SUCCESS.value, provider: type[SandboxProvider] = OnDemandSandboxProvider, **terms: object
) -> tuple[MemoryStore, SandboxProvider, PaymentPlan]:
    store = MemoryStore()
    sb = provider(today=BOOKED)
    plan = pack_a(**terms)
    store.add_plan(plan, entries=[PaymentReceived("dep", BOOKED, usd("500"))])
    store.save_binding(sb.publish(plan, Payer(payment_method_id=card)))
    return store, sb, plan


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


def run_days(store: MemoryStore, sb: SandboxProvider, notifier: InMemoryNotifier, start: dt.date, end: dt.date,
             **kwargs: object) -> None:
    for day in days(start, end):
        sb.advance_to(day)
        summary = run_due(store, [sb], day, notifier, contacts={"ada": ADA}, **kwargs)  # type: ignore[arg-type]
        assert summary.ok, summary.failures


def charges(sb: SandboxProvider) -> Counter[tuple[str, int]]:
    """Succeeded charges per (plan, installment), from the provider's own events."""
    return Counter((e.plan_id, e.installment or 0) for e in sb.events if e.kind is EventKind.PAYMENT_SUCCEEDED)


class TestDailyRun:
    def test_charges_each_installment_once_and_reminds_before(self) -> None:
        store, sb, plan = setup()
        notifier = InMemoryNotifier()
        run_days(store, sb, notifier, BOOKED, D(2027, 4, 20))
        ledger = store.load(plan.id).ledger
        assert plan_status(plan, ledger, D(2027, 4, 20)).paid_in_full
        assert charges(sb) == {(plan.id, 2): 1, (plan.id, 3): 1, (plan.id, 4): 1}
        # 7 and 1 days before each installment; nothing on or after the day (it was paid)
        assert [(m.kind, m.date) for m in notifier.sent] == [
            ("before_due", D(2026, 12, 25)), ("before_due", D(2026, 12, 31)),
            ("before_due", D(2027, 1, 25)), ("before_due", D(2027, 1, 31)),
            ("before_due", D(2027, 2, 22)), ("before_due", D(2027, 2, 28)),
        ]
        # a finished plan leaves the daily run
        assert list(store.active_plans()) == []

    def test_running_the_same_day_again_does_nothing_twice(self) -> None:
        store, sb, plan = setup(late_fees=LateFeePolicy.single(usd("25")))
        notifier = InMemoryNotifier()
        sb.advance_to(D(2027, 1, 1))
        first = run_due(store, [sb], D(2027, 1, 1), notifier, contacts={"ada": ADA})
        before = (store.load(plan.id).ledger, len(notifier.sent), len(sb.calls))
        second = run_due(store, [sb], D(2027, 1, 1), notifier, contacts={"ada": ADA})
        assert (first.charges, first.succeeded) == (1, 1)
        assert (second.charges, second.reminders, second.fees) == (0, 0, 0)
        assert (store.load(plan.id).ledger, len(notifier.sent), len(sb.calls)) == before

    def test_a_decline_is_retried_on_the_ladder_with_a_notice_each_time(self) -> None:
        store, sb, plan = setup(card="pm_scripted")
        sb.script("pm_scripted", SandboxCard.DECLINE, SandboxCard.EXPIRED, SandboxCard.SUCCESS)
        notifier = InMemoryNotifier()
        run_days(store, sb, notifier, D(2026, 12, 31), D(2027, 1, 10))
        ledger = store.load(plan.id).ledger
        failed = sorted((e.on, e.reason) for e in ledger if isinstance(e, PaymentFailed))
        assert failed == [(D(2027, 1, 1), "card_declined"), (D(2027, 1, 2), "expired_card")]
        assert ledger.get(f"{plan.id}:charge:2:a3") is not None  # paid on the third attempt, 2027-01-04
        keys = [c.idempotency_key for c in sb.calls if c.verb == "charge"]
        assert len(keys) == len(set(keys)) == 3
        notices = [(m.kind, m.date) for m in notifier.sent if m.kind == "payment_failed"]
        assert notices == [("payment_failed", D(2027, 1, 1)), ("payment_failed", D(2027, 1, 2))]
        body = next(m.body for m in notifier.sent if m.kind == "payment_failed")
        assert "Dear Ada Lovelace" in body
        assert "$500.00" in body
        assert "your card was declined" in body

    def test_the_ladder_ends_in_escalation_and_no_more_charges(self) -> None:
        store, sb, _plan = setup(card=SandboxCard.DECLINE.value)
        notifier = InMemoryNotifier()
        run_days(store, sb, notifier, D(2027, 1, 1), D(2027, 1, 20))
        assert sum(1 for c in sb.calls if c.verb == "charge") == 4  # attempt 1 and three retries
        escalated = [m for m in notifier.sent if m.kind == "escalated"]
        assert [m.date for m in escalated] == [D(2027, 1, 8)]
        assert "after 4 attempts" in escalated[0].body

    def test_card_expiry_warning_before_the_installment(self) -> None:
        store, sb, _plan = setup()
        notifier = InMemoryNotifier()
        ada = Contact("Ada Lovelace", email="ada@example.com", card_expires=D(2027, 1, 31))
        for day in days(D(2027, 1, 1), D(2027, 2, 1)):
            sb.advance_to(day)
            run_due(store, [sb], day, notifier, contacts={"ada": ada})
        warnings = [m for m in notifier.sent if m.kind == "card_expiring"]
        assert [(m.date, m.subject) for m in warnings] == [(D(2027, 1, 18), "Your card on file expires soon")]

    def test_autopay_providers_are_not_charged_their_outcomes_come_from_the_inbox(self) -> None:
        store, sb, plan = setup(provider=SandboxProvider)
        notifier = InMemoryNotifier()
        sb.advance_to(D(2027, 1, 1))  # the provider charges by itself
        calls = len(sb.calls)
        summary = run_due(store, [sb], D(2027, 1, 1), notifier, contacts={"ada": ADA})
        assert summary.charges == 0
        assert len(sb.calls) == calls
        for event in sb.events:
            store.ingest(event, b"{}")
        assert plan_status(plan, store.load(plan.id).ledger, D(2027, 1, 1)).installment(2).outstanding.is_zero()

    def test_dry_run_changes_nothing_and_says_what_it_would_do(self) -> None:
        store, sb, plan = setup(late_fees=LateFeePolicy.single(usd("25")))
        notifier = InMemoryNotifier()
        summary = run_due(store, [sb], D(2027, 1, 9), notifier, contacts={"ada": ADA}, dry_run=True)
        assert [(a.kind, a.detail) for a in summary.actions] == [
            ("fee", "late fee 25.00 USD on installment 2"),
            ("charge", "charge 500.00 USD (installment 2, attempt 1) through sandbox"),
            ("held", "late fee 25.00 USD (pack-a:late-fee:2:1): charged once every installment is paid "
                     "(the last is due on 2027-03-01)"),
        ]
        assert store.load(plan.id).ledger.get("dep") is not None
        assert len(store.load(plan.id).ledger) == 1
        assert notifier.sent == ()
        assert sb.calls[-1].verb == "publish"

    def test_late_fees_are_charged_once_every_installment_is_paid(self) -> None:
        store, sb, plan = setup(card="pm_late", late_fees=LateFeePolicy.single(usd("25")))
        sb.script("pm_late", SandboxCard.DECLINE, SandboxCard.DECLINE, SandboxCard.DECLINE)
        notifier = InMemoryNotifier()
        run_days(store, sb, notifier, D(2027, 1, 1), D(2027, 3, 5))
        ledger = store.load(plan.id).ledger
        fee_id = f"{plan.id}:late-fee:2:1"
        assert ledger.get(fee_id) is not None  # $25 on 2027-01-02, installment 2 paid on its 4th attempt (01-08)
        # the ledger covers fees with what is left once the installments are paid: the fee comes last
        paid = ledger.get(f"{plan.id}:fee-charge:{fee_id}:a1")
        assert paid is not None
        assert (paid.on, paid.amount) == (D(2027, 3, 1), usd("25"))  # type: ignore[union-attr]
        assert [c.verb for c in sb.calls].count("charge_fee") == 1
        assert plan_status(plan, ledger, D(2027, 3, 5)).paid_in_full

    def test_a_waived_fee_is_not_charged(self) -> None:
        from payplan import waive_fee

        store, sb, plan = setup(late_fees=LateFeePolicy.single(usd("25")))
        store.record_entries(plan.id, [PaymentReceived("late", D(2027, 1, 5), usd("500"))])
        run_due(store, [sb], D(2027, 1, 5), InMemoryNotifier(), contacts={"ada": ADA}, dry_run=True)
        from payplan import assess_late_fees

        ledger = store.load(plan.id).ledger
        fees = assess_late_fees(plan, ledger, D(2027, 1, 5))
        store.record_entries(plan.id, fees)
        ledger = store.load(plan.id).ledger
        store.record_entries(plan.id, [waive_fee(ledger, fees[0].id, D(2027, 1, 5), "first time")])
        summary = run_due(store, [sb], D(2027, 1, 6), InMemoryNotifier(), contacts={"ada": ADA})
        assert summary.charges == 0
        assert "charge_fee" not in [c.verb for c in sb.calls]

    def test_never_charges_above_the_live_balance(self) -> None:
        store, sb, plan = setup()
        store.record_entries(plan.id, [PaymentReceived("bank", D(2026, 12, 20), usd("800"))])
        notifier = InMemoryNotifier()
        summary = run_due(store, [sb], D(2027, 2, 1), notifier, contacts={"ada": ADA})
        # $200 is owed on installment 3: the sandbox charges whole installments, so it is skipped, not overcharged
        assert (summary.charges, summary.skipped) == (0, 1)
        assert "part of an installment" in summary.actions[0].detail


class TestCrashes:
    def test_a_lost_response_is_retried_under_the_same_key(self) -> None:
        store, sb, plan = setup()
        sb.advance_to(D(2027, 1, 1))
        sb.inject_fault(SandboxFault.LOST_RESPONSE)
        notifier = InMemoryNotifier()
        first = run_due(store, [sb], D(2027, 1, 1), notifier, contacts={"ada": ADA})
        assert [f.plan_id for f in first.failures] == [plan.id]
        assert "lost response" in first.failures[0].reason
        (op,) = store.operations(plan_id=plan.id)
        assert op.status is OperationStatus.UNKNOWN
        second = run_due(store, [sb], D(2027, 1, 1), notifier, contacts={"ada": ADA})
        assert second.ok
        assert second.succeeded == 1
        assert charges(sb) == {(plan.id, 2): 1}
        assert len({c.idempotency_key for c in sb.calls if c.verb == "charge"}) == 1

    def test_a_message_reserved_but_never_sent_is_resent_once_with_its_id(self) -> None:
        store, sb, plan = setup()

        class Flaky(InMemoryNotifier):
            fail = True

            def send(self, message: Message) -> None:
                if self.fail:
                    self.fail = False
                    raise NotificationError("the SMTP server went away", retryable=True)
                super().send(message)

        notifier = Flaky()
        first = run_due(store, [sb], D(2026, 12, 25), notifier, contacts={"ada": ADA})
        assert not first.ok
        assert notifier.sent == ()
        (record,) = store.reminders(plan.id)
        assert record.status is ReminderStatus.RESERVED
        second = run_due(store, [sb], D(2026, 12, 25), notifier, contacts={"ada": ADA})
        assert (second.reminders, second.resent) == (1, 1)
        third = run_due(store, [sb], D(2026, 12, 25), notifier, contacts={"ada": ADA})
        assert third.reminders == 0
        assert notifier.duplicates() == {}
        assert len(notifier.sent) == 1


class Flaky(InMemoryNotifier):
    """Refuses the sends whose index (from 0) is in *fail*: a crash between reserving and sending."""

    def __init__(self, *fail: int) -> None:
        super().__init__()
        self.fail = set(fail)
        self.tried = 0

    def send(self, message: Message) -> None:
        self.tried += 1
        if self.tried - 1 in self.fail:
            raise NotificationError("the SMTP server went away", retryable=True)
        super().send(message)


class TestCutShortThenALaterDay:
    """A message reserved but never sent (a crash) is sent by the next run of a LATER day, once, while true."""

    def test_resent_the_next_day_once_with_its_id(self) -> None:
        store, sb, plan = setup()
        notifier = Flaky(0)
        assert not run_due(store, [sb], D(2026, 12, 25), notifier, contacts={"ada": ADA}).ok
        (record,) = store.reminders(plan.id)
        assert record.status is ReminderStatus.RESERVED
        nxt = run_due(store, [sb], D(2026, 12, 26), notifier, contacts={"ada": ADA})
        assert (nxt.resent, nxt.reminders, nxt.dropped) == (1, 1, 0)
        (message,) = notifier.sent
        assert (message.id, message.date) == (record.reminder_id, D(2026, 12, 25))  # same id, same text
        assert "due on 2027-01-01" in message.body
        later = run_due(store, [sb], D(2026, 12, 27), notifier, contacts={"ada": ADA})
        assert (later.resent, later.reminders) == (0, 0)
        assert [r.status for r in store.reminders(plan.id)] == [ReminderStatus.SENT]

    def test_run_plan_alone_marks_the_message_it_resent(self) -> None:
        """run_plan called by a site's own loop (no run-wide outbox), with nothing else due that day:
        the message it resends is marked sent, so no later run sends it a third time."""
        store, sb, plan = setup()
        notifier = Flaky(0)
        assert not run_due(store, [sb], D(2026, 12, 25), notifier, contacts={"ada": ADA}).ok
        summary = RunSummary(D(2026, 12, 26))
        run_plan(
            store, store.load(plan.id), [sb], D(2026, 12, 26), notifier, summary, contacts={"ada": ADA},
            unsent=store.reserved_reminders(),
        )
        assert (summary.resent, len(notifier.sent)) == (1, 1)
        assert [r.status for r in store.reminders(plan.id)] == [ReminderStatus.SENT]
        later = run_due(store, [sb], D(2026, 12, 27), notifier, contacts={"ada": ADA})
        assert later.resent == 0
        assert len(notifier.sent) == 1

    def test_not_sent_once_the_installment_was_paid(self) -> None:
        store, sb, plan = setup()
        notifier = Flaky(0)
        run_due(store, [sb], D(2026, 12, 25), notifier, contacts={"ada": ADA})
        store.record_entries(plan.id, [PaymentReceived("early", D(2026, 12, 26), usd("500"))])
        nxt = run_due(store, [sb], D(2026, 12, 27), notifier, contacts={"ada": ADA})
        assert (nxt.resent, nxt.dropped) == (0, 1)
        assert notifier.sent == ()
        assert [r.status for r in store.reminders(plan.id)] == [ReminderStatus.DROPPED]
        assert "paid" in next(a.detail for a in nxt.actions if a.kind == "skip")

    def test_a_stale_payment_failed_is_not_sent_after_the_retry(self) -> None:
        """"Your payment failed, we try again on Jan 2" cut short on Jan 1: the Jan 2 run retries (and
        succeeds); the old notice is dropped, not sent."""
        store, sb, _plan = setup(card="pm_once")
        sb.script("pm_once", SandboxCard.DECLINE)
        notifier = Flaky(0)
        sb.advance_to(D(2027, 1, 1))
        first = run_due(store, [sb], D(2027, 1, 1), notifier, contacts={"ada": ADA})
        assert first.declined == 1
        assert not first.ok
        (record,) = store.reserved_reminders()
        assert ":notice:payment-failed:" in record.reminder_id
        sb.advance_to(D(2027, 1, 2))
        nxt = run_due(store, [sb], D(2027, 1, 2), notifier, contacts={"ada": ADA})
        assert (nxt.succeeded, nxt.dropped, nxt.resent) == (1, 1, 0)
        assert notifier.sent == ()
        assert store.reserved_reminders() == ()

    def test_a_payment_failed_before_its_retry_is_still_sent(self) -> None:
        """Cut short on Jan 1 with the retry on Jan 4 (second failure: ladder 1, 3, 7): the Jan 3 run sends it."""
        store, sb, _plan = setup(card="pm_twice")
        sb.script("pm_twice", SandboxCard.DECLINE, SandboxCard.DECLINE)
        notifier = Flaky(1)
        for day in (D(2027, 1, 1), D(2027, 1, 2)):
            sb.advance_to(day)
            run_due(store, [sb], day, notifier, contacts={"ada": ADA})
        (record,) = store.reserved_reminders()
        assert record.on == D(2027, 1, 2)
        sb.advance_to(D(2027, 1, 3))
        nxt = run_due(store, [sb], D(2027, 1, 3), notifier, contacts={"ada": ADA})
        assert (nxt.resent, nxt.dropped, nxt.charges) == (1, 0, 0)
        assert [m.id for m in notifier.sent][-1] == record.reminder_id
        assert notifier.duplicates() == {}

    def test_a_due_in_a_day_reminder_is_dropped_once_the_day_came(self) -> None:
        store, sb, _plan = setup()
        notifier = Flaky(0)
        run_due(store, [sb], D(2026, 12, 31), notifier, contacts={"ada": ADA})  # "due tomorrow", cut short
        sb.advance_to(D(2027, 1, 1))
        nxt = run_due(store, [sb], D(2027, 1, 1), notifier, contacts={"ada": ADA})
        assert (nxt.dropped, nxt.resent, nxt.succeeded) == (1, 0, 1)
        assert notifier.sent == ()

    def test_over_a_week_old_is_dropped(self) -> None:
        store, sb, plan = setup(provider=SandboxProvider)  # autopay: the run charges nothing
        notifier = Flaky(0)
        run_due(store, [sb], D(2027, 1, 25), notifier, contacts={"ada": ADA})  # 7 days before Feb 1
        store.record_entries(plan.id, [PaymentReceived("i2", D(2027, 1, 1), usd("500"))])
        nxt = run_due(store, [sb], D(2027, 2, 2), notifier, contacts={"ada": ADA})
        assert nxt.dropped == 1
        assert "more than 7 days old" in next(a.detail for a in nxt.actions if a.kind == "skip")

    def test_a_dry_run_says_and_changes_nothing(self) -> None:
        store, sb, plan = setup()
        run_due(store, [sb], D(2026, 12, 25), Flaky(0), contacts={"ada": ADA})
        dry = run_due(store, [sb], D(2026, 12, 26), None, contacts={"ada": ADA}, dry_run=True)
        assert [(a.kind, a.detail.split(" ")[0]) for a in dry.actions] == [("notice", "resend")]
        assert [r.status for r in store.reminders(plan.id)] == [ReminderStatus.RESERVED]


class TestOneInFlight:
    def test_never_more_than_one_message_reserved_unsent_and_marks_ride_along(self) -> None:
        """Across many plans and messages, each send finds only itself reserved and unsent (a crash there
        resends at most it), and a message is marked sent in the transaction reserving the next one."""
        store = MemoryStore()
        sb = OnDemandSandboxProvider(today=BOOKED)
        contacts = {}
        for n in range(12):
            plan = pack_a(f"p{n:02d}", client=f"c{n}")
            store.add_plan(plan, entries=[PaymentReceived("dep", BOOKED, usd("500"))])
            card = SandboxCard.DECLINE.value if n % 3 == 0 else SandboxCard.SUCCESS.value
            store.save_binding(sb.publish(plan, Payer(payment_method_id=card)))
            contacts[f"c{n}"] = Contact(f"Client {n}", email=f"c{n}@example.com", card_expires=D(2027, 1, 15))
        calls: Counter[str] = Counter()
        for name in ("reserve_reminder", "mark_reminder_sent", "mark_sent_and_reserve"):
            def counted(*a: object, _f: object = getattr(store, name), _n: str = name) -> object:
                calls[_n] += 1
                return _f(*a)  # type: ignore[operator]
            setattr(store, name, counted)

        class Watching(InMemoryNotifier):
            def send(self, message: Message) -> None:
                assert [r.reminder_id for r in store.reserved_reminders()] == [message.id]
                super().send(message)

        notifier = Watching()
        for day in days(D(2026, 12, 25), D(2027, 1, 9)):
            sb.advance_to(day)
            summary = run_due(store, [sb], day, notifier, contacts=contacts, batch_size=5)
            assert summary.ok, summary.failures
        assert len(notifier.sent) > 30
        assert notifier.duplicates() == {}
        assert store.reserved_reminders() == ()
        # most marks ride in the next reservation's transaction; the rest once per batch (3 a day)
        assert calls["mark_reminder_sent"] < len(notifier.sent) / 2
        assert calls["mark_reminder_sent"] <= 3 * 16


class TestInput:
    @pytest.mark.parametrize(("kwargs", "match"), [
        ({"shard": 2, "shards": 2}, "shard K of N"),
        ({"shards": 0}, "shard K of N"),
        ({"batch_size": 0}, "batch size"),
    ])
    def test_bad_arguments(self, kwargs: dict[str, int], match: str) -> None:
        with pytest.raises(InvalidPlanError, match=match):
            run_due(MemoryStore(), [], D(2027, 1, 1), **kwargs)  # type: ignore[arg-type]

    def test_bad_date(self) -> None:
        with pytest.raises(InvalidPlanError, match="as_of"):
            run_due(MemoryStore(), [], "2027-01-01")  # type: ignore[arg-type]

    def test_no_notifier_is_a_named_plan_failure(self) -> None:
        store, sb, plan = setup()
        summary = run_due(store, [sb], D(2026, 12, 25), None, contacts={"ada": ADA})
        assert [(f.plan_id, "expected a notifier" in f.reason) for f in summary.failures] == [(plan.id, True)]

    def test_shards_split_the_plans(self) -> None:
        store = MemoryStore()
        for n in range(40):
            store.add_plan(pack_a(f"p{n}", client=f"c{n}"))
        seen = [run_due(store, [], D(2026, 12, 2), shard=k, shards=3).plans for k in range(3)]
        assert sum(seen) == 40
        assert all(seen)


class TestChargedAndNotified:
    """A payment the run charged and the provider's webhook for it are one payment."""

    @pytest.mark.parametrize("webhook_first", [False, True])
    def test_the_charge_and_its_webhook_count_once(self, webhook_first: bool) -> None:
        store, sb, plan = setup()
        notifier = InMemoryNotifier()
        due = plan.installments[1].due
        sb.advance_to(due)
        if webhook_first:
            # The provider's answer is lost on the way back; its webhook arrives first.
            assert sb.charge(store.bindings(plan.id)[0], plan, 2).succeeded
            for event in sb.events:
                headers, body = sb.delivery(event)
                assert receive_webhook(store, sb, headers, body).status < 300
        summary = run_due(store, [sb], due, notifier, contacts={"ada": ADA})
        assert summary.ok, summary.failures
        for event in sb.events:  # every webhook delivered (again) after the run
            headers, body = sb.delivery(event)
            assert receive_webhook(store, sb, headers, body).status < 300
        ledger = store.load(plan.id).ledger
        assert charges(sb)[(plan.id, 2)] == 1
        assert ledger.paid == usd("1000")  # the deposit and installment 2, once each
        assert plan_status(plan, ledger, due).installment(2).status is InstallmentState.PAID


class TestDeclinedAndNotified:
    """A declined charge and the provider's webhook about it are one failed attempt."""

    def test_the_ladder_keeps_its_days_when_failure_webhooks_arrive(self) -> None:
        store, sb, plan = setup(card="pm_s")
        sb.script("pm_s", *[SandboxCard.DECLINE] * 6)
        notifier = InMemoryNotifier()
        first = plan.installments[1].due
        delivered = 0
        for day in days(first, first + dt.timedelta(days=10)):
            sb.advance_to(day)
            assert run_due(store, [sb], day, notifier, contacts={"ada": ADA}).ok
            for event in sb.events[delivered:]:
                headers, body = sb.delivery(event)
                assert receive_webhook(store, sb, headers, body).status < 300
            delivered = len(sb.events)
        ledger = store.load(plan.id).ledger
        failed = sorted(e.on for e in ledger if isinstance(e, PaymentFailed))
        # the default ladder: the first try, then 1, 3 and 7 days later; each failure counted once
        ladder = [first + dt.timedelta(days=k) for k in (0, 1, 3, 7)]
        assert failed == ladder
        keys = [c.idempotency_key for c in sb.calls if c.verb == "charge"]
        assert keys == [f"payplan:{plan.id}:v1:charge:i2:a{n}" for n in (1, 2, 3, 4)]
