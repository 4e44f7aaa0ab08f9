"""The Stripe adapter (``pip install payplan[stripe]``, ``stripe`` 16.x).

The caller passes a ``stripe.StripeClient`` it has configured itself; the
adapter never sets the SDK's module globals and never reads keys::

    client = stripe.StripeClient(os.environ["STRIPE_API_KEY"])
    provider = StripeProvider(client, webhook_secret=os.environ["STRIPE_WEBHOOK_SECRET"])
    binding = provider.publish(plan, Payer(customer_id="cus_...", payment_method_id="pm_..."))

A site collects the payer with Stripe's own page (card numbers never reach
it): :meth:`StripeProvider.start_checkout` makes the customer and a Checkout
Session in setup mode and gives the page's URL to redirect to;
:meth:`StripeProvider.finish_checkout`, on the client's return, gives the
:class:`~payplan.providers.Payer` to book with::

    page = provider.start_checkout(plan, success_url="https://studio.example/back?cs={CHECKOUT_SESSION_ID}",
                                   cancel_url="https://studio.example/agreement")
    # redirect to page.url; on return:
    payer = provider.finish_checkout(plan.id, request.args["cs"])

A plan of equal installments on a weekly, two-weekly, monthly or
two-monthly cadence becomes one subscription schedule (``StripeMode.AUTO``,
the default); any other plan becomes one scheduled invoice per installment.
Pass ``mode=`` to choose.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import stripe
from stripe.params import (
    CustomerCreateParams,
    InvoiceCreateParams,
    InvoiceItemCreateParams,
    InvoicePaymentListParams,
    RefundListParams,
)
from stripe.params.checkout import SessionCreateParams

from ..._money import Money
from ..._plan import PaymentPlan
from ..._refunds import fit_key, refund_key
from ...exceptions import ProviderRequestError, UnsupportedByProviderError
from .. import (
    Capability,
    ChargeOutcome,
    ChargeStatus,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    RefundOutcome,
    RefundStatus,
    fee_key,
    idempotency_key,
)
from ._checkout import SESSION_ID_PLACEHOLDER, Checkout, payer_of, refuse
from ._errors import stripe_errors, translate
from ._mapping import (
    META_INSTALLMENT,
    META_PLAN,
    NAME,
    StripeMode,
    choose_mode,
    finalize_refusal,
    from_stripe_amount,
    invoice_item_params,
    invoice_params,
    product_params,
    refund_params,
    schedule_params,
    schedule_refusal,
    to_stripe_amount,
)
from ._webhooks import MAPPED, normalize, refund_events, verify

__all__ = ["Checkout", "StripeMode", "StripeProvider"]

_ACTION_CODES = frozenset({"authentication_required", "invoice_payment_intent_requires_action"})


class StripeProvider(Provider):
    """Stripe, through a caller-configured ``stripe.StripeClient``.

    Args:
        client: The configured client (its key, API base and retries are the caller's).
        webhook_secret: The endpoint's signing secret (``whsec_...``), needed by
            :meth:`parse_webhook`.
        mode: Subscription schedule, invoices, or AUTO (a schedule where it fits).
        tolerance: How many seconds a webhook signature's time may lie from
            *clock* (Stripe's default: 300).
        clock: Returns the current Unix time; decides whether an installment
            is already due when it is published, and how old a webhook
            signature is (pass ``fake.clock`` of a
            :class:`~payplan.testing.stripe.FakeStripe` in tests).

    Capabilities are those of invoices mode; in subscription-schedule mode
    Stripe charges the schedule's installments on its own, so :meth:`charge`
    of one of them (the deposit, its own invoice, can be charged) and
    :meth:`update` are refused with the reason.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *clock* also governs the webhook signature's age.
    """

    name: ClassVar[str] = NAME
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.ARBITRARY_DATES,
            Capability.UNEVEN_AMOUNTS,
            Capability.AUTOPAY,
            Capability.CHARGE_NOW,
            Capability.CHARGE_FEES,
            Capability.PARTIAL_REFUNDS,
            Capability.UPDATE,
            Capability.CANCEL,
            Capability.RECONCILE,
            Capability.GOODWILL_REFUNDS,
        }
    )

    def __init__(
        self,
        client: stripe.StripeClient,
        *,
        webhook_secret: str | None = None,
        mode: StripeMode = StripeMode.AUTO,
        tolerance: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._secret = webhook_secret
        self._mode = StripeMode(mode)
        self._tolerance = tolerance
        self._clock = clock

    @property
    def mode(self) -> StripeMode:
        """The mode plans are published in."""
        return self._mode

    # -- collecting the payer ---------------------------------------------------------

    def start_checkout(
        self,
        plan: PaymentPlan,
        *,
        success_url: str,
        cancel_url: str,
        email: str | None = None,
        name: str | None = None,
        customer_id: str | None = None,
        allowed_payment_method_types: Iterable[str] = ("card",),
        attempt: int = 1,
    ) -> Checkout:
        """Make the Stripe customer and a Checkout page (``mode="setup"``) where the client saves a card for *plan*.

        The customer is created with *email* (the plan's client by
        default) and *name*; the Checkout Session is in setup mode, in the
        plan's currency, for that customer, with the plan's id in its
        metadata (``payplan_plan_id``, on its SetupIntent too). Both
        requests carry keys of :func:`~payplan.providers.idempotency_key`
        for the plan, so a double click (or a retry after a lost answer)
        within Stripe's 24-hour key window makes one customer and one
        session. Pass *attempt* 2, 3... for a new page after one expired,
        and *customer_id* to reuse a customer made earlier
        (:attr:`Checkout.customer_id`) instead of making one.

        Nothing is charged: the card is saved on the customer, and the
        booking charges it (:meth:`publish` with the payer
        :meth:`finish_checkout` gives).

        Args:
            plan: The plan the card is for (its id, version and currency).
            success_url: Where Stripe sends the client once the card is
                saved; it must hold ``{CHECKOUT_SESSION_ID}``, which Stripe
                replaces with the session's id.
            cancel_url: Where the page's "back" link goes.
            email: The client's e-mail (default: ``plan.client``).
            name: The client's name, on the customer.
            customer_id: An existing Stripe customer to save the card on.
            allowed_payment_method_types: What the page may offer, among the
                payment methods Stripe finds eligible (default: cards, which
                Stripe charges at once and whose declines payplan reads; ``()``
                for every method enabled in Stripe's dashboard).
            attempt: 1 for the first page of this plan; a new number makes a new page.

        Returns:
            The page: its URL, the session and customer ids, when it expires.

        Raises:
            ProviderRequestError: *success_url* lacks ``{CHECKOUT_SESSION_ID}``
                (before any request), or Stripe refused a request.
            ProviderConnectionError: no answer; call again (the same keys).

        .. versionadded:: 0.3.0
        """
        if SESSION_ID_PLACEHOLDER not in success_url:
            raise refuse(
                f"expected a success_url holding {SESSION_ID_PLACEHOLDER} (Stripe puts the session id there), "
                f"got {success_url!r}", "checkout_success_url",
            )
        meta = {META_PLAN: plan.id}
        body: SessionCreateParams = {
            "mode": "setup", "currency": plan.fee.currency.code.lower(), "success_url": success_url,
            "cancel_url": cancel_url, "client_reference_id": plan.id, "metadata": meta,
            "setup_intent_data": {"metadata": meta},
        }
        kinds = list(allowed_payment_method_types)
        if kinds:
            body["allowed_payment_method_types"] = kinds
        with stripe_errors():
            if customer_id is None:
                params: CustomerCreateParams = {"metadata": meta}
                if email or plan.client:
                    params["email"] = email or plan.client or ""
                if name:
                    params["name"] = name
                customer = self._client.v1.customers.create(params, {"idempotency_key": idempotency_key(plan, "customer")})
                customer_id = _text(customer, "id", "customer")
            body["customer"] = customer_id
            session = self._client.v1.checkout.sessions.create(
                body, {"idempotency_key": idempotency_key(plan, "checkout", attempt=attempt)}
            )
        expires = _field(session, "expires_at", "checkout session")
        if type(expires) is not int:
            raise ProviderRequestError(f"expected stripe's checkout session expires_at as a Unix time, got {expires!r}",
                                       provider=NAME)
        return Checkout(
            url=_text(session, "url", "checkout session"), session_id=_text(session, "id", "checkout session"),
            customer_id=customer_id, expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
        )

    def finish_checkout(self, plan: PaymentPlan | str, session_id: str) -> Payer:
        """The payer whose card the Checkout page of :meth:`start_checkout` saved, once the client is back.

        Reads the session with its SetupIntent expanded (one request):
        it must be *plan*'s (its ``payplan_plan_id``), in setup mode, and
        ``complete``, its SetupIntent ``succeeded``. Reading it again
        gives the same payer, so a client who comes back twice is no
        trouble (book with :meth:`payplan.bookings.Bookings.book`, which
        books a plan once).

        Args:
            plan: The plan (or its id) the page was made for.
            session_id: The ``cs_...`` id Stripe put in the success URL.

        Returns:
            The Stripe customer, the saved payment method, and the e-mail the client gave.

        Raises:
            ProviderRequestError: not a session id, no such session, or one
                that is another plan's or not in setup mode (``provider_code``
                ``checkout_foreign``), still open (``checkout_open``: send the
                client back to its page), expired (``checkout_expired``: start
                a new one with the next *attempt*), or whose SetupIntent did
                not succeed (``checkout_setup_failed``).
            ProviderConnectionError: no answer; call again.

        .. versionadded:: 0.3.0
        """
        plan_id = plan.id if isinstance(plan, PaymentPlan) else plan
        if not isinstance(session_id, str) or not session_id.startswith("cs_") or len(session_id) > 255:
            raise refuse(f"expected a Checkout Session id (cs_...), got {session_id!r}", "checkout_foreign")
        with stripe_errors():
            session = self._client.v1.checkout.sessions.retrieve(session_id, {"expand": ["setup_intent"]}).to_dict()
            intent = session.get("setup_intent")
            if isinstance(intent, str):  # not expanded: read it
                intent = self._client.v1.setup_intents.retrieve(intent).to_dict()
        return payer_of(session, intent if isinstance(intent, Mapping) else None, plan_id)

    # -- checking and publishing ----------------------------------------------------

    def check(self, plan: PaymentPlan) -> None:
        """Refuse a plan Stripe cannot carry exactly, before any request.

        Raises:
            UnsupportedByProviderError: an amount Stripe would round, or a
                plan that is not one subscription schedule in that mode.
        """
        super().check(plan)
        for inst in plan.installments:
            to_stripe_amount(inst.amount)
        late = finalize_refusal(plan, int(self._clock()))
        if late is not None:
            raise UnsupportedByProviderError(late, provider=NAME)
        if self._mode is StripeMode.SUBSCRIPTION_SCHEDULE:
            why = schedule_refusal(plan)
            if why is not None:
                raise UnsupportedByProviderError(why, provider=NAME)

    def publish(self, plan: PaymentPlan, payer: Payer) -> ProviderBinding:
        """Create the plan's invoices or subscription schedule on Stripe.

        Every request carries a key from :func:`~payplan.providers.idempotency_key`,
        so publishing again (within Stripe's 24-hour key window) returns the
        same objects.

        Raises:
            UnsupportedByProviderError: the plan cannot be expressed exactly.
            ProviderRequestError: the payer has no Stripe customer id, or Stripe refused a request.
            ProviderConnectionError: no answer; retry the same call.
        """
        self.check(plan)
        customer = _customer(payer)
        now = int(self._clock())
        mode = choose_mode(plan, self._mode)
        if mode is StripeMode.SUBSCRIPTION_SCHEDULE:
            try:  # built first so a refusal happens before any request
                body = schedule_params(
                    plan, customer=customer, payment_method=payer.payment_method_id, product="prod_", now=now
                )
            except UnsupportedByProviderError:
                if self._mode is not StripeMode.AUTO:
                    raise
                mode = StripeMode.INVOICES  # e.g. a start already in the past: invoices carry any dates
        if mode is StripeMode.SUBSCRIPTION_SCHEDULE:
            with stripe_errors():
                product = self._client.v1.products.create(
                    product_params(plan), {"idempotency_key": idempotency_key(plan, "product")}
                )
                body = schedule_params(
                    plan, customer=customer, payment_method=payer.payment_method_id, product=_text(product, "id", "product"), now=now
                )
                schedule = self._client.v1.subscription_schedules.create(
                    body, {"idempotency_key": idempotency_key(plan, "schedule")}
                )
            ids = {
                "customer": customer,
                "product": _text(product, "id", "product"),
                "schedule": _text(schedule, "id", "subscription schedule"),
            }
            if payer.payment_method_id:  # the card fees are charged to, as in invoices mode
                ids["payment_method"] = payer.payment_method_id
            deposit = plan.deposit
            if deposit is not None:  # its own invoice: a trial phase is documented as charging $0
                ids.update(self._create_invoices(plan, [deposit], customer, payer.payment_method_id, now))
            return ProviderBinding(NAME, plan.id, plan.version, ids, status=_str_or_none(schedule.to_dict().get("status")))
        ids = {"customer": customer}
        if payer.payment_method_id:
            ids["payment_method"] = payer.payment_method_id
        ids.update(self._create_invoices(plan, plan.installments, customer, payer.payment_method_id, now))
        return ProviderBinding(NAME, plan.id, plan.version, ids, status="scheduled")

    def _create_invoices(
        self, plan: PaymentPlan, lines: Iterable[Any], customer: str, payment_method: str | None, now: int
    ) -> dict[str, str]:
        ids: dict[str, str] = {}
        with stripe_errors():
            for inst in lines:
                invoice = self._client.v1.invoices.create(
                    invoice_params(plan, inst, customer=customer, payment_method=payment_method, now=now),
                    {"idempotency_key": idempotency_key(plan, "invoice", installment=inst.number)},
                )
                self._client.v1.invoice_items.create(
                    invoice_item_params(plan, inst, customer=customer, invoice=_text(invoice, "id", "invoice")),
                    {"idempotency_key": idempotency_key(plan, "invoice-item", installment=inst.number)},
                )
                ids[f"invoice:{inst.number}"] = _text(invoice, "id", "invoice")
        return ids

    def update(self, binding: ProviderBinding, plan: PaymentPlan) -> ProviderBinding:
        """Move a published invoices-mode plan to its new version.

        Paid invoices stay as they are; every unpaid one is deleted (draft)
        or voided (open) and the new version's unpaid installments get new
        invoices, under keys that carry the new version. A binding already
        at *plan*'s version is returned unchanged, without a request: an
        update applied twice must not delete the invoices it made (their
        keys would replay the deleted objects for 24 hours).

        Raises:
            UnsupportedByProviderError: a subscription-schedule plan (cancel it and publish the new version).
        """
        self._check_binding(binding, plan.id)
        if binding.plan_version == plan.version:
            return binding
        if "schedule" in binding.ids:
            raise UnsupportedByProviderError(
                "stripe subscription schedules are not updated by payplan: cancel the schedule and publish "
                f"version {plan.version} of plan {plan.id} in invoices mode",
                provider=NAME,
            )
        self.check(plan)
        customer = binding.id("customer")
        kept: dict[str, str] = {"customer": customer}
        payment_method = binding.ids.get("payment_method")
        if payment_method:
            kept["payment_method"] = payment_method
        paid: set[int] = set()
        with stripe_errors():
            for role, invoice_id in binding.ids.items():
                if not role.startswith("invoice:"):
                    continue
                number = int(role.split(":", 1)[1])
                invoice = self._retrieve_invoice(invoice_id)
                if invoice is None:  # a draft deleted by an earlier update or cancel
                    continue
                if _text(invoice, "status", "invoice") == "paid":
                    paid.add(number)
                    kept[role] = invoice_id
                    continue
                self._withdraw(invoice_id, _text(invoice, "status", "invoice"), plan, number)
        todo = [i for i in plan.installments if i.number not in paid]
        kept.update(self._create_invoices(plan, todo, customer, payment_method, int(self._clock())))
        return ProviderBinding(NAME, plan.id, plan.version, kept, status="scheduled")

    def _withdraw(self, invoice_id: str, status: str | None, plan: PaymentPlan | ProviderBinding, number: int) -> None:
        if status == "draft":
            self._client.v1.invoices.delete(invoice_id)
        elif status in ("open", "uncollectible"):
            version = plan.version if isinstance(plan, PaymentPlan) else plan.plan_version
            plan_id = plan.id if isinstance(plan, PaymentPlan) else plan.plan_id
            self._client.v1.invoices.void_invoice(
                invoice_id, None, {"idempotency_key": idempotency_key(plan_id, "void", version=version, installment=number)}
            )

    def cancel(self, binding: ProviderBinding) -> None:
        """Stop the plan: cancel the schedule, or delete and void every unpaid invoice. Cancelling twice is harmless."""
        self._check_binding(binding)
        with stripe_errors():
            if "schedule" in binding.ids:
                schedule_id = binding.id("schedule")
                schedule = self._client.v1.subscription_schedules.retrieve(schedule_id)
                if _text(schedule, "status", "subscription schedule") not in ("canceled", "completed", "released"):
                    self._client.v1.subscription_schedules.cancel(
                        schedule_id,
                        {"invoice_now": False, "prorate": False},
                        {"idempotency_key": idempotency_key(binding.plan_id, "cancel", version=binding.plan_version)},
                    )
                return
            for role, invoice_id in binding.ids.items():
                if role.startswith("invoice:"):
                    invoice = self._retrieve_invoice(invoice_id)
                    if invoice is None:
                        continue
                    self._withdraw(invoice_id, _text(invoice, "status", "invoice"), binding, int(role.split(":", 1)[1]))

    # -- money ----------------------------------------------------------------------

    def charge(
        self, binding: ProviderBinding, plan: PaymentPlan, installment: int, *, attempt: int = 1
    ) -> ChargeOutcome:
        """Charge one installment's invoice now (finalizing it first if still a draft).

        A decline, an expired card or a card that needs authentication is
        returned as an outcome. An invoice already paid returns SUCCEEDED
        without charging again. Under a subscription schedule the deposit is
        its own invoice outside the schedule (which starts with the first
        installment after it), so the deposit can be charged at signing in
        either mode.

        Raises:
            UnsupportedByProviderError: an installment the subscription
                schedule bills (Stripe charges those itself, on their dates).

        .. versionchanged:: 0.2.0
           The deposit of a subscription-schedule plan can be charged now.
        """
        self._check_binding(binding, plan.id)
        amount = plan.installment(installment).amount
        role = f"invoice:{installment}"
        if "schedule" in binding.ids and role not in binding.ids:
            raise UnsupportedByProviderError(
                f"stripe's subscription schedule bills installment {installment} of plan {plan.id} on its own "
                "date; payplan can charge only the deposit of a schedule on demand (publish in invoices mode "
                "to charge any installment)",
                provider=NAME,
            )
        invoice_id = binding.id(role)
        key = idempotency_key(plan, "charge", installment=installment, attempt=attempt)

        def outcome(status: ChargeStatus, code: str | None = None, message: str | None = None) -> ChargeOutcome:
            return ChargeOutcome(status, plan.id, installment, amount, attempt, invoice_id, code, message)

        with stripe_errors():
            invoice = self._client.v1.invoices.retrieve(invoice_id)
            status = _text(invoice, "status", "invoice")
            if status == "paid":
                return outcome(ChargeStatus.SUCCEEDED)
            if status == "draft":
                self._client.v1.invoices.finalize_invoice(
                    invoice_id, {"auto_advance": False},
                    {"idempotency_key": idempotency_key(plan, "finalize", installment=installment)},
                )
        return self._pay(invoice_id, key, outcome)

    def _pay(self, invoice_id: str, key: str, outcome: Callable[..., ChargeOutcome]) -> ChargeOutcome:
        """Pay an open invoice off session; a card error is an outcome."""
        try:
            paid = self._client.v1.invoices.pay(invoice_id, {"off_session": True}, {"idempotency_key": key})
        except stripe.CardError as exc:
            code = exc.code if isinstance(exc.code, str) else None
            status = ChargeStatus.REQUIRES_ACTION if code in _ACTION_CODES else ChargeStatus.DECLINED
            decline = getattr(exc, "error", None)
            detail = getattr(decline, "decline_code", None) if decline is not None else None
            return outcome(status, code or (detail if isinstance(detail, str) else None), exc.user_message or str(exc))
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        now_status = _str_or_none(paid.to_dict().get("status"))
        if now_status == "paid":
            return outcome(ChargeStatus.SUCCEEDED)
        return outcome(ChargeStatus.PENDING, message=f"stripe invoice status {now_status}")

    def charge_fee(
        self,
        binding: ProviderBinding,
        plan: PaymentPlan,
        fee_id: str,
        amount: Money,
        *,
        description: str = "",
        attempt: int = 1,
    ) -> ChargeOutcome:
        """Charge a fee now as a one-off invoice of its own, in either mode.

        The invoice (metadata ``payplan_plan_id`` and ``payplan_fee``), its
        one line, its finalization and the payment each carry a key from
        the plan and *fee_id*; only the payment's carries *attempt*. Stripe
        prunes keys after about 24 hours, so before creating the invoice the
        adapter looks for an earlier one of this fee among the customer's
        invoices (by that metadata): a fee already paid returns SUCCEEDED
        without charging again, and a new attempt after a decline pays the
        same open invoice again, however long after. The outcome's
        reference is the invoice id (what :meth:`refund` takes).

        Raises:
            ProviderRequestError: the binding is another plan's, the amount is
                not positive, or the fee's invoice was voided in Stripe.
            UnsupportedByProviderError: an amount Stripe would round.

        .. versionchanged:: 0.2.0
           An earlier invoice of the fee is found by its metadata, not only by the idempotency key.
        """
        self._check_fee(binding, plan, amount)
        units = to_stripe_amount(amount)
        customer = binding.id("customer")
        base = f"payplan:{plan.id}:fee:{fee_id}:{amount.minor}{amount.currency.code}"
        meta = {META_PLAN: plan.id, "payplan_fee": fee_id[:500]}
        words = (description or f"Fee {fee_id}")[:500]
        params: InvoiceCreateParams = {
            "customer": customer,
            "collection_method": "charge_automatically",
            "auto_advance": False,
            "currency": plan.currency.lower(),
            "pending_invoice_items_behavior": "exclude",
            "description": words,
            "metadata": meta,
        }
        if binding.ids.get("payment_method"):
            params["default_payment_method"] = binding.ids["payment_method"]
        with stripe_errors():
            invoice = self._earlier_fee(customer, meta, units)
            if invoice is None:
                created = self._client.v1.invoices.create(params, {"idempotency_key": fit_key(base + ":invoice")})
                invoice = self._client.v1.invoices.retrieve(_text(created, "id", "invoice"))
            invoice_id = _text(invoice, "id", "invoice")
            status = _text(invoice, "status", "invoice")

        def outcome(status: ChargeStatus, code: str | None = None, message: str | None = None) -> ChargeOutcome:
            return ChargeOutcome(status, plan.id, 0, amount, attempt, invoice_id, code, message, fee_id)

        if status == "paid":
            return outcome(ChargeStatus.SUCCEEDED)
        if status == "void":
            raise ProviderRequestError(
                f"expected fee {fee_id} of plan {plan.id} to be open or paid in Stripe, its invoice {invoice_id} "
                "was voided: waive the fee, or collect it another way and record the payment",
                provider=NAME,
            )
        with stripe_errors():
            if status == "draft":
                if not (invoice.to_dict().get("lines") or {}).get("data"):
                    item: InvoiceItemCreateParams = {
                        "customer": customer, "invoice": invoice_id, "amount": units,
                        "currency": plan.currency.lower(), "description": words, "metadata": meta,
                    }
                    self._client.v1.invoice_items.create(item, {"idempotency_key": fit_key(base + ":item")})
                self._client.v1.invoices.finalize_invoice(
                    invoice_id, {"auto_advance": False}, {"idempotency_key": fit_key(base + ":finalize")}
                )
        return self._pay(invoice_id, fee_key(plan.id, fee_id, amount, attempt=attempt), outcome)

    def _earlier_fee(self, customer: str, meta: Mapping[str, str], units: int) -> Any:
        """The fee's earlier invoice among the customer's (same plan, fee id and amount), or None.

        A listing (not Stripe's search, which lags its writes by up to a
        minute) of one customer's invoices, newest first: a paid one wins,
        then an open or uncollectible one, then a draft, then a voided one.
        """
        found: list[Any] = []
        for invoice in self._client.v1.invoices.list({"customer": customer, "limit": 100}).auto_paging_iter():
            body = invoice.to_dict()
            mine = body.get("metadata") or {}
            if any(mine.get(k) != v for k, v in meta.items()):
                continue
            if body.get("status") != "draft" and body.get("amount_due") != units:
                continue  # the same fee id at another amount is another charge
            found.append(invoice)
        rank = {"paid": 0, "open": 1, "uncollectible": 1, "draft": 2, "void": 3}
        found.sort(key=lambda i: rank.get(str(i.to_dict().get("status")), 4))
        return found[0] if found else None

    def refund(
        self,
        binding: ProviderBinding,
        charge_reference: str,
        amount: Money,
        *,
        reason: str | None = None,
        sequence: int = 1,
        idempotency_key: str | None = None,
        lowers_price: bool = False,
    ) -> RefundOutcome:
        """Refund *amount* of the payment of the invoice *charge_reference*.

        The key is *idempotency_key* (a refund instruction's) or
        :func:`~payplan.refund_key` of the plan, the invoice, the amount and
        *sequence*, in either mode: a second refund of another amount is a
        second refund (not an ``IdempotencyError``), one of the same amount
        is ``sequence=2``, and the same refund retried is one. The invoice's
        payment is refunded through its PaymentIntent, or its charge where
        it was paid by a charge (Stripe then sends no ``payment_intent``).
        A goodwill refund (*lowers_price*) says so in the refund's metadata
        (``payplan_lowers_price``), and its events carry it back.

        Raises:
            ProviderRequestError: the invoice has no payment to refund, or Stripe refused.

        .. versionchanged:: 0.2.0
           *lowers_price*; an invoice paid by a charge is refunded (it raised ``AttributeError``).
        """
        self._check_binding(binding)
        installment = next(
            (int(role.split(":", 1)[1]) for role, v in binding.ids.items() if v == charge_reference and role.startswith("invoice:")),
            None,
        )
        with stripe_errors():
            payments = self._client.v1.invoice_payments.list({"invoice": charge_reference, "status": "paid"})
            paid_by = next((found for p in payments.data if (found := _paid_by(p)) is not None), None)
            if paid_by is None:
                raise ProviderRequestError(
                    f"expected a paid invoice to refund, {charge_reference} has no payment", provider=NAME
                )
            made = self._client.v1.refunds.create(
                refund_params(
                    paid_by[1], amount, binding.plan_id, installment, reason,
                    lowers_price=lowers_price, by=paid_by[0],
                ),
                {
                    "idempotency_key": idempotency_key
                    or refund_key(binding.plan_id, charge_reference, amount, sequence=sequence)
                },
            )
            body = made.to_dict()  # a succeeded refund has no failure_reason key at all
        status = {"succeeded": RefundStatus.SUCCEEDED, "pending": RefundStatus.PENDING}.get(
            _text(made, "status", "refund"), RefundStatus.FAILED
        )
        units = _field(made, "amount", "refund")
        if type(units) is not int or units <= 0:
            raise ProviderRequestError(f"expected stripe's refund amount as a positive integer, got {units!r}", provider=NAME)
        money = from_stripe_amount(units, _text(made, "currency", "refund"))
        return RefundOutcome(
            status, money, charge_reference, _text(made, "id", "refund"), _str_or_none(body.get("failure_reason")), NAME,
            lowers_price=lowers_price,
        )

    # -- events ---------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        """Verify the ``Stripe-Signature`` and normalize the event.

        ``invoice.paid``, ``invoice.payment_failed``,
        ``invoice.payment_action_required``, ``refund.created``,
        ``refund.updated``, ``refund.failed``, ``charge.refunded`` and
        ``subscription_schedule.canceled`` become payplan events; every other
        type, and objects of no payplan plan, give none. A refund without
        payplan metadata (made in the dashboard) is traced to its plan
        through the invoice its payment paid (one or two reads).

        Raises:
            ProviderAuthError: the signature is missing, wrong or stale.
            ProviderRequestError: the event is malformed (the message names
                the field), or an amount is negative or zero.
        """
        event = verify(headers, body, self._secret, self._tolerance, self._clock())
        with stripe_errors():
            return normalize(
                event, plan_of_payment=self._plan_of_payment, refunds_of_charge=self._refunds_of_charge,
                decline_of=self._decline_of,
            )

    def reconcile(self, binding: ProviderBinding, known: Iterable[str] = ()) -> tuple[ProviderEvent, ...]:
        """Stripe's view of this plan: the events not in *known*.

        Reads Stripe's event log (its last 30 days) and, for every paid
        invoice of the binding, the refunds of its payment, so a refund
        older than the log, or made in Stripe's dashboard without payplan
        metadata, is found too (with the same id its webhook gives).
        """
        self._check_binding(binding)
        seen = set(known)
        found: dict[str, ProviderEvent] = {}

        def add(events: Iterable[ProviderEvent]) -> None:
            for e in events:
                if e.plan_id == binding.plan_id and e.id not in seen:
                    found.setdefault(e.id, e)

        with stripe_errors():
            page = self._client.v1.events.list({"types": sorted(MAPPED), "limit": 100})
            for event in page.auto_paging_iter():
                add(normalize(event.to_dict(), plan_of_payment=self._plan_of_payment, decline_of=self._decline_of))
            for role, invoice_id in binding.ids.items():
                if not role.startswith("invoice:"):
                    continue
                number = int(role.split(":", 1)[1])
                for kind, paid_by in self._payments_of(invoice_id):
                    query: RefundListParams = (
                        {"payment_intent": paid_by, "limit": 100} if kind == "payment_intent"
                        else {"charge": paid_by, "limit": 100}
                    )
                    for refund in self._client.v1.refunds.list(query).auto_paging_iter():
                        body = refund.to_dict()
                        add(refund_events(body, plan_id=binding.plan_id, installment=number))
        return tuple(sorted(found.values(), key=lambda e: (e.sequence, e.id)))

    def _payments_of(self, invoice_id: str) -> list[tuple[str, str]]:
        """How the invoice was paid: ``(kind, id)`` pairs, kind ``payment_intent`` or ``charge``."""
        payments = self._client.v1.invoice_payments.list({"invoice": invoice_id, "status": "paid"})
        return [found for p in payments.data if (found := _paid_by(p)) is not None]

    def _plan_of_payment(self, intent: str | None, charge: str | None) -> tuple[str, int | None] | None:
        """The plan and installment of the invoice a payment intent or charge paid (for refunds without metadata).

        Invoice payments can be listed by PaymentIntent but not by charge, so
        a payment made without one (a legacy card or source) is found among
        the paid invoices of the charge's customer.
        """
        if intent is not None:
            query: InvoicePaymentListParams = {"payment": {"type": "payment_intent", "payment_intent": intent}}
            payments = self._client.v1.invoice_payments.list(query)
            for p in payments.data:
                found = self._plan_of_invoice(_str_or_none(p.to_dict().get("invoice")))
                if found is not None:
                    return found
            return None
        if charge is None:
            return None
        customer = _str_or_none(self._client.v1.charges.retrieve(charge).to_dict().get("customer"))
        if customer is None:
            return None
        for invoice in self._client.v1.invoices.list({"customer": customer, "status": "paid", "limit": 100}).auto_paging_iter():
            invoice_id = _str_or_none(invoice.to_dict().get("id"))
            if invoice_id and ("charge", charge) in self._payments_of(invoice_id):
                return self._plan_of_invoice(invoice_id)
        return None

    def _plan_of_invoice(self, invoice_id: str | None) -> tuple[str, int | None] | None:
        """The plan and installment an invoice's payplan metadata names, or None."""
        invoice = self._retrieve_invoice(invoice_id) if invoice_id else None
        meta = invoice.to_dict().get("metadata") if invoice is not None else None
        if isinstance(meta, dict) and isinstance(meta.get(META_PLAN), str) and meta[META_PLAN]:
            number = meta.get(META_INSTALLMENT)
            installment = int(number) if isinstance(number, str) and number.isdigit() else None
            return meta[META_PLAN], installment
        return None

    def _decline_of(self, invoice_id: str) -> str | None:
        """The decline code of the invoice's last failed attempt, from its PaymentIntent; None when unreadable.

        Since API 2025-03-31.basil an invoice no longer names its payment
        intent: its invoice payments do, and the intent's
        ``last_payment_error`` has the error ``code`` (``card_declined``,
        ``expired_card``, ``authentication_required``), or the issuer's
        ``decline_code`` where it says more (``insufficient_funds``): the
        codes :meth:`charge` gives. A failed read gives None (the event is
        still recorded, with the generic reason), never an error.
        """
        try:
            payments = self._client.v1.invoice_payments.list({"invoice": invoice_id, "limit": 10})
            for kind, intent in (found for p in payments.data if (found := _paid_by(p)) is not None):
                if kind != "payment_intent":
                    continue
                error = self._client.v1.payment_intents.retrieve(intent).to_dict().get("last_payment_error")
                if isinstance(error, Mapping):
                    code, decline = error.get("code"), error.get("decline_code")
                    if code == "card_declined" and isinstance(decline, str) and decline not in ("", "generic_decline"):
                        code = decline  # the issuer's reason says more (insufficient_funds)
                    if isinstance(code, str) and code:
                        return code[:100]
        except stripe.StripeError:
            return None
        return None

    def _refunds_of_charge(self, charge: str) -> list[dict[str, Any]]:
        page = self._client.v1.refunds.list({"charge": charge, "limit": 100})
        return [r.to_dict() for r in page.auto_paging_iter()]

    # -- internals --------------------------------------------------------------------

    def _retrieve_invoice(self, invoice_id: str) -> Any:
        """The invoice, or None when Stripe no longer has it (a deleted draft)."""
        try:
            return self._client.v1.invoices.retrieve(invoice_id)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                return None
            raise

    def _check_binding(self, binding: ProviderBinding, plan_id: str | None = None) -> None:
        if binding.provider != NAME or (plan_id is not None and binding.plan_id != plan_id):
            raise ProviderRequestError(
                f"expected a stripe binding of plan {plan_id or binding.plan_id}, "
                f"got a {binding.provider} binding of plan {binding.plan_id}",
                provider=NAME,
            )


def _customer(payer: Payer) -> str:
    if not payer.customer_id:
        raise ProviderRequestError(
            "expected a Payer with a Stripe customer id (cus_...), got none", provider=NAME
        )
    return payer.customer_id


def _field(obj: Any, key: str, what: str) -> Any:
    """*key* of a Stripe object (read from its dict: the SDK raises AttributeError on a missing key).

    Raises:
        ProviderRequestError: Stripe sent the object without it.
    """
    body = obj.to_dict() if hasattr(obj, "to_dict") else obj
    value = body.get(key) if isinstance(body, Mapping) else None
    if value is None:
        raise ProviderRequestError(f"expected stripe's {what} to carry {key!r}, got none", provider=NAME)
    return value


def _text(obj: Any, key: str, what: str) -> str:
    """*key* of a Stripe object as a non-empty string.

    Raises:
        ProviderRequestError: missing, empty or not a string.
    """
    value = _field(obj, key, what)
    if not isinstance(value, str) or not value:
        raise ProviderRequestError(f"expected stripe's {what} {key} as a string, got {value!r}", provider=NAME)
    return value


def _paid_by(payment: Any) -> tuple[str, str] | None:
    """``("payment_intent", id)`` or ``("charge", id)`` for an invoice payment, or None.

    Stripe omits the keys of the kinds that did not pay (an invoice paid by
    a charge has no ``payment_intent`` key), so they are read from the dict.
    """
    body = payment.to_dict() if hasattr(payment, "to_dict") else payment
    paid = body.get("payment") if isinstance(body, Mapping) else None
    if not isinstance(paid, Mapping):
        return None
    for kind in ("payment_intent", "charge"):
        ident = _str_or_none(paid.get(kind))
        if ident:
            return kind, ident
    return None


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    ident = getattr(value, "id", None)
    return ident if isinstance(ident, str) else None
