"""Pure mapping from payplan plans to Stripe request bodies, and Stripe units.

Nothing here calls Stripe. Every body is one of the SDK's ``stripe.params``
TypedDicts, so ``mypy --strict`` checks each key and nested key against the
SDK's own description of the API.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo

from stripe.params import (
    InvoiceCreateParams,
    InvoiceItemCreateParams,
    ProductCreateParams,
    RefundCreateParams,
    SubscriptionScheduleCreateParams,
    SubscriptionScheduleCreateParamsPhase,
    SubscriptionScheduleCreateParamsPhaseItem,
)

from ..._calendar import Cadence, add_months
from ..._money import Currency, Money, _money, to_currency
from ..._plan import PaymentPlan
from ..._schedule import Installment, InstallmentKind
from ...exceptions import UnsupportedByProviderError

NAME = "stripe"

#: Currencies Stripe counts in whole units although ISO 4217 may give them
#: decimals (Stripe's "zero-decimal currencies" list).
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
#: Currencies Stripe counts in thousandths, where the last digit must be 0.
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
#: Currencies Stripe's API counts in hundredths although ISO gives them no decimals.
TWO_DECIMAL_OVERRIDES = frozenset({"ISK"})

META_PLAN = "payplan_plan_id"
META_VERSION = "payplan_plan_version"
META_INSTALLMENT = "payplan_installment"
#: Refund metadata saying payplan asked for a goodwill refund (the price drops; ``"true"``).
META_LOWERS_PRICE = "payplan_lowers_price"


class StripeMode(enum.Enum):
    """How a plan is put onto Stripe.

    .. versionadded:: 0.1.0
    """

    AUTO = "auto"
    """A subscription schedule when the plan fits one, else invoices."""
    INVOICES = "invoices"
    """One scheduled invoice per installment: any amounts, any dates."""
    SUBSCRIPTION_SCHEDULE = "subscription_schedule"
    """One subscription schedule: equal installments on a regular cadence only."""


def stripe_exponent(currency: Currency) -> int:
    """The number of decimals Stripe's API uses for *currency*."""
    if currency.code in ZERO_DECIMAL:
        return 0
    if currency.code in TWO_DECIMAL_OVERRIDES:
        return 2
    return currency.exponent


def to_stripe_amount(money: Money) -> int:
    """*money* in Stripe's integer units for its currency.

    ISK is two-decimal in Stripe's API although ISO 4217 gives it none, so
    ISK 5000 is sent as 500000. An amount Stripe cannot express exactly
    (MGA with cents, a three-decimal amount not ending in 0) is refused.

    Raises:
        UnsupportedByProviderError: the amount would need rounding.
    """
    cur = money.currency
    shift = stripe_exponent(cur) - cur.exponent
    factor: int = 10 ** abs(shift)
    if shift >= 0:
        units = money.minor * factor
    else:
        units, left = divmod(money.minor, factor)
        if left:
            raise UnsupportedByProviderError(
                f"stripe counts {cur.code} in whole units, {money} has a fraction it would have to round",
                provider=NAME,
            )
    if cur.code in THREE_DECIMAL and units % 10:
        raise UnsupportedByProviderError(
            f"stripe needs {cur.code} amounts whose last digit is 0, got {money}", provider=NAME
        )
    return units


def from_stripe_amount(units: int, currency: str | Currency) -> Money:
    """Stripe's integer *units* of *currency* back as :class:`~payplan.Money`.

    Raises:
        UnsupportedByProviderError: the units do not map onto ISO minor units exactly.
    """
    cur = to_currency(currency.upper() if isinstance(currency, str) else currency)
    shift = stripe_exponent(cur) - cur.exponent
    factor: int = 10 ** abs(shift)
    if shift <= 0:
        return _money(units * factor, cur)
    minor, left = divmod(units, factor)
    if left:
        raise UnsupportedByProviderError(
            f"stripe sent {units} {cur.code} units, which is not a whole number of ISO minor units",
            provider=NAME,
        )
    return _money(minor, cur)


#: How far ahead Stripe lets an invoice finalize automatically
#: (``automatically_finalizes_at``: "up to 5 years in the future").
MAX_FINALIZE_YEARS = 5


def finalize_refusal(plan: PaymentPlan, now: int) -> str | None:
    """Why an installment of *plan* cannot be scheduled on Stripe at Unix time *now*, or None.

    Stripe refuses an ``automatically_finalizes_at`` more than five years
    ahead; the check runs before anything is created, so a publish never
    stops halfway.
    """
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    limit = dt.datetime.combine(add_months(today, 12 * MAX_FINALIZE_YEARS), dt.time(0), tzinfo=dt.UTC)
    late = [i for i in plan.installments if due_timestamp(plan, i.due) > limit.timestamp()]
    if not late:
        return None
    return (
        f"stripe finalizes an invoice at most {MAX_FINALIZE_YEARS} years ahead (until {limit.date().isoformat()}), "
        f"plan {plan.id} has installment {late[0].number} due {late[0].due.isoformat()}"
    )


def due_timestamp(plan: PaymentPlan, due: dt.date) -> int:
    """The Unix time of the start of *due* in the plan's time zone."""
    start = dt.datetime.combine(due, dt.time(0), tzinfo=zoneinfo.ZoneInfo(plan.timezone))
    return int(start.timestamp())


def metadata(plan: PaymentPlan, installment: int | None = None) -> dict[str, str]:
    """The payplan ids Stripe objects carry in their ``metadata``."""
    meta = {META_PLAN: plan.id, META_VERSION: str(plan.version)}
    if installment is not None:
        meta[META_INSTALLMENT] = str(installment)
    return meta


def description(plan: PaymentPlan, inst: Installment) -> str:
    """A line description the client sees on the invoice."""
    what = "Deposit" if inst.kind is InstallmentKind.DEPOSIT else f"Installment {inst.number} of {len(plan.installments)}"
    return f"{what}: {inst.label or plan.tier or plan.id}"


# -- invoices mode ---------------------------------------------------------------


def invoice_params(
    plan: PaymentPlan, inst: Installment, *, customer: str, payment_method: str | None, now: int
) -> InvoiceCreateParams:
    """The draft invoice that charges *inst* automatically on its due date.

    An installment due in the future gets ``automatically_finalizes_at``
    (Stripe finalizes and charges it then); one already due is left to
    ``auto_advance``, which finalizes a draft about an hour after creation.
    """
    params: InvoiceCreateParams = {
        "customer": customer,
        "collection_method": "charge_automatically",
        "auto_advance": True,
        "currency": plan.currency.lower(),
        "pending_invoice_items_behavior": "exclude",
        "description": description(plan, inst),
        "metadata": metadata(plan, inst.number),
    }
    when = due_timestamp(plan, inst.due)
    if when > now:
        params["automatically_finalizes_at"] = when
    if payment_method:
        params["default_payment_method"] = payment_method
    return params


def invoice_item_params(plan: PaymentPlan, inst: Installment, *, customer: str, invoice: str) -> InvoiceItemCreateParams:
    """The one line of the installment's invoice, for exactly its amount."""
    return {
        "customer": customer,
        "invoice": invoice,
        "amount": to_stripe_amount(inst.amount),
        "currency": plan.currency.lower(),
        "description": description(plan, inst),
        "metadata": metadata(plan, inst.number),
    }


def refund_params(
    payment: str,
    amount: Money,
    plan_id: str,
    installment: int | None,
    reason: str | None,
    *,
    lowers_price: bool = False,
    by: str = "payment_intent",
) -> RefundCreateParams:
    """A refund of *amount* of one installment's *payment*: a PaymentIntent, or a charge when *by* is ``"charge"``.

    The plan version is left out, as it is from the refund's key: a refund
    retried after an amendment sends the same parameters under the same key.
    A goodwill refund (*lowers_price*) says so in its metadata
    (``payplan_lowers_price="true"``), which every refund event carries back.
    """
    meta = {META_PLAN: plan_id}
    if installment is not None:
        meta[META_INSTALLMENT] = str(installment)
    if reason:
        meta["payplan_reason"] = reason[:500]
    if lowers_price:
        meta[META_LOWERS_PRICE] = "true"
    if by == "charge":
        return {"charge": payment, "amount": to_stripe_amount(amount), "metadata": meta}
    return {"payment_intent": payment, "amount": to_stripe_amount(amount), "metadata": meta}


# -- subscription schedule mode ------------------------------------------------------

_STRIPE_INTERVALS: dict[Cadence, tuple[str, int]] = {
    Cadence.WEEKLY: ("week", 1),
    Cadence.BIWEEKLY: ("week", 2),
    Cadence.MONTHLY: ("month", 1),
    Cadence.BIMONTHLY: ("month", 2),
}


def regular_cadence(plan: PaymentPlan) -> Cadence | None:
    """The cadence the installments after the deposit follow exactly, if any.

    With a single installment after the deposit any cadence fits; monthly is
    returned.
    """
    rest = [i for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
    if not rest:
        return None
    dates = tuple(i.due for i in rest)
    for cadence in (Cadence.MONTHLY, Cadence.WEEKLY, Cadence.BIWEEKLY, Cadence.BIMONTHLY, Cadence.SEMIMONTHLY):
        if cadence.dates(dates[0], len(dates)) == dates:
            return cadence
    return None


def schedule_refusal(plan: PaymentPlan) -> str | None:
    """Why *plan* cannot be one subscription schedule, or None when it can."""
    rest = [i for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
    if not rest:
        return f"plan {plan.id} has no installments after the deposit to subscribe to"
    amounts = {i.amount.minor for i in rest}
    if len(amounts) > 1:
        return (
            f"a subscription schedule charges one price every period, plan {plan.id} has installments of "
            + ", ".join(str(i.amount) for i in rest)
        )
    cadence = regular_cadence(plan)
    if cadence is None or cadence not in _STRIPE_INTERVALS:
        return (
            f"a subscription schedule bills every week, two weeks, month or two months, plan {plan.id} is due "
            + ", ".join(i.due.isoformat() for i in rest)
        )
    return None


def product_params(plan: PaymentPlan) -> ProductCreateParams:
    """The product the schedule's prices belong to."""
    return {"name": plan.tier or f"Payment plan {plan.id}", "metadata": metadata(plan)}


def schedule_params(
    plan: PaymentPlan, *, customer: str, payment_method: str | None, product: str, now: int
) -> SubscriptionScheduleCreateParams:
    """One subscription schedule for a deposit plus equal installments on a cadence.

    The schedule starts on the first installment's due date and bills the
    installment price each period for ``duration`` periods;
    ``end_behavior="cancel"`` stops it after the last. The deposit is not
    part of it: it is its own invoice (:func:`invoice_params`), because
    Stripe documents that a trialing subscription's first invoice is for
    $0 and nowhere that ``add_invoice_items`` on a ``trial`` phase are
    charged, so a deposit riding on a trial phase could go uncollected.

    Raises:
        UnsupportedByProviderError: the plan is not equal installments on a
            cadence Stripe bills, or it would start in the past.
    """
    why = schedule_refusal(plan)
    if why is not None:
        raise UnsupportedByProviderError(why, provider=NAME)
    cadence = regular_cadence(plan)
    assert cadence is not None
    interval, per = _STRIPE_INTERVALS[cadence]
    rest = [i for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
    currency = plan.currency.lower()
    meta = metadata(plan)
    item: SubscriptionScheduleCreateParamsPhaseItem = {
        "price_data": {
            "currency": currency,
            "product": product,
            "recurring": {"interval": "week" if interval == "week" else "month", "interval_count": per},
            "unit_amount": to_stripe_amount(rest[0].amount),
        },
        "quantity": 1,
        "metadata": meta,
    }
    phases: list[SubscriptionScheduleCreateParamsPhase] = [
        {
            "items": [item],
            "duration": {"interval": interval, "interval_count": per * len(rest)},
            "billing_cycle_anchor": "phase_start",
            "proration_behavior": "none",
            "metadata": meta,
        }
    ]
    start_day = rest[0].due
    start = due_timestamp(plan, start_day)
    if start < now - 86_400:
        raise UnsupportedByProviderError(
            f"a subscription schedule cannot start in the past, plan {plan.id} starts {start_day.isoformat()}",
            provider=NAME,
        )
    params: SubscriptionScheduleCreateParams = {
        "customer": customer,
        "start_date": start if start > now else "now",
        "end_behavior": "cancel",
        "phases": phases,
        "metadata": meta,
    }
    if payment_method:
        params["default_settings"] = {
            "default_payment_method": payment_method,
            "collection_method": "charge_automatically",
        }
    return params


def choose_mode(plan: PaymentPlan, mode: StripeMode) -> StripeMode:
    """The mode *plan* is published in: *mode*, or for AUTO whichever fits."""
    if mode is StripeMode.AUTO:
        return StripeMode.SUBSCRIPTION_SCHEDULE if schedule_refusal(plan) is None else StripeMode.INVOICES
    return mode
