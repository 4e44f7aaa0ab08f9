"""The deployed site (not demo mode) on Stripe takes a real booking: the card is saved on Stripe Checkout's page.

Stripe here is payplan's FakeStripe on 127.0.0.1 (``STRIPE_API_BASE``), which
also serves Checkout's hosted page; the site, its settings and its code path
are the deployed ones: no test cards on the form, the client sent to
Checkout after signing, the booking made with the saved card when Stripe
sends them back, once however often they come back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveSite
from .test_pages import GOOD, FormClient, deployed

pytest.importorskip("stripe", reason="the deployed site runs on Stripe")

SECRET = "whsec_test_endpoint_secret_of_this_site"


class DeployedSite:
    """The site as deployed (settings from the environment, SMTP replaced by memory), its Stripe a FakeStripe."""

    def __init__(self, tmp: Path) -> None:
        from booking_site import create_app, site_of
        from werkzeug.serving import make_server

        from payplan.notify import InMemoryNotifier
        from payplan.store.sql import upgrade
        from payplan.testing.stripe import FakeStripe

        self.fake = FakeStripe(start=int(time.time()), webhook_secret=SECRET)
        self.stripe = self.fake.serve()
        # Plain HTTP on 127.0.0.1 for the browser (deployed, it is HTTPS with Secure cookies).
        settings = dataclasses.replace(deployed(tmp, STRIPE_API_BASE=self.stripe.url), https=False)
        assert not settings.demo
        upgrade(settings.database)  # `payplan db upgrade`, as docs/deploying.md says
        self.app = create_app(settings, InMemoryNotifier())
        self.site = site_of(self.app)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.fake.objects.values() if o.get("object") == kind]

    def charges(self) -> list[str]:
        """The paths of the charge requests Stripe received (``POST /v1/invoices/<id>/pay``)."""
        return [r.path for r in self.stripe.requests() if r.method == "POST" and r.path.endswith("/pay")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.site.close()
        self.stripe.stop()


@pytest.fixture
def deployed_site(tmp_path: Path) -> Iterator[DeployedSite]:
    running = DeployedSite(tmp_path)
    yield running
    running.close()


class TestCheckoutInABrowser:
    def test_book_save_the_card_on_checkout_come_back_booked(self, deployed_site: DeployedSite, browser_page: Any,
                                                             shots: Any) -> None:
        """No test cards; signing sends the client to Checkout, the card saved there pays the deposit once, and
        the return link followed again (or the webhooks) changes nothing."""
        page, live, site = browser_page, deployed_site, deployed_site.site
        page.goto(live.url + "/book/session-pack-a")
        assert page.query_selector("#card") is None, "a deployed site offers no test cards"
        assert "Stripe's secure page" in page.inner_text("#card-note")
        page.fill("#name", "Grace Hopper")
        page.fill("#email", "grace@example.com")
        page.click("#continue")
        page.wait_for_selector("#agreement")
        assert "charged to it when you come back" in page.inner_text("#checkout-note")
        page.fill("#signature", "Grace Hopper")
        page.check("#accept")
        page.click("#sign")

        # Stripe Checkout's page (the fake's, on its own origin): the client saves a card there.
        page.wait_for_selector("#checkout-form")
        assert page.url.startswith(live.stripe.url + "/c/pay/cs_test_")
        assert "grace@example.com" in page.content()
        assert site.store.plan_ids() == (), "nothing is booked before the card is saved"
        shots(page, "checkout-page")
        page.check("input[value='4242424242424242']")
        page.click("#checkout-submit")

        # Back on the site: booked with the saved card, the deposit charged once.
        page.wait_for_selector("#client-schedule")
        assert page.url.startswith(live.url + "/b/")
        assert "first payment was charged" in page.inner_text(".flash")
        assert page.inner_text("#paid") == "$500.00"
        shots(page, "booked")
        (plan_id,) = site.store.plan_ids()
        (customer,) = live.objects("customer")
        (session,) = live.objects("checkout.session")
        (method,) = live.objects("payment_method")
        assert (customer["email"], customer["name"]) == ("grace@example.com", "Grace Hopper")
        assert (session["status"], session["metadata"]) == ("complete", {"payplan_plan_id": plan_id})
        assert method["customer"] == customer["id"]
        binding = site.store.current_binding(plan_id)
        assert binding is not None
        assert (binding.ids["customer"], binding.ids["payment_method"]) == (customer["id"], method["id"])
        assert len(live.charges()) == 1
        (deposit,) = [i for i in live.objects("invoice") if i["status"] == "paid"]
        assert (deposit["amount_paid"], deposit["default_payment_method"]) == (50000, method["id"])

        # The return link again (the browser's history, a reload): the booking as it stands, nothing more.
        back = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
        page.goto(back)
        page.wait_for_selector("#client-schedule")
        assert "already signed; nothing was charged twice" in page.inner_text(".flash")
        # Stripe's webhooks of all this, POSTed to the site's endpoint as Stripe would, signed now.
        live.fake.advance_to(int(time.time()))
        for delivery in live.fake.take_deliveries():
            request = urllib.request.Request(live.url + "/webhooks/stripe", data=delivery.body,
                                             headers=dict(delivery.headers), method="POST")
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200, delivery.type
        assert site.store.plan_ids() == (plan_id,)
        assert len(live.charges()) == 1
        assert str(site.store.load(plan_id).ledger.paid) == "500.00 USD"
        assert (len(live.objects("customer")), len(live.objects("checkout.session"))) == (1, 1)


def agreement_draft(client: FormClient, site: Any) -> str:
    """The signed draft of a good booking, its session 120 days after the deployed site's today (the real date)."""
    today = site.today
    fields = {k: v for k, v in GOOD.items() if k != "card"} | {"session": (today + dt.timedelta(days=120)).isoformat()}
    page = client.post("/book/session-pack-a", fields)
    assert page.status_code == 200, page.get_data(as_text=True)
    found = re.search(r'name="draft" value="([^"]+)"', page.get_data(as_text=True))
    assert found
    return found.group(1)


class TestCheckoutReturns:
    def test_double_sign_one_page_and_every_way_back(self, deployed_site: DeployedSite) -> None:
        """Signing twice sends to one Checkout page (one customer); back before the card is saved, with another
        booking's session, and after the page expired: nothing is booked and each is told so."""
        live, site = deployed_site, deployed_site.site
        client = FormClient(live.app)
        draft = agreement_draft(client, site)
        signing = {"draft": draft, "signature": "Ada Lovelace", "accept": "yes"}
        first, second = client.post("/agreement", signing), client.post("/agreement", signing)
        assert (first.status_code, second.status_code) == (303, 303)
        assert first.headers["Location"] == second.headers["Location"]
        assert first.headers["Location"].startswith(live.stripe.url + "/c/pay/")
        assert (len(live.objects("customer")), len(live.objects("checkout.session"))) == (1, 1)
        (session,) = live.objects("checkout.session")
        back = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]).removeprefix("http://localhost")

        early = client.get(back)  # back before the card is saved: to the agreement, to sign again
        assert early.status_code == 302
        assert early.headers["Location"].endswith("/back")
        again = client.get(early.headers["Location"]).get_data(as_text=True)
        assert "Your card is not saved yet" in again
        assert 'id="sign-form"' in again

        other = FormClient(live.app)
        other.post("/agreement", {"draft": agreement_draft(other, site), "signature": "Ada Lovelace", "accept": "yes"})
        (foreign,) = [s for s in live.objects("checkout.session") if s["id"] != session["id"]]
        live.fake.complete_checkout(foreign["id"])
        assert client.get(back.replace(session["id"], foreign["id"])).status_code == 404
        assert client.get(back.replace(session["id"], "cs_test_made_up")).status_code == 404
        assert client.get("/checkout/not-a-draft?session=" + session["id"]).status_code == 400

        live.fake.advance_to(int(time.time()) + 24 * 3600)  # the page expires unused
        late = client.get(back)
        assert late.status_code == 400
        assert "The card page has expired" in late.get_data(as_text=True)
        assert site.store.plan_ids() == ()
        assert live.charges() == []

    def test_a_return_cut_short_is_finished_by_the_next(self, deployed_site: DeployedSite) -> None:
        """Stripe does not answer the deposit's charge on the way back (every retry of the SDK lost): the client
        sees an error; coming back again finishes the booking, and the deposit is charged once."""
        from payplan.testing.server import Fault

        live, site = deployed_site, deployed_site.site
        client = FormClient(live.app)
        signed = client.post("/agreement", {"draft": agreement_draft(client, site), "signature": "Ada Lovelace",
                                            "accept": "yes"})
        (session,) = live.objects("checkout.session")
        assert signed.headers["Location"] == session["url"]
        back = live.fake.complete_checkout(session["id"]).removeprefix("http://localhost")
        live.stripe.inject(Fault.DROP_AFTER, 3, when=lambda r: r.path.endswith("/pay"))  # the SDK tries 3 times
        assert client.get(back).status_code == 500
        (plan_id,) = site.store.plan_ids()
        assert site.bookings.booking(plan_id).unfinished
        again = client.get(back)
        assert again.status_code == 302
        page = client.get(again.headers["Location"]).get_data(as_text=True)
        assert "already signed; nothing was charged twice" in page
        assert not site.bookings.booking(plan_id).unfinished
        assert str(site.store.load(plan_id).ledger.paid) == "500.00 USD"
        paid = [c for c in live.objects("charge") if c["status"] == "succeeded"]
        assert len(paid) == 1, "Stripe charged the deposit once: the retries and the resume replayed its key"

    def test_demo_mode_keeps_its_test_cards(self, live_site: LiveSite) -> None:
        """Demo mode (the sandbox) still offers the test cards and books at signing, without Checkout."""
        page = FormClient(live_site.app).get("/book/session-pack-a").get_data(as_text=True)
        assert 'id="card"' in page
        assert "pm_card_visa" in page
        assert live_site.site.checkout is None
