"""Providers built from PAYPLAN: Stripe through the real SDK against the local fake, end to end through the app;
Square and PayPal built from their secrets; a site's own factory."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from payplan import Catalog
from payplan.django import bookings, provider, store
from payplan.django._providers import build_provider
from payplan.django.conf import ProviderSettings, SettingsError
from payplan.providers import Payer

from .test_commands import CATALOG

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "whsec_5f8a9c0d1e2b3a4c5d6e7f8a"


@pytest.fixture
def fake_stripe(settings: Any, sqlite_store: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    pytest.importorskip("stripe", reason="the stripe extra")
    from payplan.testing.stripe import FakeStripe

    fake = FakeStripe(start=int(time.time()))
    server = fake.serve()
    monkeypatch.setenv("STUDIO_STRIPE_KEY", "sk_test_5f8a9c0d1e2b3a4c")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    settings.PAYPLAN = {
        "STORE": sqlite_store,
        "CATALOG": CATALOG,
        "PROVIDERS": {"stripe": {
            "SECRETS": {"api_key": "STUDIO_STRIPE_KEY"},
            "OPTIONS": {"api_base": server.url, "mode": "invoices", "max_network_retries": 0},
        }},
    }
    try:
        yield fake
    finally:
        server.stop()


def test_stripe_end_to_end(fake_stripe: Any) -> None:
    """Booked through bookings() on Stripe's fake, the deposit counts once however often Stripe's events arrive."""
    from payplan.testing.stripe import signed_delivery

    plan = Catalog.from_toml(CATALOG)["Session Pack A"].quote(
        "stripe-1", booked=dt.date.today(), session=dt.date.today() + dt.timedelta(days=150), installments=3)
    booking = bookings().book(plan, Payer(customer_id="cus_ada", payment_method_id="pm_card_visa"),
                              provider="stripe", on=dt.date.today())
    assert booking.binding is not None
    assert booking.binding.provider == "stripe"
    assert str(store().load(plan.id).ledger.paid) == "500.00 USD"
    client = Client()
    statuses = set()
    for event in fake_stripe.events:
        headers, body = signed_delivery(event, SECRET, timestamp=int(time.time()))
        for _ in range(2):
            answer = client.post("/payplan/webhooks/stripe", data=body, content_type="application/json", headers=headers)
            statuses.add(answer.status_code)
    assert statuses <= {200, 202}
    assert str(store().load(plan.id).ledger.paid) == "500.00 USD"
    headers, body = signed_delivery(fake_stripe.events[-1], "whsec_someone_else", timestamp=int(time.time()))
    assert client.post("/payplan/webhooks/stripe", data=body, content_type="application/json",
                       headers=headers).status_code == 401


def test_bookings_is_one_per_process(fake_stripe: Any) -> None:
    """bookings() is the same object on every call, over the app's own store and providers."""
    assert bookings() is bookings()
    assert bookings().store is store()
    assert bookings().providers["stripe"] is provider("stripe")


def test_one_of_each_across_threads(settings: Any, sqlite_store: str) -> None:
    """Request threads that ask for the store, the providers and the lifecycle at once share one of each."""
    import threading

    from payplan.django import providers, reset

    reset()
    start = threading.Barrier(8)
    got: list[tuple[int, int, int]] = []

    def ask() -> None:
        start.wait()
        got.append((id(store()), id(providers()), id(bookings())))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8
    assert len(set(got)) == 1


def test_square_and_paypal_from_their_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Square and PayPal adapters are built from the environment's secrets and their options."""
    pytest.importorskip("square", reason="the square extra")
    pytest.importorskip("paypalserversdk", reason="the paypal extra")
    from payplan.providers.paypal import PayPalServerProvider
    from payplan.providers.square import SquareProvider

    monkeypatch.setenv("SQUARE_ACCESS_TOKEN", "EAAAl5f8a9c0d1e2b3a4")
    monkeypatch.setenv("SQUARE_WEBHOOK_SIGNATURE_KEY", "sig5f8a9c0d1e2b3a4")
    monkeypatch.setenv("PAYPAL_CLIENT_ID", "client-5f8a9c")
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", "secret-5f8a9c")
    square = build_provider(ProviderSettings(
        "square", "square", None, {"access_token": "SQUARE_ACCESS_TOKEN", "signature_key": "SQUARE_WEBHOOK_SIGNATURE_KEY"},
        {"location_id": "L123", "environment": "sandbox", "notification_url": "https://example.test/payplan/webhooks/square"},
    ))
    assert isinstance(square, SquareProvider)
    assert square.location_id == "L123"
    paypal = build_provider(ProviderSettings(
        "paypal", "paypal", None, {"client_id": "PAYPAL_CLIENT_ID", "client_secret": "PAYPAL_CLIENT_SECRET"},
        {"environment": "sandbox", "webhook_id": "WH-1",
         "paypal_options": {"return_url": "https://example.test/ok", "cancel_url": "https://example.test/no"}},
    ))
    assert isinstance(paypal, PayPalServerProvider)
    assert paypal.webhook_id == "WH-1"


def test_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A FACTORY builds the site's own provider from its secrets and options; one returning no provider is refused."""
    monkeypatch.setenv("SANDBOX_SIGNING", "whsec_5f8a9c0d")
    made = build_provider(ProviderSettings("mine", "mine", "django_app.factories.sandbox", {"signing": "SANDBOX_SIGNING"},
                                           {"today": "2026-12-01"}))
    assert made.name == "sandbox"
    with pytest.raises(SettingsError, match="to build a payplan Provider, got object"):
        build_provider(ProviderSettings("bad", "bad", "django_app.factories.not_a_provider"))
    with pytest.raises(SettingsError, match="refused its OPTIONS"):
        build_provider(ProviderSettings("x", "sandbox", None, {}, {"today": "2026-12-01", "colour": "blue"}))
