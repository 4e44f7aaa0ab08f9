"""The example booking site: a Flask app over payplan's store, sandbox provider and daily run.

Pages (each a function below, in the order a client and the owner meet them):

* ``/``: the catalog, from ``catalog.toml``.
* ``/book/<tier>``: the booking form; ``/book/<tier>/preview`` answers the
  form's live schedule preview (JSON).
* ``/agreement``: the payment agreement rendered from the plan, and the
  signature; signing stores the plan and the signature, publishes the plan
  to the provider and charges the deposit.
* ``/plans/<id>``: the client's page: schedule, paid and due, late fees,
  reminders, the statement, the ``.ics`` download, cancellation.
* ``/owner``: the dashboard: overdue list, aging, the 12-month forecast
  chart, rates, clients flagged for late payment, the day's collections and
  the demo clock.
* ``/webhooks/<provider>``: payplan's own WSGI webhook endpoint
  (:class:`payplan.web.WebhookWSGI`), mounted beside the site.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask, Response, abort, flash, redirect, render_template, request, session, url_for
from markupsafe import Markup
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response as WerkzeugResponse

from payplan import (
    Bounds,
    Catalog,
    InstallmentKind,
    LateFeeAssessed,
    Ledger,
    Money,
    Parties,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    Tier,
    aging,
    flag_late_clients,
    forecast,
    format_money,
    ics_feed,
    overdue,
    period_summary,
    plan_status,
    reminders_due,
    render_agreement,
    render_statement,
    settle_cancellation,
)
from payplan.engine import run_due
from payplan.notify import Contact, InMemoryNotifier
from payplan.providers import Payer, Provider
from payplan.store import SignedAgreement, Store, StoredPlan, charge, refund_settlement
from payplan.testing import SandboxCard, SandboxProvider
from payplan.web import WebhookWSGI

from .charts import forecast_svg
from .forms import CARDS, CHOICES, OWN_ROWS, Booking, read_booking

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    """What the site is configured with.

    Attributes:
        database: The store's URL (SQLite by default).
        catalog: The TOML catalog of tiers.
        business: The business's name on agreements and pages.
        locale: The Babel locale money and dates are formatted for.
        timezone: The IANA time zone of the plans and the signature times.
        today: The demo clock's first day (the site's "today"; the owner
            advances it from the dashboard).
        provider: The provider deposits are charged through: ``"sandbox"``,
            payplan's in-memory sandbox (the demo clock drives its charges),
            or ``"stripe"``, Stripe's local fake through the real SDK and
            adapter (:class:`LocalStripe`).
        secret_key: Flask's session key (random per start by default).
    """

    database: str = "sqlite:///booking_site.db"
    catalog: Path = HERE / "catalog.toml"
    business: str = "Lumen Photo Studio"
    locale: str = "en_US"
    timezone: str = "America/New_York"
    today: dt.date = dt.date(2026, 12, 1)
    provider: str = "sandbox"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16))


class LocalStripe:
    """Stripe's local fake (``payplan.testing.stripe``) on 127.0.0.1, driven by the real SDK and adapter.

    ``provider = "stripe"`` in :class:`Settings`: plans are published as one
    Stripe invoice per installment, the deposit's invoice is paid through
    ``StripeProvider.charge``, and the fake's ``invoice.paid`` event comes
    back as a webhook signed with the endpoint's secret, as Stripe would send it.
    """

    SECRET = "whsec_booking_site"

    def __init__(self, site: Site) -> None:
        import stripe

        from payplan.providers.stripe import StripeMode, StripeProvider
        from payplan.testing.stripe import FakeStripe

        self.fake = FakeStripe(start=_noon(site.today))
        self.server = self.fake.serve()
        client = stripe.StripeClient("sk_test_booking_site", base_addresses={"api": self.server.url}, max_network_retries=0)
        self.clock: Callable[[], float] = lambda: float(_noon(site.today))
        self.provider = StripeProvider(client, webhook_secret=self.SECRET, mode=StripeMode.INVOICES, clock=self.clock)
        self.sent = 0

    def deliveries(self) -> list[tuple[dict[str, str], bytes]]:
        """The fake's events not delivered yet, each signed now, as Stripe sends them."""
        from payplan.testing.stripe import signed_delivery

        events = self.fake.events[self.sent:]
        self.sent += len(events)
        # Signed at the site's clock: the provider checks a signature's age against the same clock.
        return [signed_delivery(event, self.SECRET, timestamp=int(self.clock())) for event in events]


def _noon(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp())


class Site:
    """The site's state: the store, the catalog, the provider, the demo clock, the webhook endpoint."""

    def __init__(self, settings: Settings) -> None:
        if settings.provider not in ("sandbox", "stripe"):
            raise ValueError(f"expected provider 'sandbox' or 'stripe', got {settings.provider!r}")
        self.settings = settings
        self.catalog = Catalog.from_toml(settings.catalog)
        self.store: Store = Store.open(settings.database, create=True)
        self.today = settings.today
        self.sandbox: SandboxProvider | None = None
        self.stripe: LocalStripe | None = None
        self.provider: Provider
        if settings.provider == "stripe":
            self.stripe = LocalStripe(self)
            self.provider = self.stripe.provider
        else:
            self.sandbox = self.provider = SandboxProvider(settings.today)
        self._delivered = 0
        self.webhooks = WebhookWSGI(self.store, {self.provider.name: self.provider})
        self.notifier = InMemoryNotifier()

    def close(self) -> None:
        """Stop the local Stripe fake, if any, and release the store."""
        if self.stripe is not None:
            self.stripe.server.stop()
        self.store.close()

    # -- the provider and its webhooks ----------------------------------------------------

    def deliver(self) -> list[int]:
        """Send the provider's new webhooks, signed as it signs them, to the site's own endpoint.

        The deliveries go through :class:`payplan.web.WebhookWSGI` exactly as
        a provider's POST would (in process, without a socket), so the ledger
        changes only through the store's webhook inbox.
        """
        if self.stripe is not None:
            deliveries = self.stripe.deliveries()
        else:
            assert self.sandbox is not None
            events = self.sandbox.events[self._delivered:]
            self._delivered += len(events)
            deliveries = [self.sandbox.delivery(event) for event in events]
        client = Client(self.webhooks)
        return [
            client.post(f"/{self.provider.name}", data=body, headers=headers).status_code
            for headers, body in deliveries
        ]

    def sign_and_pay(self, plan: PaymentPlan, name: str, card: str, agreement: str) -> SignedAgreement:
        """Keep the plan and the signature, publish the plan, charge the deposit (or first payment)."""
        self.store.add_plan(plan)
        # The demo clock gives the day; the time of day is the real one, in the site's zone.
        zone = ZoneInfo(self.settings.timezone)
        at = dt.datetime.combine(self.today, dt.datetime.now(zone).time().replace(microsecond=0), zone)
        signed = SignedAgreement(plan.id, plan.version, agreement, name, at)
        self.store.save_agreement(signed)
        # The sandbox's test cards, one payment method per booking (the sandbox scripts by
        # payment method): the two declining ones let the deposit through first.
        method = card if card == SandboxCard.SUCCESS.value or self.sandbox is None else f"{card}-{plan.id}"
        if self.sandbox is not None and card == "pm_demo_decline_after_deposit":
            self.sandbox.script(method, SandboxCard.SUCCESS, SandboxCard.DECLINE)
        elif self.sandbox is not None and card == SandboxCard.DECLINE.value:
            self.sandbox.script(method, SandboxCard.SUCCESS, *[SandboxCard.DECLINE] * 100)
        if self.stripe is not None and card not in (SandboxCard.SUCCESS.value, SandboxCard.DECLINE.value):
            method = SandboxCard.SUCCESS.value  # Stripe's test cards cannot be scripted per charge
        payer = Payer(customer_id=f"cus_{plan.id}", payment_method_id=method, email=plan.client)
        binding = self.provider.publish(plan, payer)
        self.store.save_binding(binding)
        charge(self.store, self.provider, binding, plan, 1)
        self.deliver()
        return signed

    def advance(self, days: int) -> dict[str, int]:
        """Move the demo clock *days* ahead, one day at a time, as the calendar would.

        Each day the provider charges what falls due, its webhooks arrive, and
        the day's collections run (as a site's nightly scheduler would call
        them). Returns the counts added up over the days.
        """
        total = {"plans": 0, "fees": 0, "reminders": 0, "notices": 0}
        for _ in range(days):
            self.today += dt.timedelta(days=1)
            if self.sandbox is not None:
                self.sandbox.advance_to(self.today)
            self.deliver()
            for key, value in self.run_collections().items():
                total[key] += value
        return total

    def cancel(self, plan_id: str) -> bool:
        """Cancel the plan today by its cancellation policy; False if it was already cancelled.

        The settlement's entries (what is retained) go to the ledger, the
        plan leaves the daily run, the provider stops charging, and what is
        owed back is refunded through the provider that took it
        (:func:`payplan.store.refund_settlement`: each refund reserved under
        its own key, recorded once whether its answer or its webhook lands
        first).
        """
        stored = self.store.load(plan_id)
        if stored.ledger.cancellation is not None:
            return False
        settlement = settle_cancellation(stored.plan, stored.ledger, self.today)
        self.store.record_entries(plan_id, settlement.entries)
        self.store.set_active(plan_id, False)
        for binding in self.store.bindings(plan_id):
            self.provider.cancel(binding)
            if binding.provider == self.provider.name:
                refund_settlement(self.store, self.provider, binding, settlement)
        return True

    def run_collections(self) -> dict[str, int]:
        """Run the day's collections (:func:`payplan.engine.run_due`) for the demo clock's day.

        Late fees, reminders and dunning notices, each recorded in the store
        before it is sent, so running the day twice adds nothing twice. The
        sandbox autopays, so the run charges nothing itself.
        """
        summary = run_due(
            self.store, {self.provider.name: self.provider}, self.today, self.notifier, contacts=self.contact,
        )
        return {"plans": summary.plans, "fees": summary.fees, "reminders": summary.reminders, "notices": summary.notices}

    def contact(self, plan: PaymentPlan) -> Contact | None:
        """Who the daily run writes to about *plan*: the name signed with, the booking's e-mail."""
        signed = self.store.agreements(plan.id)
        if not signed or plan.client is None:
            return None
        return Contact(signed[-1].signed_by, email=plan.client, locale=self.settings.locale)

    # -- reading ----------------------------------------------------------------------------

    def agreement_text(self, plan: PaymentPlan, client: str) -> str:
        """The payment agreement for *plan*, as shown to the client and signed (HTML)."""
        return render_agreement(
            plan, format="html", locale=self.settings.locale, parties=Parties(self.settings.business, client),
        )

    def book(self) -> list[tuple[PaymentPlan, Ledger]]:
        """Every stored plan with its ledger (the reports' "book")."""
        out = []
        for plan_id in self.store.plan_ids():
            stored = self.store.load(plan_id)
            out.append((stored.plan, stored.ledger))
        return out

    def tier(self, slug: str) -> Tier:
        for tier in self.catalog:
            if slugify(tier.name) == slug and tier.fee is not None:
                return tier
        abort(404)

    def money(self, value: Money) -> str:
        return format_money(value, self.settings.locale)

    def date(self, value: dt.date) -> str:
        return format_date(value, "medium", locale=self.settings.locale)

    def instant(self, value: dt.datetime) -> str:
        return format_datetime(
            value, "medium", tzinfo=ZoneInfo(self.settings.timezone), locale=self.settings.locale
        )


def slugify(name: str) -> str:
    return "-".join(name.lower().split())


def create_app(settings: Settings | None = None) -> Flask:
    """The site as a WSGI app: the Flask pages, and payplan's webhook endpoint under ``/webhooks``."""
    settings = settings or Settings()
    site = Site(settings)
    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.secret_key = settings.secret_key
    app.extensions["booking_site"] = site
    app.jinja_env.filters["money"] = site.money
    app.jinja_env.filters["day"] = site.date
    app.jinja_env.filters["instant"] = site.instant
    app.jinja_env.globals["site"] = site
    # payplan's endpoint beside the pages: POST /webhooks/sandbox
    flask_wsgi = app.wsgi_app
    app.wsgi_app = DispatcherMiddleware(flask_wsgi, {"/webhooks": site.webhooks})  # type: ignore[method-assign]

    @app.errorhandler(404)
    def not_found(_: Exception) -> tuple[str, int]:
        return render_template("error.html", title="Not found", message="There is no such page."), 404

    @app.errorhandler(500)
    def failed(_: Exception) -> tuple[str, int]:
        return render_template("error.html", title="Something went wrong", message="Please try again."), 500

    @app.get("/")
    def catalog() -> str:
        tiers = [
            (tier, slugify(tier.name), Bounds.of_tier(tier), tier.terms.deposit.deposit_for(tier.fee))
            for tier in site.catalog if tier.fee is not None
        ]
        return render_template("catalog.html", tiers=tiers)

    def booking_page(tier: Tier, booking: Booking, status: int = 200) -> tuple[str, int]:
        return render_template(
            "book.html", tier=tier, slug=slugify(tier.name), bounds=Bounds.of_tier(tier), booking=booking,
            cards=CARDS, choices=CHOICES, own_rows=OWN_ROWS, today=site.today,
            cutoff_days=tier.terms.final_due_days_before,
        ), status

    @app.get("/book/<slug>")
    def book(slug: str) -> tuple[str, int]:
        tier = site.tier(slug)
        counts = tier.installment_counts
        values = {"choice": "installments", "count": str(3 if 3 in counts else counts[0]), "cadence": "monthly",
                  "card": "pm_card_visa", "session": (site.today + dt.timedelta(days=120)).isoformat()}
        return booking_page(tier, read_booking_quiet(values, tier))

    def read_booking_quiet(values: Mapping[str, str], tier: Tier) -> Booking:
        booking = read_booking(values, tier, plan_id="preview", today=site.today, timezone=settings.timezone)
        # A fresh form shows no complaints about the fields the client has not filled yet.
        for name in ("name", "email"):
            booking.errors.pop(name, None)
        return booking

    @app.post("/book/<slug>/preview")
    def preview(slug: str) -> dict[str, Any]:
        tier = site.tier(slug)
        booking = read_booking(request.form, tier, plan_id="preview", today=site.today, timezone=settings.timezone)
        html = render_template("_schedule.html", booking=booking, cutoff_days=tier.terms.final_due_days_before)
        return {"ok": booking.plan is not None, "html": html, "errors": booking.errors}

    @app.post("/book/<slug>")
    def confirm(slug: str) -> Response | WerkzeugResponse | tuple[str, int]:
        tier = site.tier(slug)
        plan_id = "bk-" + secrets.token_hex(4)
        booking = read_booking(request.form, tier, plan_id=plan_id, today=site.today, timezone=settings.timezone)
        if booking.plan is None:
            return booking_page(tier, booking, 422)
        session["pending"] = {"slug": slug, "plan_id": plan_id, "form": dict(request.form)}
        return redirect(url_for("agreement"))

    def pending() -> tuple[Tier, Booking]:
        data = session.get("pending")
        if not data:
            abort(404)
        tier = site.tier(data["slug"])
        booking = read_booking(data["form"], tier, plan_id=data["plan_id"], today=site.today, timezone=settings.timezone)
        if booking.plan is None:
            abort(404)
        return tier, booking

    @app.get("/agreement")
    def agreement() -> tuple[str, int]:
        _, booking = pending()
        assert booking.plan is not None
        text = site.agreement_text(booking.plan, booking.values["name"])
        return render_template("agreement.html", booking=booking, agreement=Markup(text), errors={}), 200

    @app.post("/agreement")
    def sign() -> Response | WerkzeugResponse | tuple[str, int]:
        _, booking = pending()
        plan = booking.plan
        assert plan is not None
        text = site.agreement_text(plan, booking.values["name"])
        errors = {}
        signature = request.form.get("signature", "").strip()
        if not signature:
            errors["signature"] = "Please type your full name to sign."
        elif signature.casefold() != booking.values["name"].strip().casefold():
            errors["signature"] = f"Please sign with the name on the booking ({booking.values['name'].strip()})."
        if request.form.get("accept") != "yes":
            errors["accept"] = "Please tick the box to accept the agreement."
        if errors:
            return render_template("agreement.html", booking=booking, agreement=Markup(text), errors=errors), 422
        site.sign_and_pay(plan, signature, booking.values.get("card", "pm_card_visa"), text)
        session.pop("pending", None)
        flash("Thank you: your booking is confirmed and the first payment was charged.")
        return redirect(url_for("client", plan_id=plan.id))

    @app.get("/plans/<plan_id>")
    def client(plan_id: str) -> str:
        stored = load_or_404(plan_id)
        plan, ledger = stored.plan, stored.ledger
        today = site.today
        statement = plan_status(plan, ledger, today)
        signed = site.store.agreements(plan.id)
        name = signed[-1].signed_by if signed else (plan.client or "")
        settled = ledger.cancellation
        settlement = None if settled is not None else settle_cancellation(plan, ledger, today)
        return render_template(
            "client.html", plan=plan, ledger=ledger, statement=statement, name=name,
            signed=signed,
            late_fees=[e for e in ledger if isinstance(e, LateFeeAssessed)],
            payments=[e for e in ledger if isinstance(e, PaymentReceived)],
            failures=[e for e in ledger if isinstance(e, PaymentFailed)],
            reminders=reminders_due(plan, ledger, today, locale=settings.locale, client=name),
            sent=site.store.reminders(plan.id),
            messages=[m for m in site.notifier.sent if m.plan_id == plan.id],
            statement_html=Markup(render_statement(
                plan, ledger, today, format="html", locale=settings.locale, parties=Parties(settings.business, name),
            )),
            settled=settled, settlement=settlement, today=today, deposit_kind=InstallmentKind.DEPOSIT,
        )

    def load_or_404(plan_id: str) -> StoredPlan:
        if plan_id not in site.store.plan_ids():
            abort(404)
        return site.store.load(plan_id)

    @app.get("/plans/<plan_id>/schedule.ics")
    def ics(plan_id: str) -> Response:
        stored = load_or_404(plan_id)
        body = ics_feed([(stored.plan, stored.ledger)], as_of=site.today, locale=settings.locale,
                        name=f"{settings.business}: payments")
        return Response(body, mimetype="text/calendar",
                        headers={"Content-Disposition": f'attachment; filename="{plan_id}.ics"'})

    @app.post("/plans/<plan_id>/cancel")
    def cancel_booking(plan_id: str) -> WerkzeugResponse:
        load_or_404(plan_id)
        if site.cancel(plan_id):
            flash("Your booking is cancelled. The settlement is below.")
        return redirect(url_for("client", plan_id=plan_id))

    @app.get("/owner")
    def dashboard() -> str:
        book = site.book()
        today = site.today
        currency = site.catalog.currency
        chart = forecast(book, today, by="month", periods=12, currency=currency)
        return render_template(
            "dashboard.html", today=today, plans=len(book),
            overdue=overdue(book, today),
            aging=aging(book, today, currency=currency),
            chart=Markup(forecast_svg(chart, locale=settings.locale, money=site.money)), forecast=chart,
            rates=period_summary(book, today - dt.timedelta(days=365), today, currency=currency),
            flagged=flag_late_clients(book, today),
            names={p.id: p.client for p, _ in book},
        )

    @app.post("/owner/collections")
    def collections() -> WerkzeugResponse:
        done = site.run_collections()
        flash(f"Today's collections ran for {done['plans']} plan(s): {done['fees']} late fee(s), "
              f"{done['reminders']} reminder(s), {done['notices']} notice(s).")
        return redirect(url_for("dashboard"))

    @app.post("/owner/clock")
    def clock() -> WerkzeugResponse | tuple[str, int]:
        text = request.form.get("days", "").strip()
        if not text.isdigit() or not 1 <= int(text) <= 366:
            flash("Please advance the clock by 1 to 366 days.", "error")
            return redirect(url_for("dashboard"))
        done = site.advance(int(text))
        flash(f"The clock is now {site.date(site.today)}; the day's collections ran: "
              f"{done['fees']} late fee(s), {done['reminders']} reminder(s).")
        return redirect(url_for("dashboard"))

    return app


def site_of(app: Flask) -> Site:
    """The :class:`Site` behind *app*."""
    found: Site = app.extensions["booking_site"]
    return found


__all__ = ["Settings", "Site", "create_app", "site_of"]
