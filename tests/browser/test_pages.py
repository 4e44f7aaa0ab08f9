"""The example site's pages through Flask's test client: the form's checks, the preview, the downloads."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from .conftest import LiveSite

GOOD = {
    "name": "Ada Lovelace", "email": "ada@example.com", "session": "2027-03-20", "card": "pm_card_visa",
    "choice": "installments", "count": "3", "cadence": "monthly",
}


@pytest.fixture
def client(live_site: LiveSite) -> Any:
    return live_site.app.test_client()


class TestBookingForm:
    def test_preview_is_the_exact_schedule(self, client: Any) -> None:
        """The preview answers the schedule for a good choice, and no errors."""
        data = client.post("/book/session-pack-a/preview", data=GOOD).json
        assert data["ok"] is True
        assert data["errors"] == {}
        assert data["html"].count("<tr>") == 6  # head, 4 lines, total
        assert "$500.00" in data["html"]

    @pytest.mark.parametrize(
        ("change", "field", "words"),
        [
            ({"count": "9"}, "count", "the tier allows 2, 3, 4, 5, 6; nearest: 6"),
            ({"deposit": "abc"}, "deposit", "Please enter an amount"),
            ({"deposit": "100.00"}, "deposit", "below the least deposit"),
            ({"cadence": "bimonthly", "count": "2", "session": "2027-06-30"}, "cadence", "at most 45 days"),
            ({"session": "2027-02-01"}, "session", "paid in full 14 days before the session"),
            ({"session": "yesterday"}, "session", "Please pick the session date"),
            ({"email": "ada"}, "email", "e-mail address"),
            ({"choice": "own", "amount_1": "500", "amount_2": "1500", "date_2": "2027-01-05"}, "choice", "nearest: 2"),
            ({"choice": "own", "amount_1": "500", "amount_2": "100", "date_2": "2027-01-05",
              "amount_3": "1400", "date_3": "2027-02-05"}, "amount_2", "below the least payment"),
        ],
    )
    def test_refusals_next_to_the_field(self, client: Any, change: dict[str, str], field: str, words: str) -> None:
        """Each bad value is refused with a message for its own field; nothing is booked."""
        data = client.post("/book/session-pack-a/preview", data={**GOOD, **change}).json
        assert data["ok"] is False
        assert words in data["errors"][field], data["errors"]
        response = client.post("/book/session-pack-a", data={**GOOD, **change})
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert f'id="error-{field}"' in page
        assert "Traceback" not in page

    def test_pay_in_full_has_the_discount(self, client: Any) -> None:
        """Paying in full is one payment of the fee less 5%, today."""
        data = client.post("/book/session-pack-a/preview", data={**GOOD, "choice": "full"}).json
        assert data["ok"] is True
        assert "$1,900.00" in data["html"]
        assert "saves $100.00" in data["html"]

    def test_unknown_pages(self, client: Any) -> None:
        """An unknown tier or plan is a 404 page, not an error."""
        for url in ("/book/no-such-tier", "/plans/nope", "/plans/nope/schedule.ics", "/agreement"):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "There is no such page." in response.get_data(as_text=True)


class TestAfterBooking:
    def test_ics_and_webhook_endpoint(self, live_site: LiveSite, client: Any) -> None:
        """After signing, the .ics lists the unpaid due dates; the webhook endpoint refuses a forged delivery over HTTP."""
        assert client.post("/book/session-pack-a", data=GOOD).status_code == 302
        signed = client.post("/agreement", data={"signature": "Ada Lovelace", "accept": "yes"})
        assert signed.status_code == 302
        plan_id = signed.headers["Location"].rsplit("/", 1)[-1]
        ics = client.get(f"/plans/{plan_id}/schedule.ics")
        assert ics.mimetype == "text/calendar"
        assert ics.get_data(as_text=True).count("BEGIN:VEVENT") == 3  # the deposit is paid
        request = urllib.request.Request(
            live_site.url + "/webhooks/sandbox", data=b'{"id": "evt_forged"}', method="POST",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
        assert json.loads(refused.value.read())["outcome"] == "forged"

    def test_signature_must_match(self, client: Any) -> None:
        """Signing with another name, or without ticking the box, is refused next to the field."""
        client.post("/book/session-pack-a", data=GOOD)
        response = client.post("/agreement", data={"signature": "Someone Else"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Please sign with the name on the booking (Ada Lovelace)." in page
        assert "Please tick the box" in page


class TestStripeConfiguration:
    def test_deposit_through_local_stripe(self, tmp_path: Any) -> None:
        """With provider "stripe", the deposit is paid through the Stripe adapter and SDK against the local fake,
        and its invoice.paid webhook, signed with the endpoint secret, reaches /webhooks/stripe and the ledger."""
        import datetime as dt

        pytest.importorskip("stripe", reason="the Stripe configuration needs the stripe SDK")
        from booking_site import Settings, create_app, site_of

        app = create_app(Settings(database=f"sqlite:///{tmp_path / 's.db'}", provider="stripe", secret_key="t",
                                  today=dt.date(2026, 12, 1)))
        site = site_of(app)
        try:
            client = app.test_client()
            assert client.post("/book/session-pack-a", data=GOOD).status_code == 302
            signed = client.post("/agreement", data={"signature": "Ada Lovelace", "accept": "yes"})
            plan_id = signed.headers["Location"].rsplit("/", 1)[-1]
            stored = site.store.load(plan_id)
            assert str(stored.ledger.paid) == "500.00 USD"
            inbox = site.store.inbox(plan_id=plan_id)
            assert [(e.event.provider, e.status.value) for e in inbox] == [("stripe", "applied")]
            assert site.stripe is not None
            assert any(r.path.startswith("/v1/invoices") for r in site.stripe.server.requests())
            page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
            assert "$500.00" in page
        finally:
            site.close()
