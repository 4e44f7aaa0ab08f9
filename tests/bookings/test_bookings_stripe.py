"""Bookings through the real Stripe SDK and adapter against the local fake Stripe (127.0.0.1), on each store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from payplan import InstallmentState, Money, ProviderConnectionError, Refund
from payplan.bookings import Bookings
from payplan.providers import Payer
from payplan.store import StepStatus, Store

stripe = pytest.importorskip("stripe", reason="the Stripe adapter needs payplan[stripe]")

from payplan.providers.stripe import StripeMode, StripeProvider  # noqa: E402
from payplan.testing.server import FakeServer, Fault  # noqa: E402
from payplan.testing.stripe import FakeStripe  # noqa: E402

from .test_bookings import BOOKED, pack_a, signed  # noqa: E402

PAYER = Payer(customer_id="cus_jo", payment_method_id="pm_card_visa", email="jo@example.com")


def noon(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def fake() -> Iterator[tuple[FakeStripe, FakeServer]]:
    """A fresh fake Stripe per test, its clock at noon on the booking day."""
    responder = FakeStripe(start=noon(BOOKED))
    with FakeServer(responder) as server:
        yield responder, server


def provider(server: FakeServer, mode: StripeMode) -> StripeProvider:
    client = stripe.StripeClient("sk_test_bookings", base_addresses={"api": server.url}, max_network_retries=0)
    return StripeProvider(client, webhook_secret="whsec_bookings", mode=mode, clock=lambda: float(noon(BOOKED)))


def posts(server: FakeServer, fragment: str = "") -> int:
    """POSTs the fake received whose path contains *fragment*, replays of an idempotency key excluded."""
    return sum(1 for r in server.requests() if r.method == "POST" and fragment in r.path)


@pytest.mark.parametrize("mode", [StripeMode.INVOICES, StripeMode.AUTO])
def test_book_on_stripe_charges_the_deposit_once(store: Store, fake: tuple[FakeStripe, FakeServer], mode: StripeMode) -> None:
    """Published once, the deposit's invoice paid once; booking again sends no request at all."""
    responder, server = fake
    bookings = Bookings(store, [provider(server, mode)])
    booking = bookings.book(pack_a(), PAYER, provider="stripe", on=BOOKED)
    assert booking.status(BOOKED).installments[0].status is InstallmentState.PAID
    assert len(responder.charges) == 1
    sent = len(server.requests())
    bookings.book(pack_a(), PAYER, provider="stripe", on=BOOKED)
    assert len(server.requests()) == sent


def test_a_lost_answer_inside_the_deposit_charge_is_finished_once(store: Store, fake: tuple[FakeStripe, FakeServer]) -> None:
    """Stripe paid the invoice and the answer was lost: resume() records it from a replay, no second charge."""
    responder, server = fake
    bookings = Bookings(store, [provider(server, StripeMode.INVOICES)])
    server.inject(Fault.DROP_AFTER, when=lambda r: r.path.endswith("/pay"))
    with pytest.raises(ProviderConnectionError):
        bookings.book(pack_a(), PAYER, provider="stripe", on=BOOKED)
    assert len(responder.charges) == 1
    assert store.load("bk-1").ledger.paid.minor == 0
    (step,) = bookings.resume()
    assert step.name == "book"
    assert store.load("bk-1").ledger.paid == Money.of("500.00", "USD")
    assert len(responder.charges) == 1
    assert store.steps(status=StepStatus.STARTED) == ()


def test_cancel_and_goodwill_refund_on_stripe(store: Store, fake: tuple[FakeStripe, FakeServer]) -> None:
    """A goodwill refund is a price reduction; the cancellation refunds the rest and cancels the invoices, once."""
    _, server = fake
    bookings = Bookings(store, [provider(server, StripeMode.INVOICES)])
    bookings.book(pack_a(), PAYER, provider="stripe", on=BOOKED)
    bookings.refund("bk-1", Money.of("50.00", "USD"), on=BOOKED, reason="late photos", lowers_price=True)
    (goodwill,) = [e for e in store.load("bk-1").ledger if isinstance(e, Refund)]
    assert goodwill.lowers_price
    booking = bookings.cancel("bk-1", on=dt.date(2026, 12, 10), reason="client cancelled")
    assert booking.cancelled
    assert not booking.active
    assert booking.ledger.refunded == Money.of("500.00", "USD")
    refunds = posts(server, "/v1/refunds")
    assert refunds == 2
    bookings.cancel("bk-1", on=dt.date(2026, 12, 10), reason="client cancelled")
    assert posts(server, "/v1/refunds") == refunds


def test_pay_now_on_stripe(store: Store, fake: tuple[FakeStripe, FakeServer]) -> None:
    """An overdue installment charged now through Stripe, recorded under the daily run's id."""
    responder, server = fake
    bookings = Bookings(store, [provider(server, StripeMode.INVOICES)])
    bookings.book(pack_a(), PAYER, provider="stripe", on=BOOKED)
    (outcome,) = bookings.pay_now("bk-1", on=dt.date(2027, 1, 5))
    assert outcome.succeeded
    assert "bk-1:charge:2:a1" in store.load("bk-1").ledger
    assert len(responder.charges) == 2


def test_cancel_after_a_refund_and_a_later_payment_refunds_what_each_payment_has_left(
    store: Store, fake: tuple[FakeStripe, FakeServer]
) -> None:
    """$50 back off the deposit, then installment 2 paid: the cancellation refunds $450 + $500, as Stripe allows."""
    _, server = fake
    bookings = Bookings(store, [provider(server, StripeMode.INVOICES)])
    bookings.book(pack_a(), PAYER, provider="stripe", on=BOOKED)
    bookings.refund("bk-1", Money.of("50.00", "USD"), on=BOOKED, reason="late proofs", lowers_price=True)
    bookings.pay_now("bk-1", on=dt.date(2027, 1, 5))
    booking = bookings.cancel("bk-1", on=dt.date(2027, 1, 10))
    assert booking.settlement is not None
    assert sorted(i.amount.minor for i in booking.settlement.refunds) == [45000, 50000]
    assert booking.ledger.refunded == Money.of("1000.00", "USD")
    assert booking.steps[-1].status is StepStatus.DONE


def test_a_double_submitted_booking_charges_once(store: Store, fake: tuple[FakeStripe, FakeServer]) -> None:
    """Two book() calls at once (a double submit): both end with the booking, the deposit asked for once."""
    import threading

    responder, server = fake
    bookings = Bookings(store, [provider(server, StripeMode.INVOICES)])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit() -> None:
        barrier.wait()
        try:
            bookings.book(pack_a(), PAYER, provider="stripe", on=BOOKED, agreement=signed(pack_a()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(responder.charges) == 1
    assert posts(server, "/pay") == 1  # the second call waited for the first and found it done
    assert store.load("bk-1").ledger.paid == Money.of("500.00", "USD")
    assert [s.status for s in store.steps()] == [StepStatus.DONE]
