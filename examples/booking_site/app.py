"""The example booking site: a Flask app over payplan's store, a provider and the daily run.

Pages (each a function below, in the order a client and the owner meet them):

* ``/``: the catalog, from ``catalog.toml``.
* ``/book/<tier>``: the booking form; ``/book/<tier>/preview`` answers the
  form's live schedule preview (JSON). Continuing shows the payment
  agreement, rendered from the plan, with the form signed into it.
* ``POST /agreement``: the signature; signing books the plan (stored,
  published to the provider, deposit charged) and lands on the client's page.
  Outside demo mode (Stripe) signing first sends the client to Stripe
  Checkout's page to save their card; ``/checkout/<draft>`` is where Stripe
  sends them back, and books the plan with that card (once, however often
  they come back); ``/checkout/<draft>/back`` is the page's "back" link.
* ``/b/<token>``: the client's page, reached only through its signed link:
  schedule, paid and due, paying what is overdue now, late fees, reminders,
  the statement, the ``.ics`` feed, cancellation.
* ``/login``, ``/owner``: the owner's dashboard, behind the login: overdue
  list, aging, the 12-month forecast chart, rates, clients flagged for late
  payment, the day's collections (and in demo mode the demo clock).
* ``/webhooks/<provider>``: payplan's own WSGI webhook endpoint
  (:class:`payplan.web.WebhookWSGI`), mounted beside the site.

What keeps it safe on the internet is in ``security.py``; what it is
configured with (from the environment) in ``settings.py``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

from payplan import (
    Bounds,
    Catalog,
    ExtendDueDate,
    InstallmentKind,
    InstallmentState,
    LateFeeAssessed,
    Money,
    Parties,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    PayplanError,
    PlanStatement,
    PlanStatus,
    ProviderRequestError,
    StoreConflictError,
    Tier,
    aging,
    flag_late_clients,
    forecast,
    format_money,
    ics_feed,
    overdue,
    period_summary,
    reminders_due,
    render_agreement,
    render_statement,
)
from payplan.bookings import Booking, Bookings
from payplan.notify import Contact, InMemoryNotifier, Notifier, SmtpNotifier
from payplan.providers import Capability, ChargeOutcome, ChargeStatus, Payer, Provider, RefundStatus
from payplan.store import SignedAgreement, Store
from payplan.testing import SandboxCard, SandboxProvider
from payplan.web import WebhookWSGI

from .charts import forecast_svg
from .forms import CARDS, CHOICES, OWN_ROWS, BookingForm, read_booking
from .security import Signer, check_login, is_owner, log_in, owner_required, secure
from .settings import Settings

if TYPE_CHECKING:
    from payplan.providers.stripe import Checkout, StripeProvider

HERE = Path(__file__).resolve().parent
#: Where Stripe Checkout's pages are served (a form's answer redirects there: see ``security.csp``).
STRIPE_CHECKOUT = "https://checkout.stripe.com"


class LocalStripe:
    """Stripe's local fake (``payplan.testing.stripe``) on 127.0.0.1 with its clock, through the real SDK and adapter.

    Demo mode with provider ``"stripe"``: plans are published in Stripe's
    default mode (a subscription schedule for equal installments, the deposit
    its own invoice, charged at signing); each day the demo clock moves the
    fake's clock, which finalizes and charges what falls due with the saved
    card and retries declines as Stripe's Smart Retries do; its webhooks,
    signed with the endpoint's secret at the fake's time, come back to
    ``/webhooks/stripe``.
    """

    def __init__(self, site: Site) -> None:
        import stripe

        from payplan.providers.stripe import StripeProvider
        from payplan.testing.stripe import FakeStripe

        self.fake = FakeStripe(start=_noon(site.today), webhook_secret=site.settings.webhook_secret)
        self.server = self.fake.serve()
        client = stripe.StripeClient("sk_test_booking_site", base_addresses={"api": self.server.url}, max_network_retries=0)
        # The adapter checks a signature's age against the fake's clock, as it would against the real one.
        self.provider = StripeProvider(client, webhook_secret=site.settings.webhook_secret, clock=self.fake.clock)


def _noon(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp())


#: The demo's test cards that pay the deposit and then decline (the first installment, or every one).
DECLINING = {"pm_demo_decline_after_deposit": 1, SandboxCard.DECLINE.value: 100}


class Site:
    """The site's state: the store, the catalog, the provider, the bookings, the webhook endpoint (and the demo clock).

    Every step a booking goes through is one call of :class:`payplan.bookings.Bookings`
    (:meth:`sign`, :meth:`cancel`, :meth:`pay_now`, :meth:`run_collections`):
    the site never orders store and provider calls itself.

    Raises:
        UnsafeSettingsError: outside demo mode, a secret is missing, short or well known.
    """

    def __init__(self, settings: Settings, notifier: Notifier | None = None) -> None:
        settings.check()
        self.settings = settings
        self.catalog = Catalog.from_toml(settings.catalog)
        # Demo mode makes its own store; a deployed site's is made by `payplan db upgrade`.
        self.store: Store = Store.open(settings.database, create=settings.demo)
        self.signer = Signer(settings.secret_key)
        self._clock = settings.today
        self.sandbox: SandboxProvider | None = None
        self.stripe: LocalStripe | None = None
        #: Outside demo mode: Stripe, whose Checkout page collects the client's card (no test cards).
        self.checkout: StripeProvider | None = None
        self.provider: Provider
        if settings.demo and settings.provider == "stripe":
            self.stripe = LocalStripe(self)
            self.provider = self.stripe.provider
        elif settings.demo:
            self.sandbox = self.provider = SandboxProvider(self.today, webhook_secret=settings.webhook_secret)
        else:
            import stripe

            from payplan.providers.stripe import StripeProvider

            base = settings.stripe_api_base
            client = (stripe.StripeClient(settings.stripe_api_key, base_addresses={"api": base}) if base
                      else stripe.StripeClient(settings.stripe_api_key))
            self.provider = self.checkout = StripeProvider(client, webhook_secret=settings.webhook_secret)
        self._delivered = 0
        self.webhooks = WebhookWSGI(self.store, {self.provider.name: self.provider})
        if notifier is None and not settings.demo:
            notifier = SmtpNotifier(settings.smtp_host, settings.smtp_port, sender=settings.mail_from,
                                    starttls=bool(settings.smtp_user), username=settings.smtp_user or None,
                                    password=settings.smtp_password or None)
        self.notifier: Notifier = notifier or InMemoryNotifier()
        self.bookings = Bookings(self.store, [self.provider], self.notifier, contacts=self.contact)

    @property
    def today(self) -> dt.date:
        """The site's day: the demo clock in demo mode, else today's date in the site's time zone."""
        if self._clock is not None:
            return self._clock
        return dt.datetime.now(ZoneInfo(self.settings.timezone)).date()

    def close(self) -> None:
        """Stop the local Stripe fake, if any, and release the store."""
        if self.stripe is not None:
            self.stripe.server.stop()
        self.store.close()

    # -- the steps of a booking -------------------------------------------------------------

    def sign(self, plan: PaymentPlan, name: str, card: str, agreement: str, *, payer: Payer | None = None) -> Booking:
        """Book the signed plan: kept with its signature, published, the deposit (or first payment) charged.

        The card is *payer*'s (outside demo mode: the one the client saved on
        Stripe Checkout's page, :meth:`finish_checkout`), or in demo mode the
        test card *card*.
        """
        if payer is None and not self.settings.demo:
            raise ValueError("outside demo mode the payer comes from Stripe Checkout (start_checkout, finish_checkout)")
        # The demo clock gives the day; the time of day is the real one, in the site's zone.
        zone = ZoneInfo(self.settings.timezone)
        at = dt.datetime.combine(self.today, dt.datetime.now(zone).time().replace(microsecond=0), zone)
        signed = SignedAgreement(plan.id, plan.version, agreement, name, at)
        if payer is None:
            payer = Payer(customer_id=f"cus_{plan.id}", payment_method_id=self._card(plan, card), email=plan.client)
        booking = self.bookings.book(plan, payer, provider=self.provider.name, on=self.today, agreement=signed,
                                     charge_deposit=self.charges_at_signing(plan))
        self.deliver()
        return booking

    @property
    def checkout_origins(self) -> tuple[str, ...]:
        """Where Stripe Checkout's pages are (Stripe's, and a local stand-in's when the API points at one)."""
        if self.checkout is None:
            return ()
        base = self.settings.stripe_api_base
        if base.startswith("http://127.0.0.1:"):  # payplan's FakeStripe serves its Checkout page itself
            return (STRIPE_CHECKOUT, "/".join(base.split("/")[:3]))
        return (STRIPE_CHECKOUT,)

    def start_checkout(self, plan: PaymentPlan, name: str, draft: str) -> Checkout:
        """Stripe Checkout's page where the client saves the card for *plan* (the customer made once per plan).

        Stripe sends the client back to ``/checkout/<draft>`` with the
        session's id; the page's "back" link is ``/checkout/<draft>/back``.
        The same draft gives the same addresses, so a double click asks for
        the same page under the same idempotency keys.
        """
        assert self.checkout is not None, "Stripe Checkout is used outside demo mode"
        back = url_for("checkout_return", draft=draft, _external=True) + "?session={CHECKOUT_SESSION_ID}"
        cancel = url_for("checkout_back", draft=draft, _external=True)
        return self.checkout.start_checkout(plan, success_url=back, cancel_url=cancel, name=name)

    def charges_at_signing(self, plan: PaymentPlan) -> bool:
        """Whether signing charges the first payment, or the provider bills it itself on its date (today).

        Stripe's default mode bills a plan without a deposit (paid in full
        today) through its subscription schedule, which starts today and
        charges within the hour; only a deposit, its own invoice, is charged
        on demand.
        """
        return plan.deposit is not None or self.provider.name != "stripe"

    def resume(self, plan_id: str) -> None:
        """Finish what a failure cut short in *plan_id*'s steps (:meth:`Bookings.resume`): each part once."""
        if self.bookings.booking(plan_id).unfinished:
            self.bookings.resume(plan_id)
            self.deliver()

    def cancel(self, plan_id: str) -> bool:
        """Cancel the booking today by its cancellation policy (refunds included); False if it already was."""
        if self.bookings.booking(plan_id).cancelled:
            return False
        self.bookings.cancel(plan_id, on=self.today)
        self.deliver()
        return True

    def pay_now(self, plan_id: str, request: str) -> tuple[ChargeOutcome, ...]:
        """Charge what the client owes today; *request* (the form's own id) makes a double submit charge once."""
        outcomes = self.bookings.pay_now(plan_id, on=self.today, request=request)
        self.deliver()
        return outcomes

    def run_collections(self) -> dict[str, int]:
        """The day's collections (:meth:`Bookings.collect`, the daily run) for the site's day.

        Late fees (charged where the provider charges fees), reminders and
        dunning notices, each recorded in the store before it is sent, so
        running the day twice adds nothing twice.
        """
        summary = self.bookings.collect(self.today)
        return {"plans": summary.plans, "fees": summary.fees, "reminders": summary.reminders, "notices": summary.notices}

    # -- demo mode: test cards, the provider's webhooks, the clock ------------------------------

    def _card(self, plan: PaymentPlan, card: str) -> str:
        """The payment method of a demo test card (a deployed site collects a real one with the provider's form).

        The declining cards get one payment method per booking, scripted to
        pay the deposit and then decline, as the sandbox and Stripe's fake
        both let a test script a card.
        """
        if card not in DECLINING or not self.settings.demo:
            return card
        method = f"{card}-{plan.id}"
        declines = DECLINING[card]
        if self.stripe is not None and declines == 1:
            declines = 2  # Stripe retries a decline itself (Smart Retries, 3 days later): that retry declines too
        outcomes = [SandboxCard.SUCCESS, *[SandboxCard.DECLINE] * declines]
        if self.sandbox is not None:
            self.sandbox.script(method, *outcomes)
        elif self.stripe is not None:
            self.stripe.fake.script(method, *outcomes)
        return method

    def deliver(self, deliveries: list[tuple[Mapping[str, str], bytes]] | None = None) -> list[int]:
        """Send the demo provider's new webhooks, signed as it signs them, to the site's own endpoint.

        The deliveries go through :class:`payplan.web.WebhookWSGI` exactly as
        a provider's POST would (in process, without a socket), so what the
        provider did reaches the ledger through the store's webhook inbox
        (a deployed site's provider POSTs its own).
        """
        if deliveries is None:
            deliveries = []
        if self.stripe is not None:
            deliveries += [(d.headers, d.body) for d in self.stripe.fake.take_deliveries()]
        elif self.sandbox is not None:
            events = self.sandbox.events[self._delivered:]
            self._delivered += len(events)
            deliveries += [self.sandbox.delivery(event) for event in events]
        client = Client(self.webhooks)
        return [
            client.post(f"/{self.provider.name}", data=body, headers=dict(headers)).status_code
            for headers, body in deliveries
        ]

    def advance(self, days: int) -> dict[str, int]:
        """Move the demo clock *days* ahead, one day at a time, as the calendar would (demo mode only).

        Each day the provider's clock moves too (it charges what falls due,
        and retries), its webhooks arrive, and the day's collections run (as
        a site's nightly service would run them). Returns the counts added
        up over the days.
        """
        if self._clock is None:
            raise RuntimeError("the demo clock exists only in demo mode")
        total = {"plans": 0, "fees": 0, "reminders": 0, "notices": 0}
        for _ in range(days):
            self._clock += dt.timedelta(days=1)
            if self.sandbox is not None:
                self.sandbox.advance_to(self._clock)
            if self.stripe is not None:
                self.deliver([(d.headers, d.body) for d in self.stripe.fake.advance_to(self._clock)])
            self.deliver()
            for key, value in self.run_collections().items():
                total[key] += value
            self.deliver()  # what the day's run charged
        return total

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

    def owed_now(self, statement: PlanStatement) -> Money:
        """What "Pay now" charges today (:meth:`Bookings.pay_now`): the whole installments due or overdue,
        or once they are paid the late fees, where the provider charges fees."""
        zero = Money.zero(statement.paid.currency)
        if statement.status is PlanStatus.CANCELLED:
            return zero
        due = [s.outstanding for s in statement.installments
               if s.status in (InstallmentState.DUE, InstallmentState.OVERDUE) and s.outstanding.minor > 0]
        if due:
            return sum(due, zero)
        if Capability.CHARGE_FEES in self.provider.capabilities:
            return statement.fees_outstanding
        return zero

    def booked(self, plan_id: str) -> bool:
        """Whether *plan_id* is in the store."""
        return plan_id in self.store.plan_ids()

    def link(self, plan_id: str) -> str:
        """The client page of *plan_id* (its signed link)."""
        return url_for("client", token=self.signer.link(plan_id))

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


def create_app(settings: Settings, notifier: Notifier | None = None) -> Flask:
    """The site as a WSGI app: the Flask pages, and payplan's webhook endpoint under ``/webhooks``.

    Raises:
        UnsafeSettingsError: outside demo mode, a secret is missing, short or well known.
    """
    site = Site(settings, notifier)
    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.extensions["booking_site"] = site
    app.jinja_env.filters["money"] = site.money
    app.jinja_env.filters["day"] = site.date
    app.jinja_env.filters["instant"] = site.instant
    app.jinja_env.globals["site"] = site
    app.jinja_env.globals["is_owner"] = lambda: is_owner(settings)
    # payplan's endpoint beside the pages: POST /webhooks/sandbox (or /webhooks/stripe)
    flask_wsgi = app.wsgi_app
    app.wsgi_app = DispatcherMiddleware(flask_wsgi, {"/webhooks": site.webhooks})  # type: ignore[method-assign]
    secure(app, settings, site.checkout_origins)
    owner_only = owner_required(settings)

    def error(status: int, title: str, message: str) -> tuple[str, int]:
        return render_template("error.html", title=title, message=message), status

    @app.errorhandler(CSRFError)
    def stale_form(_: CSRFError) -> tuple[str, int]:
        return error(400, "This form has expired",
                     "The form was too old or did not come from this site. Go back, reload the page and try again.")

    @app.errorhandler(403)
    def forbidden(_: Exception) -> tuple[str, int]:
        return error(403, "Not allowed", "Please log in as the owner to do that.")

    @app.errorhandler(404)
    def not_found(_: Exception) -> tuple[str, int]:
        return error(404, "Not found", "There is no such page.")

    @app.errorhandler(413)
    def too_large(_: Exception) -> tuple[str, int]:
        return error(413, "Too much data", "That form was larger than this site accepts.")

    @app.errorhandler(500)
    def failed(_: Exception) -> tuple[str, int]:
        return error(500, "Something went wrong", "Please try again.")

    @app.get("/")
    def catalog() -> str:
        tiers = [
            (tier, slugify(tier.name), Bounds.of_tier(tier), tier.terms.deposit.deposit_for(tier.fee))
            for tier in site.catalog if tier.fee is not None
        ]
        return render_template("catalog.html", tiers=tiers)

    def read(values: Mapping[str, str], tier: Tier, plan_id: str = "preview") -> BookingForm:
        return read_booking(values, tier, plan_id=plan_id, today=site.today, timezone=settings.timezone)

    def booking_page(tier: Tier, booking: BookingForm, status: int = 200) -> tuple[str, int]:
        return render_template(
            "book.html", tier=tier, slug=slugify(tier.name), bounds=Bounds.of_tier(tier), booking=booking,
            cards={} if site.checkout else CARDS, choices=CHOICES, own_rows=OWN_ROWS, today=site.today,
            cutoff_days=tier.terms.final_due_days_before,
        ), status

    @app.get("/book/<slug>")
    def book(slug: str) -> tuple[str, int]:
        tier = site.tier(slug)
        counts = tier.installment_counts
        values = {"choice": "installments", "count": str(3 if 3 in counts else counts[0]), "cadence": "monthly",
                  "session": (site.today + dt.timedelta(days=120)).isoformat()}
        if site.checkout is None:
            values["card"] = "pm_card_visa"
        booking = read(values, tier)
        # A fresh form shows no complaints about the fields the client has not filled yet.
        for name in ("name", "email"):
            booking.errors.pop(name, None)
        return booking_page(tier, booking)

    @app.post("/book/<slug>/preview")
    def preview(slug: str) -> dict[str, Any]:
        tier = site.tier(slug)
        booking = read(request.form, tier)
        html = render_template("_schedule.html", booking=booking, cutoff_days=tier.terms.final_due_days_before)
        return {"ok": booking.ok, "schedule": booking.plan is not None, "html": html, "errors": booking.errors}

    def agreement_page(slug: str, plan_id: str, booking: BookingForm, draft: str,
                       errors: Mapping[str, str] | None = None, status: int = 200) -> tuple[str, int]:
        assert booking.plan is not None
        text = site.agreement_text(booking.plan, booking.values["name"])
        return render_template("agreement.html", booking=booking, agreement=Markup(text), errors=errors or {},
                               draft=draft), status

    @app.post("/book/<slug>")
    def confirm(slug: str) -> tuple[str, int]:
        tier = site.tier(slug)
        plan_id = "bk-" + secrets.token_hex(8)
        booking = read(request.form, tier, plan_id)
        if not booking.ok:
            return booking_page(tier, booking, 422)
        # Outside demo mode there are no test cards: the card is saved on Stripe's page after signing.
        dropped = ("csrf_token", "card") if site.checkout else ("csrf_token",)
        form = {k: v for k, v in request.form.items() if k not in dropped}
        return agreement_page(slug, plan_id, booking, site.signer.draft(slug, plan_id, form))

    @app.post("/agreement")
    def sign() -> ResponseReturnValue:
        draft = request.form.get("draft", "")
        found = site.signer.read_draft(draft)
        if found is None:
            return error(400, "This booking form has expired", "Please fill in the booking form again.")
        slug, plan_id, form = found
        if site.booked(plan_id):
            # A second click, a reload or a replay of the same signed form: the booking exists.
            flash("This booking was already signed; nothing was charged twice. Here is where it stands.")
            return redirect(site.link(plan_id))
        booking = read(form, site.tier(slug), plan_id)
        plan = booking.plan
        if plan is None or not booking.ok:
            return error(400, "This booking form has expired", "Please fill in the booking form again.")
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
            return agreement_page(slug, plan_id, booking, draft, errors, 422)
        if site.checkout is not None:
            # The card first, on Stripe's own page; the booking is made when Stripe sends the client back.
            try:
                page = site.start_checkout(plan, booking.values["name"].strip(), draft)
            except PayplanError:
                return error(502, "The card page could not be opened", "Nothing was booked or charged. "
                             "Please try again in a moment.")
            return redirect(page.url, 303)
        return book_signed(plan, signature, text, card=booking.values.get("card", "pm_card_visa"))

    def book_signed(plan: PaymentPlan, signature: str, text: str, *, card: str = "", payer: Payer | None = None,
                    ) -> ResponseReturnValue:
        """Book the signed plan (:meth:`Site.sign`) and land on the client's page saying how it went."""
        plan_id = plan.id
        try:
            booked = site.sign(plan, signature, card, text, payer=payer)
        except StoreConflictError:
            if not site.booked(plan_id):
                raise
            # Two clicks at once: the other request is booking it (Bookings.book books a plan once).
            flash("This booking was already signed; nothing was charged twice. Here is where it stands.")
            return redirect(site.link(plan_id))
        first = booked.status(site.today).installments[0]
        if first.outstanding.minor and not site.charges_at_signing(plan):
            flash("Thank you: your booking is confirmed; your card is charged for it within the hour. "
                  "Keep this page's address: it is the link to your booking.")
        elif first.outstanding.minor:
            flash("Your booking is kept, but the first payment did not go through: "
                  "you can pay it below. Keep this page's address: it is the link to your booking.", "error")
        else:
            flash("Thank you: your booking is confirmed and the first payment was charged. "
                  "Keep this page's address: it is the link to your booking.")
        return redirect(site.link(plan_id))

    def returning(draft: str) -> tuple[str, BookingForm, PaymentPlan]:
        """The signed booking a Checkout return link carries (else the page to answer, through ``abort``)."""
        if site.checkout is None:
            abort(404)
        found = site.signer.read_draft(draft)
        if found is None:
            abort(make_response(error(400, "This booking form has expired", "Please fill in the booking form again.")))
        slug, plan_id, form = found
        if site.booked(plan_id):
            # Back a second time (a reload, the browser's history): the booking exists; what a failure
            # cut short the first time (a provider that did not answer) is finished now, once.
            try:
                site.resume(plan_id)
            except PayplanError:
                flash("Your booking is kept, but it could not be finished yet: please reload this page in a "
                      "moment.", "error")
            else:
                flash("This booking was already signed; nothing was charged twice. Here is where it stands.")
            abort(redirect(site.link(plan_id)))
        booking = read(form, site.tier(slug), plan_id)
        if booking.plan is None or not booking.ok:
            abort(make_response(error(400, "This booking form has expired", "Please fill in the booking form again.")))
        return slug, booking, booking.plan

    @app.get("/checkout/<draft>")
    def checkout_return(draft: str) -> ResponseReturnValue:
        """Where Stripe Checkout sends the client once the card is saved: the booking is made with that card."""
        _, booking, plan = returning(draft)
        assert site.checkout is not None
        try:
            payer = site.checkout.finish_checkout(plan, request.args.get("session", "")[:255])
        except ProviderRequestError as exc:
            if exc.provider_code == "checkout_open":
                flash("Your card is not saved yet: sign again to go back to the card page.", "error")
                return redirect(url_for("checkout_back", draft=draft))
            if exc.provider_code == "checkout_expired":
                return error(400, "The card page has expired", "Nothing was booked or charged. "
                             "Please fill in the booking form again.")
            abort(404)  # another booking's session, or none: this link was altered
        # Signed with the booking's name (the agreement page checked the signature against it).
        return book_signed(plan, booking.values["name"].strip(), site.agreement_text(plan, booking.values["name"]),
                           payer=payer)

    @app.get("/checkout/<draft>/back")
    def checkout_back(draft: str) -> ResponseReturnValue:
        """Back from Stripe Checkout's page without a card saved: the agreement again, to sign."""
        slug, booking, plan = returning(draft)
        return agreement_page(slug, plan.id, booking, draft)

    def load_or_404(token: str) -> Booking:
        plan_id = site.signer.plan_of(token)
        if plan_id is None or not site.booked(plan_id):
            abort(404)
        return site.bookings.booking(plan_id)

    @app.get("/b/<token>")
    def client(token: str) -> str:
        booking = load_or_404(token)
        plan, ledger = booking.plan, booking.ledger
        today = site.today
        statement = booking.status(today)
        signed = booking.agreements
        name = signed[-1].signed_by if signed else (plan.client or "")
        settled = ledger.cancellation
        settlement = None if settled is not None else site.bookings.cancel_preview(plan.id, on=today)
        messages = site.notifier.sent if isinstance(site.notifier, InMemoryNotifier) else ()
        return render_template(
            "client.html", plan=plan, ledger=ledger, statement=statement, name=name, token=token,
            signed=signed, owed=site.owed_now(statement), request_id=secrets.token_urlsafe(12),
            # payplan's one "overdue now" (the dashboard's figure and the statement's line are the same sum)
            overdue_now=sum((i.outstanding for i in overdue([(plan, ledger)], today)), Money.zero(plan.fee.currency)),
            late_fees=[e for e in ledger if isinstance(e, LateFeeAssessed)],
            payments=[e for e in ledger if isinstance(e, PaymentReceived)],
            failures=[e for e in ledger if isinstance(e, PaymentFailed)],
            reminders=reminders_due(plan, ledger, today, locale=settings.locale, client=name),
            sent=site.store.reminders(plan.id),
            messages=[m for m in messages if m.plan_id == plan.id],
            statement_html=Markup(render_statement(
                plan, ledger, today, format="html", locale=settings.locale, parties=Parties(settings.business, name),
            )),
            settled=settled, settlement=settlement, today=today, deposit_kind=InstallmentKind.DEPOSIT,
            preview={"paid": statement.paid, "fees": ledger.fees - ledger.waived},
        )

    @app.get("/b/<token>/schedule.ics")
    def ics(token: str) -> Response:
        booking = load_or_404(token)
        body = ics_feed([(booking.plan, booking.ledger)], as_of=site.today, locale=settings.locale,
                        name=f"{settings.business}: payments")
        return Response(body, mimetype="text/calendar",
                        headers={"Content-Disposition": 'attachment; filename="payments.ics"'})

    @app.post("/b/<token>/cancel")
    def cancel_booking(token: str) -> Response:
        booking = load_or_404(token)
        if site.cancel(booking.id):
            flash("Your booking is cancelled. The settlement is below.")
        else:
            flash("This booking was already cancelled; nothing more was refunded.")
        return redirect(url_for("client", token=token))

    @app.post("/b/<token>/pay")
    def pay_now(token: str) -> Response:
        booking = load_or_404(token)
        # The form's own id: a double submit of one form charges once (Bookings.pay_now's request).
        outcomes = site.pay_now(booking.id, request.form.get("request", "")[:64])
        paid = [o for o in outcomes if o.status is ChargeStatus.SUCCEEDED]
        failed = [o for o in outcomes if o.status is not ChargeStatus.SUCCEEDED]
        if paid:
            total = sum((o.amount for o in paid), Money.zero(booking.plan.fee.currency))
            flash(f"Thank you: {site.money(total)} was charged to your card.")
        if failed:
            flash(f"Your card was not charged: {failed[0].message or failed[0].decline_code or 'declined'}.", "error")
        if not outcomes:
            flash("Nothing was charged: nothing is owed today (or this form was already sent).")
        return redirect(url_for("client", token=token))

    def owner_request() -> str:
        return "owner:" + request.form.get("request", "")[:64]

    @app.post("/b/<token>/amend")
    @owner_only
    def amend_booking(token: str) -> Response:
        """The owner gives one installment more time (an amendment: a new plan version, the provider updated)."""
        booking = load_or_404(token)
        number, day = request.form.get("installment", ""), request.form.get("to", "")
        reason = request.form.get("reason", "").strip()[:200]
        try:
            change = ExtendDueDate(int(number), to=dt.date.fromisoformat(day))
        except ValueError:
            flash("Please pick an installment and a new due date (YYYY-MM-DD).", "error")
            return redirect(url_for("client", token=token))
        try:
            site.bookings.amend(booking.id, change, on=site.today, by=settings.owner, reason=reason or "extension",
                                consent=request.form.get("consent") == "yes", request=owner_request())
        except (PayplanError, ValueError) as exc:
            flash(f"Not changed: {exc}", "error")
        else:
            site.deliver()
            flash(f"Installment {change.number} is now due on {site.date(change.to)}.")
        return redirect(url_for("client", token=token))

    @app.post("/b/<token>/refund")
    @owner_only
    def refund_booking(token: str) -> Response:
        """The owner gives money back as a goodwill gesture (it lowers the price: nothing is owed again)."""
        booking = load_or_404(token)
        text = request.form.get("amount", "").strip().replace(",", "").lstrip("$")
        reason = request.form.get("reason", "").strip()[:200]
        try:
            amount = Money.of(text, booking.plan.fee.currency.code)
            if amount.minor <= 0:
                raise ValueError(f"expected an amount above zero, got {text!r}")
            outcomes = site.bookings.refund(booking.id, amount, on=site.today, reason=reason or "goodwill",
                                            lowers_price=True, request=owner_request())
        except (PayplanError, ValueError) as exc:
            flash(f"Nothing was refunded: {exc}", "error")
        else:
            site.deliver()
            sent = [o for o in outcomes if o.status is not RefundStatus.FAILED]
            flash(f"Refunded {site.money(amount)} to the client's card ({len(sent)} payment(s)).")
        return redirect(url_for("client", token=token))

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        wrong = False
        if request.method == "POST":
            if check_login(settings, request.form.get("name", ""), request.form.get("password", "")):
                log_in(settings)
                return redirect(url_for("dashboard"))
            wrong = True
        return render_template("login.html", wrong=wrong), 401 if wrong else 200

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        return redirect(url_for("catalog"))

    @app.get("/owner")
    @owner_only
    def dashboard() -> str:
        book = site.store.portfolio()
        today = site.today
        currency = site.catalog.currency
        assert currency is not None, "the site's catalog sells in one currency"
        chart = forecast(book, today, by="month", periods=12, currency=currency)
        late = overdue(book, today)
        return render_template(
            "dashboard.html", today=today, plans=len(book),
            # payplan's one "overdue now" (installments and late fees): the sum of the overdue list
            overdue=late, overdue_now=sum((i.outstanding for i in late), Money.zero(currency)),
            aging=aging(book, today, currency=currency),
            chart=Markup(forecast_svg(chart, locale=settings.locale, money=site.money)), forecast=chart,
            rates=period_summary(book, today - dt.timedelta(days=365), today, currency=currency),
            flagged=flag_late_clients(book, today),
            names={p.id: p.client for p, _ in book},
        )

    @app.post("/owner/collections")
    @owner_only
    def collections() -> Response:
        done = site.run_collections()
        flash(f"Today's collections ran for {done['plans']} plan(s): {done['fees']} late fee(s), "
              f"{done['reminders']} reminder(s), {done['notices']} notice(s).")
        return redirect(url_for("dashboard"))

    if settings.demo:
        @app.post("/owner/clock")
        @owner_only
        def clock() -> Response:
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
