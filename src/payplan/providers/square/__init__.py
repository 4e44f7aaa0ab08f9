"""Square adapter: a payplan plan as one Square invoice with a payment request per installment.

Install with ``pip install 'payplan[square]'`` (``squareup`` 46.x). The
caller builds and owns the SDK client::

    from square import Square
    from payplan.providers.square import SquareProvider

    square = SquareProvider(Square(token=...), location_id="L...", invoices_plus=True)
    binding = square.publish(plan, Payer(customer_id="C...", payment_method_id="ccof:..."))

Publishing creates an order (one line for the fee, ``reference_id`` and
``metadata`` naming the plan), then a draft invoice whose payment requests
are one ``DEPOSIT`` and 2 to 12 ``INSTALLMENT`` requests with fixed amounts
and due dates (or ``DEPOSIT`` + ``BALANCE`` for two payments, ``BALANCE``
for one), with ``CARD_ON_FILE`` autopay when the payer has a saved card,
and then publishes it. Every call carries an idempotency key from
:func:`payplan.providers.idempotency_key`, so publishing the same plan
version twice creates nothing twice.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from attrs import evolve

from ..._money import Money
from ..._plan import PaymentPlan
from ..._refunds import refund_key
from ...exceptions import (
    InvalidPlanError,
    ProviderAuthError,
    ProviderRequestError,
    UnsupportedByProviderError,
)
from .. import (
    Capability,
    ChargeOutcome,
    ChargeStatus,
    EventKind,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    RefundOutcome,
    RefundStatus,
    fee_key,
    idempotency_key,
)
from ._errors import translate_errors
from ._mapping import (
    MAX_INSTALLMENTS,
    PROVIDER,
    invoice_body,
    money,
    order_body,
    plan_version_from_description,
    refund_reason,
    request_types,
    update_body,
)
from ._webhooks import SIGNATURE_HEADER, invoice_state, normalize, sign, verify

if TYPE_CHECKING:
    from square import Square

from square.core.api_error import ApiError

__all__ = ["SIGNATURE_HEADER", "SquareProvider", "sign_webhook"]

#: A payment's reference_id is at most 40 characters.
_REFERENCE_MAX = 40
#: Square's RefundPayment takes idempotency keys of at most 45 characters.
_REFUND_KEY_MAX = 45

_REFUND_STATUS = {
    "COMPLETED": RefundStatus.SUCCEEDED,
    "PENDING": RefundStatus.PENDING,
    "REJECTED": RefundStatus.FAILED,
    "FAILED": RefundStatus.FAILED,
}


def sign_webhook(body: bytes, *, signature_key: str, notification_url: str) -> str:
    """The ``x-square-hmacsha256-signature`` value Square would send for *body*.

    For tests and local fakes: base64 of HMAC-SHA256 over the notification
    URL followed by the body, keyed with the subscription's signature key.

    .. versionadded:: 0.1.0
    """
    return sign(body, signature_key=signature_key, notification_url=notification_url)


def _as_dict(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, Mapping):
        return dict(model)
    dumped = model.dict(by_alias=True, exclude_none=True)
    return dict(dumped)


def _declined(body: object) -> tuple[str | None, str]:
    """The failed payment's id and Square's error code (lower case) from a 402 answer."""
    found = body if isinstance(body, Mapping) else {}
    errors = found.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    payment = found.get("payment")
    ident = payment.get("id") if isinstance(payment, Mapping) else None
    return (str(ident) if ident else None), str(first.get("code") or "CARD_DECLINED").lower()


def _request_order(request: Mapping[str, Any]) -> tuple[bool, str]:
    return (request.get("request_type") != "DEPOSIT", str(request.get("due_date") or ""))


def _completed(request: Mapping[str, Any]) -> int:
    money = request.get("total_completed_amount_money")
    value = money.get("amount") if isinstance(money, Mapping) else None
    return value if type(value) is int else 0


def _computed(request: Mapping[str, Any]) -> int:
    money = request.get("computed_amount_money")
    value = money.get("amount") if isinstance(money, Mapping) else None
    return value if type(value) is int else 0


def _fee_since(plan: PaymentPlan, fee_id: str) -> dt.date:
    """The earliest day a fee can have been charged: a late fee's line due date, else the booking."""
    prefix = f"{plan.id}:late-fee:"
    if fee_id.startswith(prefix):
        line = fee_id[len(prefix):].rsplit(":", 1)[0]
        for installment in plan.installments:
            if installment.line_id == line:
                return installment.due  # a late fee applies after its line fell due
    return plan.booked


def _short(key: str, limit: int) -> str:
    if len(key) <= limit:
        return key
    return "pp:" + hashlib.sha256(key.encode()).hexdigest()[: limit - 3]


class SquareProvider(Provider):
    """Publishes payplan plans as Square invoices (Orders + Invoices APIs).

    Args:
        client: A configured ``square.Square`` client; it stays the caller's.
        location_id: The Square location that owns the orders and invoices;
            invoice due dates are read in its time zone.
        invoices_plus: Whether the seller has Square's Invoices Plus
            subscription, as the caller knows it (Square's API does not say).
            Without it Square takes no ``INSTALLMENT`` requests: a plan of
            one or two payments still publishes (as ``BALANCE`` or
            ``DEPOSIT`` + ``BALANCE``), a longer one is refused by
            :meth:`check`. Left unstated (None), payplan does not assume it:
            a plan that needs installments is refused before anything is
            created, saying to state it (an order created and an invoice
            then refused by Square is what assuming it did).
        signature_key: The webhook subscription's signature key.
        notification_url: The URL Square posts webhooks to, exactly as
            registered (it is part of what Square signs).
        location_timezone: The location's IANA time zone. Square reads every
            ``due_date`` in it, so :meth:`check` refuses plans whose dates are
            local to another zone, instead of letting each charge move by the
            difference between the two zones. When not given, it is read
            from Square (``locations.get``, once) by the first check.
        max_retries: How often the SDK retries a call on 408/409/429/5xx.
            Retries resend the same idempotency key, so they never create
            anything twice; the default 0 leaves retrying to the caller.
        timeout: Per-call timeout in seconds, if not the client's own.

    Limits (see :meth:`check`): at most 12 installments after the deposit,
    the deposit due before everything else, installments only with
    Invoices Plus, and the total of a published invoice cannot change.

    .. versionadded:: 0.1.0
    """

    name: ClassVar[str] = PROVIDER
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.ARBITRARY_DATES,
            Capability.UNEVEN_AMOUNTS,
            Capability.AUTOPAY,
            Capability.CHARGE_FEES,
            Capability.PARTIAL_REFUNDS,
            Capability.GOODWILL_REFUNDS,
            Capability.UPDATE,
            Capability.CANCEL,
            Capability.RECONCILE,
        }
    )
    max_installments: ClassVar[int | None] = MAX_INSTALLMENTS

    def __init__(
        self,
        client: Square,
        *,
        location_id: str,
        invoices_plus: bool | None = None,
        signature_key: str | None = None,
        notification_url: str | None = None,
        location_timezone: str | None = None,
        max_retries: int = 0,
        timeout: int | None = None,
    ) -> None:
        if not location_id:
            raise InvalidPlanError(f"expected a Square location id, got {location_id!r}")
        self._client = client
        self.location_id = location_id
        self.invoices_plus = invoices_plus
        self._signature_key = signature_key
        self._notification_url = notification_url
        self.location_timezone = location_timezone
        options: dict[str, Any] = {"max_retries": max_retries}
        if timeout is not None:
            options["timeout_in_seconds"] = timeout
        self._options = options

    # -- limits ---------------------------------------------------------------

    def check(self, plan: PaymentPlan) -> None:
        """Refuse a plan Square cannot express exactly.

        Raises:
            UnsupportedByProviderError: more than 12 installments after the
                deposit, a deposit not due before the next payment, or
                installments for a seller without Invoices Plus, or dates
                local to another time zone than ``location_timezone``.
        """
        super().check(plan)
        if self.invoices_plus is None:
            try:
                request_types(plan, invoices_plus=False)
            except UnsupportedByProviderError as exc:
                if "Invoices Plus" not in str(exc):
                    raise
                raise UnsupportedByProviderError(
                    f"{exc}; SquareProvider(invoices_plus=...) was not stated and payplan does not assume "
                    "the seller has Invoices Plus: pass invoices_plus=True if it does",
                    provider=PROVIDER,
                ) from None
        else:
            request_types(plan, invoices_plus=self.invoices_plus)
        zone = self._location_zone()
        if plan.timezone != zone:
            raise UnsupportedByProviderError(
                f"square reads due dates in the location's time zone {zone}, plan {plan.id} has dates "
                f"local to {plan.timezone}; build the plan with timezone={zone!r}",
                provider=PROVIDER,
            )

    def _location_zone(self) -> str:
        """The location's time zone: as given, or read from Square once."""
        if self.location_timezone is None:
            with translate_errors("get location"):
                got = self._client.locations.get(self.location_id, request_options=self._options)
            zone = _as_dict(got.location).get("timezone")
            if not isinstance(zone, str) or not zone:
                raise ProviderRequestError(
                    f"square get location: expected location {self.location_id} to have a timezone, got {zone!r}",
                    provider=PROVIDER,
                )
            self.location_timezone = zone
        return self.location_timezone

    # -- publishing -----------------------------------------------------------

    def publish(self, plan: PaymentPlan, payer: Payer) -> ProviderBinding:
        """Create the order and the invoice for *plan*, then publish the invoice.

        The payer needs a Square ``customer_id`` (the invoice recipient);
        with a ``payment_method_id`` (a ``ccof:`` card on file) every payment
        request is charged automatically on its due date.

        Returns:
            A binding with ids ``order``, ``invoice``, ``location``,
            ``customer`` and, with autopay, ``card``; ``approval_url`` is the
            invoice's public page and ``status`` Square's invoice status.

        Raises:
            UnsupportedByProviderError: the plan cannot be expressed, or the
                payer has no customer id.
            ProviderError: Square refused or did not answer.
        """
        self.check(plan)
        customer = payer.customer_id
        if not customer:
            raise UnsupportedByProviderError(
                "square invoices are sent to a Square customer: expected a Payer with customer_id, got none",
                provider=PROVIDER,
            )
        card = payer.payment_method_id
        order = order_body(plan, location_id=self.location_id, customer_id=customer)
        with translate_errors("create order"):
            created = self._client.orders.create(
                order=order,
                idempotency_key=idempotency_key(plan, "order"),
                request_options=self._options,
            )
        if created.order is None or not created.order.id:
            raise ProviderRequestError("square create order: expected an order in the answer", provider=PROVIDER)
        order_id = str(created.order.id)
        invoice = invoice_body(
            plan,
            location_id=self.location_id,
            order_id=order_id,
            customer_id=customer,
            card_id=card,
            invoices_plus=bool(self.invoices_plus),
        )
        with translate_errors("create invoice"):
            draft = self._client.invoices.create(
                invoice=invoice,
                idempotency_key=idempotency_key(plan, "invoice"),
                request_options=self._options,
            )
        draft_invoice = draft.invoice
        if draft_invoice is None or draft_invoice.id is None:
            raise ProviderRequestError("square create invoice: expected an invoice in the answer", provider=PROVIDER)
        with translate_errors("publish invoice"):
            published = self._client.invoices.publish(
                invoice_id=draft_invoice.id,
                version=draft_invoice.version or 0,
                idempotency_key=idempotency_key(plan, "publish"),
                request_options=self._options,
            )
        final = published.invoice or draft_invoice
        ids = {"order": order_id, "invoice": draft_invoice.id, "location": self.location_id, "customer": customer}
        if card:
            ids["card"] = card
        return ProviderBinding(
            provider=PROVIDER,
            plan_id=plan.id,
            plan_version=plan.version,
            ids=ids,
            approval_url=getattr(final, "public_url", None),
            status=str(final.status) if final.status is not None else None,
        )

    def _get_invoice(self, invoice_id: str) -> dict[str, Any]:
        with translate_errors("get invoice"):
            got = self._client.invoices.get(invoice_id, request_options=self._options)
        return _as_dict(got.invoice)

    def update(self, binding: ProviderBinding, plan: PaymentPlan) -> ProviderBinding:
        """Change the published invoice to a new version of the plan.

        Reads the invoice (for its current ``version`` and payment request
        uids), then sends the new payment requests with that version, so a
        change Square saw in between makes Square refuse the update
        (``VERSION_MISMATCH``, a :class:`~payplan.ProviderRequestError`)
        instead of overwriting it.

        Raises:
            InvalidPlanError: *plan* is not the plan of *binding*.
            UnsupportedByProviderError: the new version changes the total, or
                a payment request Square has already collected on, or cannot
                be expressed on Square.
        """
        if plan.id != binding.plan_id:
            raise InvalidPlanError(f"expected a version of plan {binding.plan_id!r}, got plan {plan.id!r}")
        self.check(plan)
        invoice_id = binding.id("invoice")
        current = self._get_invoice(invoice_id)
        if plan_version_from_description(current.get("description")) == plan.version:
            # Already at this version (a repeated update, or a retry after a lost answer).
            status = current.get("status")
            return evolve(binding, plan_version=plan.version, status=str(status) if status else binding.status)
        invoice, clear = update_body(
            plan, current, card_id=binding.ids.get("card"), invoices_plus=bool(self.invoices_plus)
        )
        with translate_errors("update invoice"):
            if clear:
                updated = self._client.invoices.update(
                    invoice_id,
                    invoice=invoice,
                    idempotency_key=idempotency_key(plan, "update"),
                    fields_to_clear=clear,
                    request_options=self._options,
                )
            else:
                updated = self._client.invoices.update(
                    invoice_id,
                    invoice=invoice,
                    idempotency_key=idempotency_key(plan, "update"),
                    request_options=self._options,
                )
        status = updated.invoice.status if updated.invoice is not None else None
        return evolve(binding, plan_version=plan.version, status=str(status) if status else binding.status)

    def cancel(self, binding: ProviderBinding) -> None:
        """Cancel the invoice: Square collects nothing more on it.

        Square's CancelInvoice takes no idempotency key; the adapter reads
        the invoice first and cancels at its current version, so a repeated
        cancel of an invoice already ``CANCELED`` does nothing. A draft left
        by an interrupted :meth:`publish` is deleted instead.
        """
        invoice_id = binding.id("invoice")
        current = self._get_invoice(invoice_id)
        status = current.get("status")
        version = int(current.get("version") or 0)
        if status == "CANCELED":
            return
        if status == "DRAFT":
            with translate_errors("delete draft invoice"):
                self._client.invoices.delete(invoice_id, version=version, request_options=self._options)
            return
        with translate_errors("cancel invoice"):
            self._client.invoices.cancel(invoice_id, version=version, request_options=self._options)

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
        """Charge a fee now on the card on file (Payments API ``CreatePayment``), once, ever.

        The invoice's payment requests cannot take an amount that is not in
        the order, so a fee is its own payment on the binding's ``card``,
        with ``reference_id`` naming the fee. Before every attempt the
        adapter looks for a payment that already took this fee (a lost
        answer, a retry days later after Square forgot the idempotency key):
        one ``ListPayments`` of the location bounded by the fee's time (from
        the due date of the line a late fee is on, else from the booking)
        and by its exact amount, so it reads a handful of payments, not a
        year of the location's. A fee found paid is not charged again. A
        declined card is a DECLINED outcome with Square's error code. The
        outcome's reference is the payment id (what :meth:`refund` takes).

        Raises:
            ProviderRequestError: the binding has no card on file (publish
                with a ``ccof:`` payment method), or the amount is not positive.

        .. versionchanged:: 0.3.0
           The earlier charge is looked for on every attempt, within the fee's time and amount.
        """
        self._check_fee(binding, plan, amount)
        card = binding.ids.get("card")
        if not card:
            raise ProviderRequestError(
                "square charges a fee on a card on file: expected a binding published with a ccof: "
                "payment method, got none",
                provider=PROVIDER,
            )
        reference = _short(f"payplan:{plan.id}:fee:{fee_id}", _REFERENCE_MAX)

        def outcome(status: ChargeStatus, ref: str | None, code: str | None = None) -> ChargeOutcome:
            message = None if code is None else f"square declined the fee: {code}"
            return ChargeOutcome(status, plan.id, 0, amount, attempt, ref, code, message, fee_id)

        earlier = self._fee_payment(binding, plan, fee_id, amount, reference)
        if earlier is not None:
            return outcome(ChargeStatus.SUCCEEDED, earlier)
        key = _short(fee_key(plan.id, fee_id, amount, attempt=attempt), _REFUND_KEY_MAX)
        with translate_errors("create payment"):
            try:
                made = self._client.payments.create(
                    source_id=card, idempotency_key=key, amount_money=money(amount),
                    customer_id=binding.id("customer"), location_id=binding.id("location"),
                    reference_id=reference, note=(description or f"Fee {fee_id}")[:500], autocomplete=True,
                    request_options=self._options,
                )
            except ApiError as exc:
                if exc.status_code != 402:  # anything but a decline is translated as usual
                    raise
                return outcome(ChargeStatus.DECLINED, *_declined(exc.body))
        payment = _as_dict(made.payment)
        status = ChargeStatus.SUCCEEDED if payment.get("status") == "COMPLETED" else ChargeStatus.PENDING
        return outcome(status, str(payment.get("id") or "") or None)

    def _fee_payment(
        self, binding: ProviderBinding, plan: PaymentPlan, fee_id: str, amount: Money, reference: str
    ) -> str | None:
        """The id of a completed payment that already took this fee, searched within the fee's time and amount."""
        since = _fee_since(plan, fee_id)
        begin = dt.datetime.combine(since - dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        with translate_errors("list payments"):
            for payment in self._client.payments.list(
                location_id=binding.id("location"), begin_time=begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
                total=amount.minor, sort_order="ASC", request_options=self._options,
            ):
                found = _as_dict(payment)
                if found.get("reference_id") == reference and found.get("status") == "COMPLETED":
                    return str(found.get("id"))
        return None

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
        """Refund *amount* of the Square payment *charge_reference* (Refunds API).

        The idempotency key is *idempotency_key* (a refund instruction's) or
        :func:`~payplan.refund_key` of the plan, the payment, the amount and
        *sequence*, shortened to Square's 45 characters: a retry refunds
        once, a refund of another amount is another refund, and a second
        refund of the same amount on the same payment is ``sequence=2``.
        Square answers PENDING; its ``refund.updated`` event completes it.
        A goodwill refund (*lowers_price*) is marked at the start of the
        refund's ``reason`` (``[payplan:goodwill]``; Square refunds carry no
        metadata), which its ``refund.*`` notifications send back.

        .. versionchanged:: 0.3.0
           *lowers_price*.
        """
        if amount.minor <= 0:
            raise InvalidPlanError(f"expected a refund above zero, got {amount}")
        key = idempotency_key or refund_key(binding.plan_id, charge_reference, amount, sequence=sequence)
        text = refund_reason(reason, lowers_price=lowers_price)
        with translate_errors("refund payment"):
            if text:
                answer = self._client.refunds.refund_payment(
                    idempotency_key=_short(key, _REFUND_KEY_MAX),
                    amount_money=money(amount),
                    payment_id=charge_reference,
                    reason=text,
                    request_options=self._options,
                )
            else:
                answer = self._client.refunds.refund_payment(
                    idempotency_key=_short(key, _REFUND_KEY_MAX),
                    amount_money=money(amount),
                    payment_id=charge_reference,
                    request_options=self._options,
                )
        refund = _as_dict(answer.refund)
        status = _REFUND_STATUS.get(str(refund.get("status")), RefundStatus.PENDING)
        return RefundOutcome(
            status=status,
            amount=amount,
            charge_reference=charge_reference,
            reference=refund.get("id"),
            message=None if status is not RefundStatus.FAILED else f"square refund {refund.get('status')}",
            provider=PROVIDER,
            lowers_price=lowers_price,
        )

    # -- webhooks and reconciliation -----------------------------------------

    def _plan_of_order(self, order_id: str) -> str | None:
        with translate_errors("get order"):
            got = self._client.orders.get(order_id, request_options=self._options)
        order = _as_dict(got.order)
        metadata = order.get("metadata") or {}
        found = metadata.get("payplan_plan_id") if isinstance(metadata, Mapping) else None
        return str(found) if found else None

    def _order_tenders(self, order_id: str) -> list[tuple[dt.datetime, int, str | None]]:
        """The payments on an order: (when, amount in minor units, payment id), from its tenders."""
        with translate_errors("get order"):
            got = self._client.orders.get(order_id, request_options=self._options)
        out: list[tuple[dt.datetime, int, str | None]] = []
        for tender in _as_dict(got.order).get("tenders") or []:
            if not isinstance(tender, Mapping):
                continue
            money_ = tender.get("amount_money")
            amount = money_.get("amount") if isinstance(money_, Mapping) else None
            created = tender.get("created_at")
            if type(amount) is not int or amount <= 0 or not isinstance(created, str):
                continue
            try:
                when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
            except ValueError:
                continue
            payment = tender.get("payment_id")
            out.append((when if when.tzinfo else when.replace(tzinfo=dt.UTC), amount,
                        payment if isinstance(payment, str) and payment else None))
        return out

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        """Verify a Square notification and normalize it into payplan events.

        A refund notification names only the order, so the adapter reads
        the order (one GetOrder call) to find the plan.

        Raises:
            ProviderAuthError: no signature key or notification URL was
                configured, the header is missing, or the signature is wrong.
            ProviderRequestError: the body is not a Square event.
        """
        if not self._signature_key or not self._notification_url:
            raise ProviderAuthError(
                "expected SquareProvider(signature_key=..., notification_url=...) to verify webhooks, "
                "got none",
                provider=PROVIDER,
            )
        payload = verify(
            headers, body, signature_key=self._signature_key, notification_url=self._notification_url
        )
        events = normalize(payload, resolve_order=self._plan_of_order, order_tenders=self._order_tenders)
        if any(e.kind is EventKind.PAYMENT_SUCCEEDED and e.reference is None for e in events):
            events = self._with_payment_ids(events, payload)
        return events

    def _with_payment_ids(
        self, events: tuple[ProviderEvent, ...], payload: Mapping[str, Any]
    ) -> tuple[ProviderEvent, ...]:
        """Give each invoice payment event the Square payment id, so it can be refunded.

        An invoice notification names no payment; Square links an invoice's
        payments to its order as tenders. The n-th fully paid request (in
        installment order) is the n-th tender (in time order) when their
        amounts agree; otherwise the event keeps no reference (a refund
        instruction then needs ``charge_reference=``).
        """
        data = payload.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        invoice = obj.get("invoice") if isinstance(obj, Mapping) else None
        if not isinstance(invoice, Mapping) or not isinstance(invoice.get("order_id"), str):
            return events
        order_id = str(invoice["order_id"])
        with translate_errors("get order"):
            got = self._client.orders.get(order_id, request_options=self._options)
        tenders = sorted(
            (t for t in _as_dict(got.order).get("tenders") or [] if isinstance(t, Mapping) and t.get("payment_id")),
            key=lambda t: str(t.get("created_at") or ""),
        )
        requests = [r for r in invoice.get("payment_requests") or [] if isinstance(r, Mapping)]
        paid_numbers = [
            n for n, r in enumerate(sorted(requests, key=_request_order), 1)
            if _completed(r) and _completed(r) >= _computed(r)
        ]
        by_number = dict(zip(paid_numbers, tenders, strict=False))
        out = []
        for e in events:
            tender = by_number.get(e.installment or 0)
            amount = (tender or {}).get("amount_money") or {}
            if (
                e.kind is EventKind.PAYMENT_SUCCEEDED and e.reference is None and tender is not None
                and e.amount is not None and amount.get("amount") == e.amount.minor
            ):
                e = evolve(e, reference=str(tender["payment_id"]))
            out.append(e)
        return tuple(out)

    def reconcile(self, binding: ProviderBinding, known: Iterable[str] = ()) -> tuple[ProviderEvent, ...]:
        """Read the invoice and return the payment and cancellation events not in *known*.

        The events have the same ids as the ones webhooks produce, so
        reconciling after a missed webhook adds each payment once.
        """
        seen = set(known)
        state = invoice_state(self._get_invoice(binding.id("invoice")), self._order_tenders)
        return tuple(e for e in state if e.id not in seen)
