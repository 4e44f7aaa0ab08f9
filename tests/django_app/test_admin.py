"""The admin over payplan's store: staff see it by permission, anonymous users go to the login, money never changes
(except by retrying a failed webhook event)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from payplan import Catalog, PaymentReceived
from payplan.django import provider, store
from payplan.providers import Payer
from payplan.store import Operation, SignedAgreement

from .conftest import DATABASES, TODAY
from .test_commands import CATALOG

pytestmark = pytest.mark.django_db(databases=DATABASES)

PAGES = ["/admin/payplan/plan/", "/admin/payplan/webhookevent/", "/admin/payplan/operation/",
         "/admin/payplan/webhookevent/?status=failed", "/admin/payplan/operation/?status=all"]


@pytest.fixture
def data(settings: Any, site: str) -> dict[str, Any]:
    """On SQLite, then PostgreSQL: two plans (one German-speaking, deposit paid), a failed event for a plan not
    stored yet, an operation in flight."""
    settings.PAYPLAN = {**settings.PAYPLAN, "CATALOG": CATALOG, "CONTACTS": "django_app.contacts.contact_for",
                        "BUSINESS": "Lumen Photo Studio"}
    tier = Catalog.from_toml(CATALOG)["Session Pack A"]
    plans = {}
    for name in ("adm-en", "adm-de", "adm-late"):
        plan = tier.quote(name, booked=TODAY, session=dt.date(2027, 4, 15), installments=3)
        plans[name] = plan
        if name != "adm-late":
            store().add_plan(plan)
            store().save_binding(provider("sandbox").publish(plan, Payer(payment_method_id="pm_card_visa")))
    store().record_entries("adm-en", [PaymentReceived("dep-en", TODAY, plans["adm-en"].deposit.amount)])
    store().record_entries("adm-de", [PaymentReceived("dep-de", TODAY, plans["adm-de"].deposit.amount)])
    store().save_agreement(SignedAgreement("adm-en", 1, "I agree to pay $2,000.00 in four parts.", "Ada Lovelace",
                                           dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)))
    sandbox = provider("sandbox")
    binding = sandbox.publish(plans["adm-late"], Payer(payment_method_id="pm_card_visa"))
    sandbox.charge(binding, plans["adm-late"], 1)
    headers, body = sandbox.delivery(sandbox.events[-1])
    assert Client().post("/payplan/webhooks/sandbox", data=body, content_type="application/json",
                         headers=headers).status_code == 422
    store().reserve_operation(Operation("key-in-flight", "sandbox", "adm-en", "charge", installment=2,
                                        amount=plans["adm-en"].installments[1].amount))
    return {"plans": plans, "binding": binding}


def staff(django_user_model: Any, *perms: str) -> Client:
    user = django_user_model.objects.create_user(f"staff-{len(perms)}-{'-'.join(perms)}"[:150], password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="payplan", codename__in=perms))
    client = Client()
    client.force_login(user)
    return client


VIEWER = ("view_plan", "view_webhookevent", "view_operation")


def everything() -> tuple[Any, ...]:
    found = store()
    ids = found.plan_ids()
    return (ids, tuple(found.load(i).ledger.entries for i in ids), found.inbox(), found.operations(),
            tuple(found.bindings(i) for i in ids), tuple(found.agreements(i) for i in ids))


class TestWhoSees:
    def test_anonymous_go_to_the_login(self, data: Any) -> None:
        """Every page sends an anonymous visitor to the admin's login, coming back after."""
        for page in [*PAGES, "/admin/payplan/plan/adm-en/"]:
            answer = Client().get(page)
            assert answer.status_code == 302, page
            assert answer["Location"].startswith("/admin/login/?next=/admin/payplan/")

    def test_staff_without_permission(self, data: Any, django_user_model: Any) -> None:
        """Staff without payplan's permissions get 403, and the admin's index does not list payplan."""
        client = staff(django_user_model)
        for page in [*PAGES, "/admin/payplan/plan/adm-en/"]:
            assert client.get(page).status_code == 403, page
        assert "Payment plans" not in client.get("/admin/").content.decode()

    def test_staff_with_permission(self, data: Any, django_user_model: Any) -> None:
        """Staff with the view permissions see plans with status and balance, formatted for each client's locale."""
        client = staff(django_user_model, *VIEWER)
        index = client.get("/admin/").content.decode()
        assert "Payment plans" in index
        assert "Webhook events" in index
        assert "Provider operations" in index
        page = client.get("/admin/payplan/plan/").content.decode()
        assert "adm-en" in page
        assert "adm-de" in page
        assert "$1,500.00" in page  # adm-en's balance, en_US
        assert "1.500,00\xa0$" in page  # adm-de's balance, de_DE
        assert "on track" in page
        assert "adm-de" not in client.get("/admin/payplan/plan/?q=en").content.decode()

    def test_plan_page(self, data: Any, django_user_model: Any) -> None:
        """A plan's page has its schedule, ledger, statement, signed agreement, bindings and operations."""
        client = staff(django_user_model, *VIEWER)
        page = client.get("/admin/payplan/plan/adm-en/").content.decode()
        for text in ("dep-en", "$500.00", "Statement", "I agree to pay $2,000.00 in four parts.", "Ada Lovelace",
                     "key-in-flight", "(in flight)", "sandbox"):
            assert text in page, text
        assert client.get("/admin/payplan/plan/no-such-plan/").status_code == 404

    def test_inbox_and_operations(self, data: Any, django_user_model: Any) -> None:
        """The inbox shows the failed event with its error; operations show the one in flight."""
        client = staff(django_user_model, *VIEWER)
        inbox = client.get("/admin/payplan/webhookevent/?status=failed").content.decode()
        assert "adm-late" in inbox
        assert "event-failed" in inbox
        assert 'name="event"' not in inbox  # no retry permission, no checkbox
        ops = client.get("/admin/payplan/operation/").content.decode()
        assert "key-in-flight" in ops
        assert "$500.00" in ops


class TestNoPageChangesMoney:
    def test_reading_every_page_changes_nothing(self, data: Any, django_user_model: Any) -> None:
        """Every page read, and every non-GET request to a read-only page, leaves the store as it was."""
        client = staff(django_user_model, *VIEWER, "retry_webhookevent")
        before = everything()
        for page in [*PAGES, "/admin/payplan/plan/adm-en/", "/admin/payplan/plan/adm-de/"]:
            assert client.get(page).status_code == 200, page
        for page in ["/admin/payplan/plan/", "/admin/payplan/plan/adm-en/", "/admin/payplan/operation/"]:
            assert client.post(page, {"event": "x"}).status_code == 405, page
        for page in ["/admin/payplan/plan/add/", "/admin/payplan/plan/adm-en/change/",
                     "/admin/payplan/plan/adm-en/delete/"]:
            assert client.post(page).status_code in (404, 405), page
        assert everything() == before

    def test_retry_needs_its_permission(self, data: Any, django_user_model: Any) -> None:
        """Retrying a failed event is refused (403) to staff who may only look."""
        client = staff(django_user_model, *VIEWER)
        key = f"sandbox:{store().inbox()[0].event.id}"
        before = everything()
        assert client.post("/admin/payplan/webhookevent/", {"event": key, "action": "retry"}).status_code == 403
        assert everything() == before

    def test_retry_failed_event(self, data: Any, django_user_model: Any, django_capture_on_commit_callbacks: Any) -> None:
        """Once the plan exists, retrying the failed event applies it once and signals once; applied events are left alone."""
        from payplan.django import signals as sig

        got: list[str] = []

        def heard(sender: Any, entry: Any, **_: Any) -> None:
            got.append(entry.id)

        client = staff(django_user_model, *VIEWER, "retry_webhookevent")
        assert 'name="event"' in client.get("/admin/payplan/webhookevent/").content.decode()
        store().add_plan(data["plans"]["adm-late"])
        key = f"sandbox:{store().inbox()[0].event.id}"
        sig.payment_received.connect(heard)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                answer = client.post("/admin/payplan/webhookevent/?status=failed", {"event": key, "action": "retry"},
                                     follow=True)
            assert "1 applied" in answer.content.decode()
            assert str(store().load("adm-late").ledger.paid) == "500.00 USD"
            assert len(got) == 1
            before = everything()
            with django_capture_on_commit_callbacks(execute=True):
                again = client.post("/admin/payplan/webhookevent/", {"event": key, "action": "retry"}, follow=True)
            assert "not failed, left alone" in again.content.decode()
            assert everything() == before
            assert len(got) == 1
        finally:
            sig.payment_received.disconnect(heard)
