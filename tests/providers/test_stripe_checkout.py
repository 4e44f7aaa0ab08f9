"""Collecting a payer through Stripe Checkout in setup mode: the real SDK and adapter against FakeStripe on 127.0.0.1.

``StripeProvider.start_checkout`` makes the customer and the session once,
the fake's hosted page saves a test card the way Checkout does,
``finish_checkout`` reads the payer back, and that payer's card is charged
by the fake's own invoice paths.
"""

from __future__ import annotations

import datetime as dt
import http.client
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")

from payplan.exceptions import ProviderRequestError  # noqa: E402
from payplan.providers import ChargeStatus, Payer  # noqa: E402
from payplan.providers.stripe import Checkout, StripeMode, StripeProvider  # noqa: E402
from payplan.testing.stripe import FakeStripe  # noqa: E402

from . import stripe_fixtures as sf  # noqa: E402
from .contract import reference_plan  # noqa: E402

BACK = "https://studio.example/back?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://studio.example/agreement"


class World:
    """FakeStripe served on 127.0.0.1, the adapter through the real SDK, on the fake's clock."""

    def __init__(self) -> None:
        self.fake = FakeStripe(start=dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC), webhook_secret="whsec_checkout")
        self.server = self.fake.serve()
        client = stripe.StripeClient("sk_test_checkout", base_addresses={"api": self.server.url}, max_network_retries=0)
        self.provider = StripeProvider(client, webhook_secret="whsec_checkout", mode=StripeMode.INVOICES,
                                       clock=self.fake.clock)

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.fake.objects.values() if o.get("object") == kind]

    def pay_page(self, page: Checkout, card: str = "4242424242424242") -> tuple[int, str, str]:
        """The client picks *card* on the hosted page: (status, Location header, body)."""
        where = urllib.parse.urlsplit(page.url)
        conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
        try:
            conn.request("POST", where.path, body=urllib.parse.urlencode({"card": card}),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            answer = conn.getresponse()
            return answer.status, answer.getheader("Location") or "", answer.read().decode()
        finally:
            conn.close()

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    yield w
    w.close()


def posts_of(world: World, path: str) -> list[dict[str, str]]:
    """The form bodies of the POSTs to *path* Stripe received."""
    return [r.form() for r in world.server.requests() if r.method == "POST" and r.path == path]


def start(world: World, plan_id: str = "co-1", **options: Any) -> tuple[Any, Checkout]:
    plan = reference_plan(plan_id)
    return plan, world.provider.start_checkout(plan, success_url=BACK, cancel_url=CANCEL, email="ada@example.com",
                                               name="Ada Lovelace", **options)


class TestStartCheckout:
    def test_a_double_call_makes_one_customer_and_one_session(self, world: World) -> None:
        """Called twice (a double click), it makes one customer and one setup-mode session, with the plan's id on both."""
        plan, first = start(world)
        _, second = start(world)
        assert second == first
        (customer,) = world.objects("customer")
        (session,) = world.objects("checkout.session")
        assert (customer["id"], customer["email"], customer["name"]) == (first.customer_id, "ada@example.com", "Ada Lovelace")
        assert customer["metadata"] == {"payplan_plan_id": plan.id}
        assert (session["id"], session["mode"], session["currency"], session["customer"]) == (
            first.session_id, "setup", "usd", first.customer_id)
        assert session["metadata"] == {"payplan_plan_id": plan.id}
        assert (session["success_url"], session["cancel_url"]) == (BACK, CANCEL)
        assert posts_of(world, "/v1/checkout/sessions")[0]["allowed_payment_method_types[0]"] == "card"
        assert first.url == session["url"]
        assert first.url.startswith(world.server.url)
        assert first.expires_at == dt.datetime(2026, 12, 2, 15, tzinfo=dt.UTC)
        posts = [r for r in world.server.requests() if r.method == "POST"]
        assert [r.path for r in posts] == ["/v1/customers", "/v1/checkout/sessions"] * 2
        assert len({r.header("Idempotency-Key") for r in posts}) == 2

    def test_success_url_without_the_placeholder_is_refused_before_any_request(self, world: World) -> None:
        """A success URL Stripe could not put the session id in is refused, and nothing is made."""
        with pytest.raises(ProviderRequestError, match=r"success_url holding \{CHECKOUT_SESSION_ID\}"):
            world.provider.start_checkout(reference_plan("co-url"), success_url="https://studio.example/back",
                                          cancel_url=CANCEL)
        assert world.server.requests() == []

    def test_a_known_customer_is_reused(self, world: World) -> None:
        """With *customer_id*, no customer is made; a new *attempt* makes a new page."""
        plan, first = start(world)
        again = world.provider.start_checkout(plan, success_url=BACK, cancel_url=CANCEL,
                                              customer_id=first.customer_id, attempt=2)
        assert again.customer_id == first.customer_id
        assert again.session_id != first.session_id
        assert len(world.objects("customer")) == 1


class TestFinishCheckout:
    def test_a_completed_session_gives_a_payer_whose_card_is_charged(self, world: World) -> None:
        """Back from the page: the payer is the customer and the card saved on it, and the deposit is charged to it."""
        plan, page = start(world)
        status, location, _ = world.pay_page(page)
        assert status == 303
        assert location == BACK.replace("{CHECKOUT_SESSION_ID}", page.session_id)
        payer = world.provider.finish_checkout(plan, page.session_id)
        (method,) = world.objects("payment_method")
        assert payer == Payer(customer_id=page.customer_id, payment_method_id=method["id"], email="ada@example.com")
        assert method["customer"] == page.customer_id
        assert world.provider.finish_checkout(plan.id, page.session_id) == payer  # read again: the same payer
        binding = world.provider.publish(plan, payer)
        outcome = world.provider.charge(binding, plan, 1)
        assert outcome.status is ChargeStatus.SUCCEEDED
        (paid,) = [i for i in world.objects("invoice") if i["status"] == "paid"]
        assert paid["default_payment_method"] == method["id"]
        kinds = [e["type"] for e in world.fake.events]
        assert kinds.index("checkout.session.completed") < kinds.index("invoice.paid")

    def test_complete_checkout_without_a_browser(self, world: World) -> None:
        """``FakeStripe.complete_checkout`` does what the page's POST does, and refuses what the page refuses."""
        plan, page = start(world)
        with pytest.raises(ValueError, match="declined"):
            world.fake.complete_checkout(page.session_id, "4000000000000002")
        back = world.fake.complete_checkout(page.session_id)
        assert back == BACK.replace("{CHECKOUT_SESSION_ID}", page.session_id)
        assert world.provider.finish_checkout(plan, page.session_id).customer_id == page.customer_id
        with pytest.raises(ValueError, match="expected an open Checkout Session"):
            world.fake.complete_checkout(page.session_id)

    def test_a_saved_card_that_declines_and_a_scripted_one(self, world: World) -> None:
        """The 0341 card saves, then its charges are declined; a saved card can be scripted like a test card."""
        plan, page = start(world)
        world.pay_page(page, "4000000000000341")
        payer = world.provider.finish_checkout(plan, page.session_id)
        binding = world.provider.publish(plan, payer)
        declined = world.provider.charge(binding, plan, 1)
        assert (declined.status, declined.decline_code) == (ChargeStatus.DECLINED, "card_declined")
        assert payer.payment_method_id is not None
        world.fake.script(payer.payment_method_id, "pm_card_visa")
        assert world.provider.charge(binding, plan, 1, attempt=2).status is ChargeStatus.SUCCEEDED

    def test_an_open_session_is_refused(self, world: World) -> None:
        """Before the card is saved (or after a card declined on the page), the session is open: refused, and said so."""
        plan, page = start(world)
        with pytest.raises(ProviderRequestError, match="has not saved a card yet") as refused:
            world.provider.finish_checkout(plan, page.session_id)
        assert refused.value.provider_code == "checkout_open"
        status, _, body = world.pay_page(page, "4000000000000002")
        assert status == 402
        assert "Your card was declined." in body
        with pytest.raises(ProviderRequestError) as still:
            world.provider.finish_checkout(plan, page.session_id)
        assert still.value.provider_code == "checkout_open"
        assert world.pay_page(page)[0] == 303  # another card on the same page
        assert world.provider.finish_checkout(plan, page.session_id).payment_method_id

    def test_an_expired_session_is_refused(self, world: World) -> None:
        """24 hours on the fake's clock expire the page: it takes no card and the session is refused as expired."""
        plan, page = start(world)
        world.fake.advance(dt.timedelta(hours=24))
        status, _, body = world.pay_page(page)
        assert status == 410
        assert "expired" in body
        with pytest.raises(ProviderRequestError, match="expired before a card was saved") as refused:
            world.provider.finish_checkout(plan, page.session_id)
        assert refused.value.provider_code == "checkout_expired"
        assert "checkout.session.expired" in [e["type"] for e in world.fake.events]

    def test_another_plans_session_is_refused(self, world: World) -> None:
        """A session id of another plan (an edited return link) is refused, not taken for this plan's payer."""
        _other, page = start(world, "co-other")
        world.pay_page(page)
        with pytest.raises(ProviderRequestError, match="of plan co-other") as refused:
            world.provider.finish_checkout("co-mine", page.session_id)
        assert refused.value.provider_code == "checkout_foreign"
        for bad in ("in_123", "cs_test_nonexistent"):
            with pytest.raises(ProviderRequestError):
                world.provider.finish_checkout("co-mine", bad)

    def test_a_card_saved_on_another_customer_is_refused_by_stripe(self, world: World) -> None:
        """A payment method saved on one customer cannot be billed to another (Stripe refuses; so does the fake)."""
        plan, page = start(world)
        world.pay_page(page)
        payer = world.provider.finish_checkout(plan, page.session_id)
        stranger = world.provider.start_checkout(reference_plan("co-stranger"), success_url=BACK, cancel_url=CANCEL)
        with pytest.raises(ProviderRequestError, match="must be attached to the customer"):
            world.provider.publish(reference_plan("co-stranger"),
                                   Payer(stranger.customer_id, payer.payment_method_id))


#: The objects the Checkout flow makes, each against Stripe's own example of it.
@pytest.mark.parametrize("kind", ["customer", "checkout.session", "setup_intent", "payment_method"])
def test_checkout_objects_carry_exactly_stripes_keys(world: World, kind: str) -> None:
    """Every Checkout object the fake serves has the top-level keys of Stripe's own example of it, no more, no fewer."""
    plan, page = start(world)
    world.pay_page(page)
    world.provider.finish_checkout(plan, page.session_id)
    example = sf.example(kind)
    objects = world.objects(kind)
    assert objects
    for obj in objects:
        assert set(obj) == set(example), (kind, set(obj) ^ set(example))
    if kind == "checkout.session":
        assert set(objects[0]["customer_details"]) == set(example["customer_details"])
    if kind == "payment_method":
        assert set(objects[0]["card"]) == set(example["card"])
        assert set(objects[0]["billing_details"]) == set(example["billing_details"])
