"""The example site's pages through Flask's test client: the form's checks, the preview, the downloads."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from .conftest import OWNER_PASSWORD, LiveSite

GOOD = {
    "name": "Ada Lovelace", "email": "ada@example.com", "session": "2027-03-20", "card": "pm_card_visa",
    "choice": "installments", "count": "3", "cadence": "monthly",
}


class FormClient:
    """Flask's test client posting forms as the site's own pages do: with the CSRF token they carry."""

    def __init__(self, app: Any) -> None:
        self.http = app.test_client()
        page = self.http.get("/book/session-pack-a").get_data(as_text=True)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found, "the booking form carries a CSRF token"
        self.token = found.group(1)

    def get(self, url: str) -> Any:
        return self.http.get(url)

    def post(self, url: str, data: dict[str, str]) -> Any:
        return self.http.post(url, data={**data, "csrf_token": self.token})

    def book(self, form: dict[str, str], signature: str = "Ada Lovelace", accept: str = "yes") -> Any:
        """Fill the booking form, then sign the agreement it leads to; the signing's response."""
        page = self.post("/book/session-pack-a", form)
        assert page.status_code == 200, page.get_data(as_text=True)
        draft = re.search(r'name="draft" value="([^"]+)"', page.get_data(as_text=True))
        assert draft
        return self.post("/agreement", {"draft": draft.group(1), "signature": signature, "accept": accept})


@pytest.fixture
def client(live_site: LiveSite) -> Any:
    return FormClient(live_site.app)


class TestBookingForm:
    def test_preview_is_the_exact_schedule(self, client: Any) -> None:
        """The preview answers the schedule for a good choice, and no errors."""
        data = client.post("/book/session-pack-a/preview", GOOD).json
        assert data["ok"] is True
        assert data["errors"] == {}
        assert data["html"].count("<tr>") == 6  # head, 4 lines, total
        assert "$500.00" in data["html"]

    @pytest.mark.parametrize(
        ("change", "field", "words"),
        [
            ({"count": "9", "session": "2027-08-20"}, "count", "the tier allows 2, 3, 4, 5, 6; the nearest that works: 6."),
            ({"deposit": "abc"}, "deposit", "Please enter an amount"),
            ({"deposit": "100.00"}, "deposit", "below the least deposit"),
            ({"cadence": "bimonthly", "count": "2", "session": "2027-06-30"}, "cadence", "at most 45 days"),
            ({"session": "2027-02-01"}, "session", "paid in full 14 days before the session"),
            ({"session": "yesterday"}, "session", "Please pick the session date"),
            ({"email": "ada"}, "email", "e-mail address"),
            ({"choice": "own", "amount_1": "500", "amount_2": "1500", "date_2": "2027-01-05"}, "choice", "the tier allows 2, 3, 4, 5, 6."),
            ({"choice": "own", "amount_1": "500", "amount_2": "100", "date_2": "2027-01-05",
              "amount_3": "1400", "date_3": "2027-02-05"}, "amount_2", "below the least payment"),
        ],
    )
    def test_refusals_next_to_the_field(self, client: Any, change: dict[str, str], field: str, words: str) -> None:
        """Each bad value is refused with a message for its own field; nothing is booked."""
        data = client.post("/book/session-pack-a/preview", {**GOOD, **change}).json
        assert data["ok"] is False
        assert words in data["errors"][field], data["errors"]
        response = client.post("/book/session-pack-a", {**GOOD, **change})
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert f'id="error-{field}"' in page
        assert "Traceback" not in page

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"deposit": "100.00"}, "deposit"),
            ({"session": "2027-01-20"}, "session"),
            ({"session": "2026-12-10", "choice": "full"}, "session"),
            ({"count": "9", "session": "2027-08-20"}, "count"),
            ({"choice": "own", "amount_1": "500", "amount_2": "700", "date_2": "2027-01-10", "session": "2027-03-01",
              "amount_3": "800", "date_3": "2027-02-20"}, "date_3"),
        ],
    )
    def test_hints_are_values_the_form_accepts(self, client: Any, change: dict[str, str], field: str) -> None:
        """A "nearest that works" hint, typed into its field, is accepted there; a date hinted is after today."""
        data = client.post("/book/session-pack-a/preview", {**GOOD, **change}).json
        found = re.search(r"the nearest that works: ([0-9](?:[0-9.-]*[0-9])?)", data["errors"].get(field, ""))
        assert found, data["errors"]
        hint = found.group(1)
        if "-" in hint:
            assert hint > "2026-12-01", "a date hinted is after today"
        again = client.post("/book/session-pack-a/preview", {**GOOD, **change, field: hint}).json
        assert field not in again["errors"], again["errors"]

    def test_pay_in_full_has_the_discount(self, client: Any) -> None:
        """Paying in full is one payment of the fee less 5%, today."""
        data = client.post("/book/session-pack-a/preview", {**GOOD, "choice": "full"}).json
        assert data["ok"] is True
        assert "$1,900.00" in data["html"]
        assert "saves $100.00" in data["html"]

    def test_unknown_pages(self, client: Any) -> None:
        """An unknown tier or plan is a 404 page, not an error."""
        for url in ("/book/no-such-tier", "/b/nope", "/b/nope/schedule.ics", "/plans/demo-1"):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "There is no such page." in response.get_data(as_text=True)


class TestAfterBooking:
    def test_ics_and_webhook_endpoint(self, live_site: LiveSite, client: Any) -> None:
        """After signing, the .ics lists the unpaid due dates; the webhook endpoint refuses a forged delivery over HTTP."""
        signed = client.book(GOOD)
        assert signed.status_code == 302
        ics = client.get(signed.headers["Location"] + "/schedule.ics")
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
        response = client.book(GOOD, signature="Someone Else", accept="")
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

        app = create_app(Settings.for_demo("pw", database=f"sqlite:///{tmp_path / 's.db'}", provider="stripe",
                                           today=dt.date(2026, 12, 1)))
        site = site_of(app)
        try:
            client = FormClient(app)
            signed = client.book(GOOD)
            (plan_id,) = site.store.plan_ids()
            stored = site.store.load(plan_id)
            assert str(stored.ledger.paid) == "500.00 USD"
            inbox = site.store.inbox(plan_id=plan_id)
            assert [(e.event.provider, e.status.value) for e in inbox] == [("stripe", "applied")]
            assert site.stripe is not None
            assert any(r.path.startswith("/v1/invoices") for r in site.stripe.server.requests())
            page = client.get(signed.headers["Location"]).get_data(as_text=True)
            assert "$500.00" in page
        finally:
            site.close()


def deployed(tmp_path: Any, **changes: Any) -> Any:
    """Settings as a deployed site has them (from the environment), on a local SQLite file."""
    from booking_site.settings import Settings
    from werkzeug.security import generate_password_hash

    env = {
        "BOOKING_SITE_DATABASE": f"sqlite:///{tmp_path / 'live.db'}",
        "BOOKING_SITE_SECRET_KEY": "k" * 8 + "a-long-random-session-key-for-tests",
        "BOOKING_SITE_WEBHOOK_SECRET": "whsec_test_endpoint_secret_of_this_site",
        "BOOKING_SITE_OWNER_PASSWORD_HASH": generate_password_hash("owner password"),
        "STRIPE_API_KEY": "sk_test_not_a_real_key",
        "BOOKING_SITE_SMTP_HOST": "127.0.0.1",
        "BOOKING_SITE_MAIL_FROM": "studio@example.com",
        **changes,
    }
    return Settings.from_env({k: v for k, v in env.items() if v is not None})


class TestDeployedSettings:
    @pytest.mark.parametrize(
        ("change", "words"),
        [
            ({"BOOKING_SITE_SECRET_KEY": None}, "BOOKING_SITE_SECRET_KEY is missing"),
            ({"BOOKING_SITE_SECRET_KEY": "test"}, "BOOKING_SITE_SECRET_KEY is a well-known or short value"),
            ({"BOOKING_SITE_SECRET_KEY": "x" * 20}, "BOOKING_SITE_SECRET_KEY is a well-known or short value"),
            ({"BOOKING_SITE_WEBHOOK_SECRET": None}, "BOOKING_SITE_WEBHOOK_SECRET is missing"),
            ({"BOOKING_SITE_WEBHOOK_SECRET": "whsec_sandbox"}, "a default from public source code"),
            ({"BOOKING_SITE_WEBHOOK_SECRET": "whsec_booking_site"}, "a default from public source code"),
            ({"BOOKING_SITE_OWNER_PASSWORD_HASH": None}, "BOOKING_SITE_OWNER_PASSWORD_HASH is missing"),
            ({"BOOKING_SITE_PROVIDER": "sandbox"}, "provider 'sandbox' is for demo mode only"),
            ({"STRIPE_API_BASE": "http://stripe.example"}, "STRIPE_API_BASE must be an https:// address"),
        ],
    )
    def test_refuses_to_start_with_a_missing_or_default_secret(self, tmp_path: Any, change: dict[str, Any],
                                                               words: str) -> None:
        """Outside demo mode the site does not start with a secret missing, short or from public source code."""
        from booking_site import create_app
        from booking_site.settings import UnsafeSettingsError

        with pytest.raises(UnsafeSettingsError, match="refuses to start") as refused:
            create_app(deployed(tmp_path, **change))
        assert words in str(refused.value)

    def test_deployed_site_headers_cookies_and_no_demo_clock(self, tmp_path: Any) -> None:
        """Deployed: security headers on every page, a Secure __Host- session cookie holding no personal data,
        413 for a huge form, and no demo clock at all."""
        import base64
        import datetime as dt

        pytest.importorskip("stripe", reason="the deployed site runs on Stripe")
        from booking_site import create_app, site_of

        from payplan.store.sql import upgrade

        settings = deployed(tmp_path)
        upgrade(settings.database)  # `payplan db upgrade`, as docs/deploying.md says
        app = create_app(settings)
        site = site_of(app)
        try:
            assert site.today == dt.datetime.now(site_tz(site)).date()
            http = app.test_client()
            http.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "studio.example"})
            page = http.get("/login")
            headers = page.headers
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
            assert "script-src 'self';" in headers["Content-Security-Policy"]
            assert "unsafe-inline" not in headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
            assert headers["X-Frame-Options"] == "DENY"
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "same-origin"
            assert headers["Cache-Control"] == "no-store"
            assert "max-age" in headers["Strict-Transport-Security"]
            assert "<script>" not in page.get_data(as_text=True), "no inline script"
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
            assert token
            logged = http.post("/login", data={"name": "owner", "password": "owner password",
                                               "csrf_token": token.group(1)},
                               headers={"Referer": "https://studio.example/login"})
            assert logged.status_code == 302
            cookie = logged.headers["Set-Cookie"]
            assert cookie.startswith("__Host-session=")
            for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
                assert flag in cookie, flag
            payload = cookie.split("=", 1)[1].split(".")[0]
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            assert set(data) <= {"owner", "_permanent", "csrf_token"}, data
            assert http.get("/owner").status_code == 200
            assert http.post("/owner/clock", data={"days": "30"}).status_code in (404, 405)
            huge = http.post("/book/session-pack-a", data={"name": "x" * (1 << 20)})
            assert huge.status_code == 413
        finally:
            site.close()


def site_tz(site: Any) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(site.settings.timezone)


class TestOwnerActionsOnABooking:
    def test_amend_and_goodwill_refund_need_the_owner_and_go_through_bookings(self, live_site: LiveSite) -> None:
        """The owner moves a due date (a new plan version) and gives money back as goodwill (the price drops,
        nothing is owed again); the same forms without the login are refused and change nothing."""
        import datetime as dt

        from payplan import Refund

        site = live_site.site
        plan_id = live_site.book("bk-ana", "Ana Lima", "ana@example.com")
        link = live_site.link(plan_id).removeprefix(live_site.url)
        client = FormClient(live_site.app)
        before = site.store.load(plan_id)
        second = before.plan.installments[1]
        later = (second.due + dt.timedelta(days=5)).isoformat()
        amend = {"installment": "2", "to": later, "reason": "asked by phone", "consent": "yes", "request": "r1"}
        refund = {"amount": "50.00", "reason": "late photos", "request": "r2"}
        assert client.post(link + "/amend", amend).status_code == 403
        assert client.post(link + "/refund", refund).status_code == 403
        assert site.store.load(plan_id) == before
        login = client.post("/login", {"name": "owner", "password": OWNER_PASSWORD})
        assert login.status_code == 302
        client.token = re.search(r'name="csrf_token" value="([^"]+)"',
                                 client.get(link).get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        page = client.get(link).get_data(as_text=True)
        assert 'id="amend-form"' in page
        assert 'id="refund-form"' in page
        client.post(link + "/amend", amend)
        client.post(link + "/amend", amend)  # sent twice: one new version
        after = site.store.load(plan_id)
        assert after.plan.version == 2
        assert after.plan.installments[1].due.isoformat() == later
        client.post(link + "/refund", refund)
        client.post(link + "/refund", refund)  # sent twice: refunded once
        ledger = site.store.load(plan_id).ledger
        goodwill = [e for e in ledger if isinstance(e, Refund)]
        assert [(str(e.amount), e.lowers_price) for e in goodwill] == [("50.00 USD", True)]
        # $500 paid, $50 back, the price down by $50: still $1,500 owed, as before (a reversal would owe $1,550).
        assert ledger.balance.minor == 150000


class TestSigningTwice:
    def test_double_click_and_replay_land_on_the_booking(self, live_site: LiveSite) -> None:
        """The same signed form sent twice at once, and again later, books and charges once; every answer lands
        on the booking's page, the later ones saying it was already signed."""
        import threading

        site = live_site.site
        first = FormClient(live_site.app)
        page = first.post("/book/session-pack-a", GOOD).get_data(as_text=True)
        draft = re.search(r'name="draft" value="([^"]+)"', page)
        assert draft
        signing = {"draft": draft.group(1), "signature": "Ada Lovelace", "accept": "yes"}
        clients = [first, FormClient(live_site.app)]
        answers: list[Any] = [None, None]

        def sign(n: int) -> None:
            answers[n] = clients[n].post("/agreement", signing)

        threads = [threading.Thread(target=sign, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        (plan_id,) = site.store.plan_ids()
        link = live_site.link(plan_id).removeprefix(live_site.url)
        assert [a.status_code for a in answers] == [302, 302]
        assert {a.headers["Location"] for a in answers} == {link}
        replay = clients[1].post("/agreement", signing)
        assert replay.headers["Location"] == link
        landed = clients[1].get(link).get_data(as_text=True)
        assert "already signed; nothing was charged twice" in landed
        assert str(site.store.load(plan_id).ledger.paid) == "500.00 USD"
        # Two requests at once may both reach the provider, always under the one key: it charges once.
        charges = [c for c in site.sandbox.calls if c.verb == "charge"]  # type: ignore[union-attr]
        assert len({c.idempotency_key for c in charges}) == 1
        paid = [e for e in site.sandbox.events if e.kind.value == "payment_succeeded"]  # type: ignore[union-attr]
        assert len(paid) == 1


class TestCollectService:
    def test_collect_runs_the_day_from_the_environment(self, tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
        """`python -m booking_site.collect` runs today's collections with the deployed site's settings, and refuses
        to run without its secrets as the site does."""
        pytest.importorskip("stripe", reason="the deployed site runs on Stripe")
        from booking_site import collect
        from booking_site.settings import UnsafeSettingsError

        from payplan.store.sql import upgrade

        settings = deployed(tmp_path)
        upgrade(settings.database)
        env = {
            "BOOKING_SITE_DATABASE": settings.database, "BOOKING_SITE_SECRET_KEY": settings.secret_key,
            "BOOKING_SITE_WEBHOOK_SECRET": settings.webhook_secret,
            "BOOKING_SITE_OWNER_PASSWORD_HASH": settings.owner_password_hash, "STRIPE_API_KEY": "sk_test_x",
            "BOOKING_SITE_SMTP_HOST": "127.0.0.1", "BOOKING_SITE_MAIL_FROM": "studio@example.com",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        collect.main()
        assert "collections ran for 0 plan(s)" in capsys.readouterr().out
        monkeypatch.setenv("BOOKING_SITE_WEBHOOK_SECRET", "whsec_sandbox")
        with pytest.raises(UnsafeSettingsError):
            collect.main()
