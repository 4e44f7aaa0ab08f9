"""FakeStripe's clock: Stripe's days, run through the real SDK and the adapter, like Stripe's test clocks.

Moving the fake's clock finalizes and charges invoices on their dates,
runs subscription-schedule periods, retries declines as Stripe's Smart
Retries do, prunes idempotency keys after 24 hours, and queues the signed
webhooks of all of it; the adapter, given ``clock=fake.clock``, accepts those
deliveries and records the money. Objects carry exactly the keys of Stripe's
own example objects.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")

from payplan import InstallmentState, Money, plan_status  # noqa: E402
from payplan.exceptions import ProviderAuthError  # noqa: E402
from payplan.providers import ChargeStatus, EventKind, Payer, ProviderBinding  # noqa: E402
from payplan.providers.stripe import StripeMode, StripeProvider  # noqa: E402
from payplan.store import MemoryStore, Store, receive_webhook  # noqa: E402
from payplan.testing import SandboxCard  # noqa: E402
from payplan.testing import stripe as fake  # noqa: E402
from payplan.testing.server import Delivery  # noqa: E402

from . import stripe_fixtures as sf  # noqa: E402
from .contract import reference_plan  # noqa: E402

SECRET = "whsec_clock"
CUSTOMER = "cus_clock"
BOOKED = dt.date(2026, 12, 1)
USD = "USD"


class World:
    """A fake Stripe with a clock, an adapter on its clock and a store its webhooks land in."""

    def __init__(self, mode: StripeMode = StripeMode.INVOICES) -> None:
        self.fake = fake.FakeStripe(start=dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC), webhook_secret=SECRET)
        self.server = self.fake.serve()
        client = stripe.StripeClient("sk_test_clock", base_addresses={"api": self.server.url}, max_network_retries=0)
        self.provider = StripeProvider(client, webhook_secret=SECRET, mode=mode, clock=self.fake.clock)
        self.store: Store = MemoryStore()

    def book(self, plan_id: str, card: str = "pm_card_visa") -> tuple[Any, ProviderBinding]:
        plan = reference_plan(plan_id)
        self.store.add_plan(plan)
        binding = self.provider.publish(plan, Payer(CUSTOMER, card))
        self.store.save_binding(binding)
        return plan, binding

    def day(self, day: dt.date) -> list[dict[str, Any]]:
        """Advance to the end of *day*, delivering each webhook as it happens; return the events."""
        events: list[dict[str, Any]] = []

        def post(delivery: Delivery) -> None:
            events.append(delivery.event)
            answer = receive_webhook(self.store, self.provider, delivery.headers, delivery.body)
            assert answer.status in (200, 202), answer

        assert self.fake.advance_to(day, deliver=post) == []
        return events

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    yield w
    w.close()


@pytest.fixture
def schedule_world() -> Iterator[World]:
    w = World(StripeMode.AUTO)
    yield w
    w.close()


_PAYMENT_EVENTS = frozenset(
    {"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed", "invoice.payment_action_required"}
)


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    while start <= end:
        yield start
        start += dt.timedelta(days=1)


class TestInvoicesOverTime:
    """Invoices mode: each installment's invoice is finalized and charged on its due date, and its webhook lands."""

    def test_pack_a_is_collected_on_its_dates(self, world: World) -> None:
        """Four invoices, each paid on its due day (UTC plan), every payment in the ledger through the webhooks."""
        plan, binding = world.book("clock-invoices")
        seen: dict[int, dt.date] = {}
        for day in days(BOOKED, dt.date(2027, 3, 2)):
            for e in world.day(day):
                if e["type"] == "invoice.paid":
                    number = int(e["data"]["object"]["metadata"]["payplan_installment"])
                    seen[number] = dt.datetime.fromtimestamp(e["created"], dt.UTC).date()
        assert seen == {i.number: i.due for i in plan.installments}
        ledger = world.store.load(plan.id).ledger
        assert ledger.paid == Money.of("2000.00", USD)
        assert plan_status(plan, ledger, dt.date(2027, 3, 2)).paid_in_full
        assert all(world.fake.objects[binding.id(f"invoice:{n}")]["status"] == "paid" for n in range(1, 5))

    def test_nothing_happens_before_the_due_date(self, world: World) -> None:
        """Installment 2 (due 2027-01-01) is still a draft at the end of 2026-12-31."""
        _, binding = world.book("clock-early")
        world.day(dt.date(2026, 12, 31))
        assert world.fake.objects[binding.id("invoice:2")]["status"] == "draft"
        world.day(dt.date(2027, 1, 1))
        assert world.fake.objects[binding.id("invoice:2")]["status"] == "paid"

    def test_clock_never_goes_back(self, world: World) -> None:
        """Advancing to an earlier time is refused with both times in the message."""
        world.fake.advance_to(dt.date(2026, 12, 5))
        with pytest.raises(ValueError, match="on or after"):
            world.fake.advance_to(dt.date(2026, 12, 4))


class TestSmartRetries:
    """A soft decline is retried on Stripe's schedule; hard declines and authentication wait for the client."""

    def test_declined_then_paid_on_the_second_retry(self, world: World) -> None:
        """Declined on the due date and 3 days later, paid 7 days after the first failure; the ledger sees both failures."""
        # The deposit goes through at signing; installment 2 is declined twice, then paid.
        world.fake.script("pm_retry", "pm_card_visa", "pm_card_chargeDeclined", SandboxCard.DECLINE, "pm_card_visa")
        plan, binding = world.book("clock-retry", "pm_retry")
        invoice = binding.id("invoice:2")
        events = [e for day in days(BOOKED, dt.date(2027, 1, 20)) for e in world.day(day)]
        mine = [e for e in events if e["data"]["object"].get("id") == invoice and e["type"] in _PAYMENT_EVENTS]
        assert [(e["type"], dt.datetime.fromtimestamp(e["created"], dt.UTC).date()) for e in mine] == [
            ("invoice.payment_failed", dt.date(2027, 1, 1)),
            ("invoice.payment_failed", dt.date(2027, 1, 4)),
            ("invoice.paid", dt.date(2027, 1, 8)),
            ("invoice.payment_succeeded", dt.date(2027, 1, 8)),
        ]
        assert mine[0]["data"]["object"]["next_payment_attempt"] is not None
        ledger = world.store.load(plan.id).ledger
        assert ledger.failed_attempts == 2
        assert plan_status(plan, ledger, dt.date(2027, 1, 8)).installment(2).status is InstallmentState.PAID

    def test_retries_stop_after_stripes_window(self, world: World) -> None:
        """A card that always declines is tried on the due date and 4 more times within 21 days, then left open."""
        _, binding = world.book("clock-exhausted", "pm_card_chargeDeclined")
        invoice = binding.id("invoice:2")
        events = [e for day in days(BOOKED, dt.date(2027, 3, 1)) for e in world.day(day)]
        failed = [
            dt.datetime.fromtimestamp(e["created"], dt.UTC).date()
            for e in events if e["type"] == "invoice.payment_failed" and e["data"]["object"]["id"] == invoice
        ]
        first = dt.date(2027, 1, 1)
        assert failed == [first + dt.timedelta(days=d) for d in (0, 3, 7, 14, 21)]
        assert world.fake.objects[invoice]["status"] == "open"
        assert world.fake.objects[invoice]["next_payment_attempt"] is None

    @pytest.mark.parametrize(
        ("card", "kind"),
        [("pm_card_chargeDeclinedExpiredCard", "invoice.payment_failed"),
         ("pm_card_authenticationRequired", "invoice.payment_action_required")],
    )
    def test_hard_declines_are_not_retried(self, world: World, card: str, kind: str) -> None:
        """An expired card or a payment needing authentication is tried once; the client must act."""
        _, binding = world.book(f"clock-hard-{card[-8:]}", card)
        invoice = binding.id("invoice:2")
        events = [e for day in days(dt.date(2027, 1, 1), dt.date(2027, 1, 31)) for e in world.day(day)]
        mine = [e["type"] for e in events if e["data"]["object"].get("id") == invoice and e["type"] in _PAYMENT_EVENTS]
        assert mine == [kind]


class TestScheduleOverTime:
    """Default mode: the deposit at signing, then the schedule's periods billed by Stripe, then completed."""

    def test_pack_a_on_a_schedule(self, schedule_world: World) -> None:
        """Deposit charged at signing; three subscription invoices paid on 1 Jan, 1 Feb, 1 Mar; schedule completed."""
        w = schedule_world
        plan, binding = w.book("clock-schedule")
        assert "schedule" in binding.ids
        assert w.provider.charge(binding, plan, 1).status is ChargeStatus.SUCCEEDED
        paid: list[dt.date] = []
        for day in days(BOOKED, dt.date(2027, 4, 2)):
            for e in w.day(day):
                obj = e["data"]["object"]
                if e["type"] == "invoice.paid" and obj.get("parent"):
                    assert obj["parent"]["subscription_details"]["metadata"]["payplan_plan_id"] == plan.id
                    paid.append(dt.datetime.fromtimestamp(e["created"], dt.UTC).date())
        assert paid == [dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)]
        schedule = w.fake.objects[binding.id("schedule")]
        assert schedule["status"] == "completed"
        ledger = w.store.load(plan.id).ledger
        assert ledger.paid == Money.of("2000.00", USD)
        assert plan_status(plan, ledger, dt.date(2027, 3, 1)).paid_in_full

    def test_cancelled_schedule_bills_nothing_more(self, schedule_world: World) -> None:
        """After cancel() no further period is invoiced."""
        w = schedule_world
        _, binding = w.book("clock-schedule-cancel")
        w.day(dt.date(2027, 1, 15))
        w.provider.cancel(binding)
        events = [e for day in days(dt.date(2027, 1, 16), dt.date(2027, 4, 1)) for e in w.day(day)]
        assert [e["type"] for e in events if e["type"] == "invoice.created"] == []


class TestWebhookClock:
    """StripeProvider(clock=...) judges a signature's age by its own clock, not the system's."""

    @pytest.mark.parametrize("until", [dt.date(2026, 12, 2), dt.date(2027, 12, 1)], ids=["past", "future"])
    def test_delivery_signed_at_the_fake_time_is_accepted_far_from_now(self, world: World, until: dt.date) -> None:
        """The fake's time is days behind or a year ahead of the system clock; its deliveries verify by the adapter's clock."""
        world.book("clock-sig")
        deliveries = world.fake.advance_to(until)
        assert abs(world.fake.clock() - time.time()) > 3 * 86_400
        events = [e for d in deliveries for e in world.provider.parse_webhook(d.headers, d.body)]
        assert EventKind.PAYMENT_SUCCEEDED in {e.kind for e in events}

    def test_stale_by_the_adapters_clock_is_refused(self, world: World) -> None:
        """A delivery signed at the system's time is stale to an adapter whose clock reads the fake's."""
        world.book("clock-stale")
        event = world.fake.advance_to(dt.date(2027, 6, 1))[-1].event
        headers, body = fake.signed_delivery(event, SECRET, timestamp=int(time.time()))
        with pytest.raises(ProviderAuthError, match="signed within 300s"):
            world.provider.parse_webhook(headers, body)
        headers, body = fake.signed_delivery(event, SECRET, timestamp=world.fake.frozen_time - 299)
        world.provider.parse_webhook(headers, body)


class TestDeliveries:
    """Webhooks queue until taken: advance_to returns them, deliveries() peeks, take_deliveries()/deliver() take."""

    def test_calls_queue_deliveries_until_taken(self, world: World) -> None:
        """A charge's events wait in the queue, signed at the time they are taken; taking empties the queue."""
        plan, binding = world.book("clock-queue")
        world.provider.charge(binding, plan, 1)
        peeked = world.fake.deliveries()
        assert [d.type for d in peeked] == [e["type"] for e in world.fake.pending_webhooks()]
        assert "invoice.paid" in [d.type for d in peeked]
        taken = world.fake.advance(120)
        assert [d.type for d in taken] == [d.type for d in peeked]
        assert all(f"t={world.fake.frozen_time}," in d.headers["Stripe-Signature"] for d in taken)
        assert world.fake.take_deliveries() == []
        assert world.fake.deliver(lambda d: d) == []


class TestStripesMemory:
    """Idempotency keys are forgotten after 24 hours; search lags a minute."""

    def test_key_pruned_after_a_day(self, world: World) -> None:
        """The same key replays within 24 hours and creates anew after."""
        client = world.provider._client
        body = {"customer": CUSTOMER, "currency": "usd"}
        first = client.v1.invoices.create(body, {"idempotency_key": "k-prune"})
        world.fake.advance(dt.timedelta(hours=23))
        assert client.v1.invoices.create(body, {"idempotency_key": "k-prune"}).id == first.id
        world.fake.advance(dt.timedelta(hours=2))
        assert client.v1.invoices.create(body, {"idempotency_key": "k-prune"}).id != first.id

    def test_search_sees_an_invoice_a_minute_later(self, world: World) -> None:
        """Invoice search by metadata finds nothing at once, the invoice a minute later."""
        client = world.provider._client
        made = client.v1.invoices.create({"customer": CUSTOMER, "metadata": {"payplan_fee": "f'1"}})
        query = "metadata['payplan_fee']:'f\\'1'"
        assert client.v1.invoices.search({"query": query}).data == []
        world.fake.advance(61)
        assert [i.id for i in client.v1.invoices.search({"query": query}).data] == [made.id]


class TestFeeChargedOnce:
    """charge_fee finds the fee's earlier invoice however long ago, so a fee is charged once, forever."""

    def fee_setup(self, world: World, card: str) -> tuple[Any, ProviderBinding]:
        plan, binding = world.book(f"clock-fee-{card[-6:]}", card)
        return plan, binding

    def fee_invoices(self, world: World, plan_id: str) -> list[dict[str, Any]]:
        return [o for o in world.fake.objects.values()
                if o.get("object") == "invoice" and o["metadata"].get("payplan_fee") == f"{plan_id}:late-fee:2:1"]

    def test_retry_days_after_a_decline_pays_the_same_invoice(self, world: World) -> None:
        """Declined, then retried two days later (the keys pruned): the same open invoice is paid, no second one."""
        world.fake.script("pm_fee", "pm_card_chargeDeclined")
        plan, binding = self.fee_setup(world, "pm_fee")
        fee_id, fee = f"{plan.id}:late-fee:2:1", Money.of("35.00", USD)
        first = world.provider.charge_fee(binding, plan, fee_id, fee)
        assert first.status is ChargeStatus.DECLINED
        world.fake.advance(dt.timedelta(days=2))
        second = world.provider.charge_fee(binding, plan, fee_id, fee, attempt=2)
        assert second.succeeded
        assert second.reference == first.reference
        assert [i["status"] for i in self.fee_invoices(world, plan.id)] == ["paid"]

    def test_lost_answer_then_retry_days_later_charges_nothing(self, world: World) -> None:
        """Charged, the answer lost, retried two days later: SUCCEEDED from the paid invoice, nothing charged twice."""
        plan, binding = self.fee_setup(world, "pm_card_visa")
        fee_id, fee = f"{plan.id}:late-fee:2:1", Money.of("35.00", USD)
        first = world.provider.charge_fee(binding, plan, fee_id, fee)
        assert first.succeeded
        world.fake.advance(dt.timedelta(days=2))
        again = world.provider.charge_fee(binding, plan, fee_id, fee, attempt=2)
        assert again.succeeded
        assert again.reference == first.reference
        assert len(self.fee_invoices(world, plan.id)) == 1
        payments = [o for o in world.fake.objects.values()
                    if o.get("object") == "invoice_payment" and o["invoice"] == first.reference]
        assert len(payments) == 1


def test_fee_on_a_schedule_plan_is_charged_to_the_plans_card(schedule_world: World) -> None:
    """Under a subscription schedule a fee is charged to the payer's card, not to whatever Stripe would default to."""
    w = schedule_world
    plan, binding = w.book("clock-fee-schedule", "pm_card_chargeDeclinedExpiredCard")
    assert binding.ids["payment_method"] == "pm_card_chargeDeclinedExpiredCard"
    outcome = w.provider.charge_fee(binding, plan, f"{plan.id}:late-fee:2:1", Money.of("35.00", USD))
    assert outcome.status is ChargeStatus.DECLINED
    assert outcome.decline_code == "expired_card"


# -- exact keys ---------------------------------------------------------------------------------

#: Keys Stripe's example object has that the fake leaves out on purpose, with why.
_LEFT_OUT = {"charge": {"refunds"}}  # not sent since API 2022-11-15 unless expanded


def _fake_objects() -> dict[str, list[dict[str, Any]]]:
    """One run that makes every kind of object the adapter reads: schedule, invoices, payments, refunds, events."""
    w = World(StripeMode.AUTO)
    try:
        plan, binding = w.book("clock-keys")
        w.provider.charge(binding, plan, 1)
        w.fake.advance_to(dt.date(2027, 1, 2))
        w.provider.refund(binding, binding.id("invoice:1"), Money.of("10.00", USD))
        kinds: dict[str, list[dict[str, Any]]] = {}
        for obj in w.fake.objects.values():
            kinds.setdefault(obj["object"], []).append(obj)
        kinds["event"] = list(w.fake.events)
        kinds["line_item"] = [line for i in kinds["invoice"] for line in i["lines"]["data"]]
        return kinds
    finally:
        w.close()


@pytest.mark.parametrize(
    "kind",
    ["invoice", "invoice_payment", "refund", "charge", "subscription_schedule", "event", "product", "invoiceitem",
     "line_item", "payment_intent"],
)
def test_objects_carry_exactly_stripes_keys(kind: str) -> None:
    """Every object the fake serves has the top-level keys of Stripe's own example of it, no more, no fewer."""
    example = sf.example("invoice")["lines"]["data"][0] if kind == "line_item" else sf.example(kind)
    objects = _fake_objects()[kind]
    assert objects, kind
    for obj in objects:
        assert set(obj) == set(example) - _LEFT_OUT.get(kind, set()), (kind, obj.get("id"))
    if kind == "refund":
        assert all("failure_reason" not in o for o in objects if o["status"] == "succeeded")
    if kind == "invoice_payment":
        assert {tuple(sorted(o["payment"])) for o in objects} == {("payment_intent", "type")}
    if kind == "subscription_schedule":
        phase = objects[0]["phases"][0]
        assert set(phase) == set(sf.example("subscription_schedule")["phases"][0])
        assert set(phase["items"][0]) == set(sf.example("subscription_schedule")["phases"][0]["items"][0])


@pytest.mark.parametrize(
    ("card", "reason"),
    [("pm_card_chargeDeclined", "card_declined"), ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
     ("pm_card_authenticationRequired", "authentication_required")],
)
def test_failed_collection_says_why(world: World, card: str, reason: str) -> None:
    """An installment Stripe failed to collect is a failed attempt with the card's reason, read from its PaymentIntent."""
    plan, _ = world.book(f"clock-why-{reason[:8]}", card)
    world.day(dt.date(2026, 12, 1))
    failures = [e for e in world.store.load(plan.id).ledger if e.kind == "payment_failed"]
    assert [(f.installment, f.reason) for f in failures] == [(1, reason)]
