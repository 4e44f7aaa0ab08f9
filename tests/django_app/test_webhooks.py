"""The webhook URLs (signed, forged, oversized, repeated) and the signals they send, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from payplan import PaymentReceived
from payplan.django import provider, store
from payplan.django import signals as sig
from payplan.testing import SandboxCard

from .conftest import DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=DATABASES)


class Heard:
    """Every payplan signal received, as (signal name, plan id, entry id)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, str]] = []

    def __call__(self, name: str) -> Callable[..., None]:
        def receive(sender: Any, plan_id: str, plan: Any, entry: Any, ledger: Any, **_: Any) -> None:
            assert isinstance(entry, sender)
            self.got.append((name, plan_id, entry.id))

        return receive


@pytest.fixture
def heard() -> Iterator[Heard]:
    found = Heard()
    names = ["payment_received", "payment_failed", "late_fee_assessed", "plan_paid_in_full", "plan_cancelled"]
    receivers = {name: found(name) for name in names}
    for name, receiver in receivers.items():
        getattr(sig, name).connect(receiver)
    yield found
    for name, receiver in receivers.items():
        getattr(sig, name).disconnect(receiver)


def post(client: Client, headers: dict[str, str], body: bytes, name: str = "sandbox") -> Any:
    return client.post(reverse("payplan:webhook", args=[name]), data=body, content_type="application/json",
                       headers=headers)


def deposit_delivery(plan: Any) -> tuple[dict[str, str], bytes]:
    sandbox = provider("sandbox")
    binding = store().bindings(plan.id)[0]
    sandbox.charge(binding, plan, 1)
    return sandbox.delivery(sandbox.events[-1])


class TestWebhookUrl:
    def test_signed_then_repeated(self, book: Any, heard: Heard) -> None:
        """A signed delivery is applied (200) and signals once; the same delivery again is a duplicate and signals nothing."""
        plan = book("signed")
        headers, body = deposit_delivery(plan)
        client = Client(enforce_csrf_checks=True)  # no CSRF token: the endpoint is exempt, the signature checks
        first = post(client, headers, body)
        assert first.status_code == 200, first.content
        assert first.json()["outcome"] == "applied"
        assert str(store().load(plan.id).ledger.paid) == "500.00 USD"
        assert [h[0] for h in heard.got] == ["payment_received"]
        again = post(client, headers, body)
        assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
        assert str(store().load(plan.id).ledger.paid) == "500.00 USD"
        assert len(heard.got) == 1

    def test_forged(self, book: Any, heard: Heard) -> None:
        """A body changed after signing is 401 and records nothing."""
        plan = book("forged")
        headers, body = deposit_delivery(plan)
        forged = body.replace(b"50000", b"90000")
        assert forged != body
        answer = post(Client(), headers, forged)
        assert (answer.status_code, answer.json()["outcome"]) == (401, "forged")
        assert post(Client(), {}, body).status_code == 401
        assert store().load(plan.id).ledger.paid.minor == 0
        assert store().inbox(plan_id=plan.id) == ()
        assert heard.got == []

    def test_oversized(self, book: Any, settings: Any) -> None:
        """A body over MAX_WEBHOOK_BODY is 413, refused from its Content-Length before it is read."""
        settings.PAYPLAN = {**settings.PAYPLAN, "MAX_WEBHOOK_BODY": 1024}
        plan = book("big")
        headers, _ = deposit_delivery(plan)
        answer = post(Client(), headers, b"{" + b" " * 2048 + b"}")
        assert (answer.status_code, answer.json()["outcome"]) == (413, "too_large")
        assert "at most 1024 bytes" in answer.json()["detail"]
        assert store().inbox(plan_id=plan.id) == ()

    def test_unknown_provider_and_method(self, site: str) -> None:
        """An unconfigured provider is 404 (naming the configured ones); GET is 405."""
        client = Client()
        answer = client.post("/payplan/webhooks/stripe", data=b"{}", content_type="application/json")
        assert answer.status_code == 404
        assert "sandbox" in answer.json()["detail"]
        got = client.get("/payplan/webhooks/sandbox")
        assert (got.status_code, got["Allow"]) == (405, "POST")

    def test_failed_then_kept(self, site: str, heard: Heard) -> None:
        """An event for a plan the store does not hold is kept as failed (422), with no signal."""
        from payplan import REFERENCE_CATALOG_TOML, Catalog
        from payplan.providers import Payer

        sandbox = provider("sandbox")
        plan = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"].quote(
            f"{site}-unknown", booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15))
        binding = sandbox.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
        sandbox.charge(binding, plan, 1)
        answer = post(Client(), *sandbox.delivery(sandbox.events[-1]))
        assert (answer.status_code, answer.json()["outcome"]) == (422, "failed")
        assert [k.status.value for k in store().inbox(plan_id=plan.id)] == ["failed"]
        assert heard.got == []


class TestSignals:
    def test_after_commit(self, book: Any, heard: Heard) -> None:
        """Inside the site's own transaction the signal waits for its commit, and is not sent if it rolls back."""
        plan = book("commit")
        entry = PaymentReceived("pay-1", dt.date(2026, 12, 2), store().load(plan.id).plan.total.split(4)[0])
        with transaction.atomic():
            store().record_entries(plan.id, [entry])
            assert heard.got == []  # recorded in payplan's store, the signal waits
        assert heard.got == [("payment_received", plan.id, "pay-1")]
        with transaction.atomic():
            store().record_entries(plan.id, [entry])  # the same entry again: nothing new
        assert len(heard.got) == 1

    def test_decline_fee_paid_in_full_cancelled(self, book: Any, heard: Heard) -> None:
        """A decline, a late fee, the payments that complete a plan and a cancellation each signal once."""
        from payplan import CancellationSettled, LateFeeAssessed, Money, PaymentFailed

        plan = book("all")
        usd = lambda minor: Money(minor, "USD")  # noqa: E731
        failed = PaymentFailed("fail-1", dt.date(2026, 12, 1), "card_declined", installment=1)
        fee = LateFeeAssessed("fee-1", dt.date(2026, 12, 5), usd(2500), installment=1)
        store().record_entries(plan.id, [failed, fee])
        paid = [PaymentReceived(f"pay-{i}", dt.date(2026, 12, 6), s.amount) for i, s in enumerate(plan.installments)]
        paid.append(PaymentReceived("pay-fee", dt.date(2026, 12, 6), usd(2500)))
        store().record_entries(plan.id, paid)
        store().record_entries(plan.id, paid)  # recorded again: nothing new, nothing sent
        names = [h[0] for h in heard.got]
        assert names.count("payment_failed") == 1
        assert names.count("late_fee_assessed") == 1
        assert names.count("payment_received") == len(paid)
        assert names.count("plan_paid_in_full") == 1
        other = book("cancel")
        store().record_entries(other.id, [CancellationSettled("cx", dt.date(2026, 12, 3), usd(0), usd(0), usd(0))])
        assert heard.got[-1] == ("plan_cancelled", other.id, "cx")

    def test_two_workers_send_once(self, book: Any, heard: Heard, monkeypatch: pytest.MonkeyPatch) -> None:
        """Two workers that each believe they recorded the same entry send its signal once."""
        from payplan.django._dispatch import SignalingStore
        from payplan.store import Store

        plan = book("race")
        entry = PaymentReceived("pay-race", dt.date(2026, 12, 2), plan.installments[0].amount)
        from payplan.django import config
        from payplan.django.conf import store_url

        other = SignalingStore(Store.open(store_url(config())), database=store().database)
        inner = store().inner
        real = inner.record_entries

        def meanwhile(plan_id: str, entries: Any) -> Any:
            other.record_entries(plan_id, entries)  # the other worker records it between our read and our write
            return real(plan_id, entries)

        monkeypatch.setattr(inner, "record_entries", meanwhile)
        try:
            store().record_entries(plan.id, [entry])
        finally:
            other.close()
        assert heard.got == [("payment_received", plan.id, "pay-race")]
