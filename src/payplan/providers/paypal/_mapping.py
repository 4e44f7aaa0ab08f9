"""Plan -> PayPal Subscriptions request bodies: one pure function shared by both bindings.

The mapping (PROVIDERS.md 3.4, checked against ``billing_subscriptions_v1.json``):

* the deposit is the billing plan's ``payment_preferences.setup_fee``,
  charged when the buyer approves the subscription;
* the installments after it become at most three runs of equal amounts:
  up to two ``TRIAL`` cycles (priced) and one ``REGULAR`` cycle, all on one
  ``frequency``, starting at the first installment's due date
  (``start_time``, noon in the plan's time zone);
* anything PayPal cannot express exactly (irregular dates, more than three
  runs of amounts, decimals PayPal refuses, month-end anchors, a currency
  PayPal does not take) is refused with
  :class:`~payplan.UnsupportedByProviderError` saying why. Nothing is rounded.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from attrs import field, frozen

from ..._calendar import add_months
from ..._money import Currency, Money, _money, to_currency
from ..._plan import PaymentPlan
from ..._schedule import Installment, InstallmentKind
from ...exceptions import InvalidMoneyError, UnsupportedByProviderError

__all__ = [
    "PAYPAL_CURRENCIES",
    "PayPalOptions",
    "PayPalRequests",
    "from_paypal_amount",
    "map_plan",
    "plan_id_from_custom_id",
    "to_paypal_amount",
]

NAME: Final = "paypal"

#: Currencies the PayPal REST API takes, with the decimals PayPal wants.
#: HUF, JPY and TWD "do not support decimals" (PayPal currency codes page).
PAYPAL_CURRENCIES: Final[Mapping[str, int]] = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "ILS", "MYR", "MXN",
                "NZD", "NOK", "PHP", "PLN", "GBP", "RUB", "SGD", "SEK", "CHF", "THB", "USD",
            ),
            2,
        ),
        "HUF": 0,
        "JPY": 0,
        "TWD": 0,
    }
)

_MAX_CYCLES: Final = 999
_CUSTOM_ID_PREFIX: Final = "payplan:"
_CHARGE_TIME: Final = dt.time(12, 0)


def _refuse(message: str) -> UnsupportedByProviderError:
    return UnsupportedByProviderError(message, provider=NAME)


def _paypal_decimals(currency: Currency) -> int:
    decimals = PAYPAL_CURRENCIES.get(currency.code)
    if decimals is None:
        raise _refuse(
            f"expected a currency PayPal takes ({', '.join(sorted(PAYPAL_CURRENCIES))}), got {currency.code}"
        )
    return decimals


def to_paypal_amount(amount: Money) -> dict[str, str]:
    """PayPal's money object for *amount*: ``{"currency_code": "USD", "value": "500.00"}``.

    The value has exactly the decimals PayPal wants for the currency (none
    for JPY, HUF and TWD, whose ISO 4217 exponent for HUF and TWD is 2).

    Raises:
        UnsupportedByProviderError: PayPal does not take the currency, or
            the amount has minor units PayPal cannot express (``"333.33 HUF"``).

    .. versionadded:: 0.1.0
    """
    cur = amount.currency
    decimals = _paypal_decimals(cur)
    drop = cur.exponent - decimals
    minor = amount.minor
    if drop > 0:
        whole, rest = divmod(abs(minor), 10**drop)
        if rest:
            raise _refuse(
                f"PayPal takes {cur.code} in whole units (no decimals), got {amount}; "
                "use amounts in whole units"
            )
        minor = whole if minor >= 0 else -whole
    text = str(_money(minor, Currency(cur.code, decimals)).to_decimal_string())
    return {"currency_code": cur.code, "value": text}


def from_paypal_amount(value: object, currency: object) -> Money:
    """The :class:`~payplan.Money` for a PayPal ``value`` string in *currency*.

    Raises:
        UnsupportedByProviderError: the currency is not a PayPal currency.
        InvalidMoneyError: *value* is not a decimal string, or has more
            decimals than the currency.

    .. versionadded:: 0.1.0
    """
    if not isinstance(value, str) or not isinstance(currency, str):
        raise InvalidMoneyError(
            f"expected a PayPal amount as value and currency strings, got {value!r} {currency!r}"
        )
    cur = to_currency(currency)
    _paypal_decimals(cur)
    return Money.of(value, cur)


def _check_url(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or not 10 <= len(value) <= 4000:
        raise UnsupportedByProviderError(
            f"expected {name} as an http(s) URL of 10 to 4000 characters, got {value!r}", provider=NAME
        )


def _check_threshold(_: object, __: object, value: int) -> None:
    if type(value) is not int or not 0 <= value <= _MAX_CYCLES:
        raise UnsupportedByProviderError(
            f"expected payment_failure_threshold from 0 to 999, got {value!r}", provider=NAME
        )


def _check_failure_action(_: object, __: object, value: str) -> None:
    if value not in ("CANCEL", "CONTINUE"):
        raise UnsupportedByProviderError(
            f"expected setup_fee_failure_action 'CANCEL' or 'CONTINUE', got {value!r}", provider=NAME
        )


@frozen
class PayPalOptions:
    """How plans are put onto PayPal: where the buyer returns, how failures are handled.

    Attributes:
        return_url: Where PayPal sends the buyer after approving.
        cancel_url: Where PayPal sends the buyer after cancelling.
        brand_name: The business name shown on PayPal's approval page.
        payment_failure_threshold: Failed payments in a row before PayPal
            suspends the subscription (0 to 999; 0 never suspends).
        auto_bill_outstanding: Whether PayPal adds a failed amount to the
            next cycle's charge.
        setup_fee_failure_action: ``"CANCEL"`` (default: a failed deposit
            cancels the subscription) or ``"CONTINUE"``.
        product_type: The catalog product type (``"SERVICE"``).

    .. versionadded:: 0.1.0
    """

    return_url: str
    cancel_url: str
    brand_name: str | None = None
    payment_failure_threshold: int = field(default=1, validator=_check_threshold)
    auto_bill_outstanding: bool = True
    setup_fee_failure_action: str = field(default="CANCEL", validator=_check_failure_action)
    product_type: str = "SERVICE"

    def __attrs_post_init__(self) -> None:
        _check_url("return_url", self.return_url)
        _check_url("cancel_url", self.cancel_url)


def _frozen_dict(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@frozen
class PayPalRequests:
    """The request bodies that put one plan onto PayPal, as plain JSON-ready data.

    Attributes:
        product: The body of ``POST /v1/catalogs/products``.
        plan_template: The body of ``POST /v1/billing/plans`` without its
            ``product_id`` (see :meth:`billing_plan`).
        subscription_template: The body of ``POST /v1/billing/subscriptions``
            without its ``plan_id`` (see :meth:`subscription`).
        first_charge: The date of the first billing cycle charge.
        last_charge: The date PayPal charges the last installment; on or
            before the plan's cutoff.
        custom_id: The ``custom_id`` that ties PayPal's events back to the plan.

    .. versionadded:: 0.1.0
    """

    product: Mapping[str, Any] = field(converter=_frozen_dict)
    plan_template: Mapping[str, Any] = field(converter=_frozen_dict)
    subscription_template: Mapping[str, Any] = field(converter=_frozen_dict)
    first_charge: dt.date
    last_charge: dt.date
    custom_id: str

    def product_body(self) -> dict[str, Any]:
        """The catalog product body, as a plain dict."""
        return dict(_thaw(self.product))

    def billing_plan(self, product_id: str) -> dict[str, Any]:
        """The billing plan body for the product PayPal created with id *product_id*."""
        return {"product_id": product_id, **_thaw(self.plan_template)}

    def subscription(self, plan_id: str) -> dict[str, Any]:
        """The subscription body for the billing plan PayPal created with id *plan_id*."""
        return {"plan_id": plan_id, **_thaw(self.subscription_template)}


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def custom_id_for(plan: PaymentPlan) -> str:
    """The subscription ``custom_id`` for *plan*: ``payplan:<plan id>:v<version>:i<n>``.

    ``n`` is the number of the installment the first billing cycle charges
    (2 after a deposit, else 1), so a failed-payment event can name the
    installment from PayPal's ``cycle_executions``.
    """
    first = 2 if plan.deposit is not None and len(plan.installments) > 1 else 1
    custom = f"{_CUSTOM_ID_PREFIX}{plan.id}:v{plan.version}:i{first}"
    if len(custom) > 127 or not custom.isascii() or not custom.isprintable():
        raise _refuse(
            "expected a plan id of printable ASCII that fits PayPal's 127-character custom_id "
            f"(with the 'payplan:' prefix and version), got {plan.id!r}"
        )
    return custom


def parse_custom_id(custom_id: object) -> tuple[str, int] | None:
    """(plan id, number of the first cycle's installment) from a payplan ``custom_id``, else None."""
    if not isinstance(custom_id, str) or not custom_id.startswith(_CUSTOM_ID_PREFIX):
        return None
    body = custom_id[len(_CUSTOM_ID_PREFIX) :]
    first = 1
    head, sep, number = body.rpartition(":i")
    if sep and head and number.isdigit():
        body, first = head, int(number)
    head, sep, version = body.rpartition(":v")
    if sep and head and version.isdigit():
        body = head
    return (body, first) if body else None


_REFUND_PREFIX: Final = "payplan-refund:"
_GOODWILL: Final = ":goodwill"
_REVERSAL: Final = ":reversal"


def refund_custom_id(plan_id: str, *, lowers_price: bool) -> str | None:
    """The ``custom_id`` of a refund payplan asks PayPal for: the plan, and whether it lowers the price.

    ``payplan-refund:<plan id>:goodwill`` (a goodwill refund) or
    ``:reversal``; None when it does not fit PayPal's 127 characters.
    """
    custom = f"{_REFUND_PREFIX}{plan_id}{_GOODWILL if lowers_price else _REVERSAL}"
    return custom if len(custom) <= 127 and custom.isascii() and custom.isprintable() else None


def parse_refund_custom_id(custom_id: object) -> tuple[str, bool] | None:
    """(plan id, lowers the price) from a refund's payplan ``custom_id``, else None (a dashboard refund)."""
    if not isinstance(custom_id, str) or not custom_id.startswith(_REFUND_PREFIX):
        return None
    body = custom_id[len(_REFUND_PREFIX) :]
    for suffix, lowers in ((_GOODWILL, True), (_REVERSAL, False)):
        if body.endswith(suffix) and len(body) > len(suffix):
            return body[: -len(suffix)], lowers
    return None


def plan_id_from_custom_id(custom_id: object) -> str | None:
    """The payplan plan id inside a PayPal ``custom_id``, or None if it is not one of ours.

    .. versionadded:: 0.1.0
    """
    parsed = parse_custom_id(custom_id)
    return parsed[0] if parsed else None


def _frequency(dates: Sequence[dt.date]) -> tuple[str, int]:
    """The one PayPal frequency on which *dates* fall, counted from the first."""
    first = dates[0]
    if len(dates) == 1:
        return "MONTH", 1
    listed = ", ".join(d.isoformat() for d in dates)
    steps = {(b.year - a.year) * 12 + b.month - a.month for a, b in itertools.pairwise(dates)}
    months = min(steps)
    monthly = len(steps) == 1 and 1 <= months <= 12
    if monthly and all(d.day <= 28 and d == add_months(first, months * i) for i, d in enumerate(dates)):
        return "MONTH", months
    gap = (dates[1] - first).days
    if gap >= 1 and all((b - a).days == gap for a, b in itertools.pairwise(dates)):
        if gap % 7 == 0 and gap // 7 <= 52:
            return "WEEK", gap // 7
        if gap <= 365:
            return "DAY", gap
    if monthly and any(d.day > 28 for d in dates):
        raise _refuse(
            "PayPal bills monthly from the start date but does not document how it anchors "
            f"days 29 to 31, and the installments are due {listed}; "
            "start the installments on the 28th or earlier"
        )
    raise _refuse(
        "PayPal bills on one fixed frequency (every n days, weeks or months) and cannot charge "
        f"on arbitrary dates; the installments are due {listed}"
    )


def _runs(lines: Sequence[Installment]) -> list[tuple[Money, int]]:
    runs: list[tuple[Money, int]] = []
    for line in lines:
        if runs and runs[-1][0] == line.amount:
            runs[-1] = (line.amount, runs[-1][1] + 1)
        else:
            runs.append((line.amount, 1))
    return runs


def _start_time(day: dt.date, timezone: str) -> str:
    local = dt.datetime.combine(day, _CHARGE_TIME, tzinfo=zoneinfo.ZoneInfo(timezone))
    return local.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def map_plan(plan: PaymentPlan, options: PayPalOptions, *, email: str | None = None) -> PayPalRequests:
    """Map *plan* onto PayPal's Subscriptions API, exactly, or refuse it.

    The deposit becomes the ``setup_fee`` (charged when the buyer
    approves); the installments become up to two priced ``TRIAL`` cycles
    and one ``REGULAR`` cycle, one per run of equal amounts in the order
    the plan's remainder policy put them, on the single frequency their
    dates follow, starting on the first installment's due date.

    Raises:
        UnsupportedByProviderError: the plan cannot be expressed on PayPal;
            the message says why (a currency or decimals PayPal refuses,
            dates off a fixed frequency, more than three runs of amounts,
            a deposit not due at booking, a last charge after the cutoff).

    .. versionadded:: 0.1.0
    """
    opts = options
    _paypal_decimals(plan.fee.currency)
    custom_id = custom_id_for(plan)
    deposit = plan.deposit
    lines = [i for i in plan.installments if i.kind is not InstallmentKind.DEPOSIT]
    if deposit is not None and deposit.due != plan.booked:
        raise _refuse(
            f"PayPal charges the deposit (setup fee) when the buyer approves, at booking "
            f"({plan.booked.isoformat()}); plan {plan.id} has it due {deposit.due.isoformat()}"
        )
    if not lines and deposit is not None:
        # Only a deposit (it is the whole fee): one billing cycle at booking.
        lines, deposit = [deposit], None
    cycles: list[dict[str, Any]] = []
    unit, count = _frequency([i.due for i in lines])
    runs = _runs(lines)
    if len(runs) > 3:
        amounts = ", ".join(str(i.amount) for i in lines)
        raise _refuse(
            "PayPal takes at most 2 TRIAL cycles and 1 REGULAR cycle, so at most 3 runs of "
            f"equal installments; plan {plan.id} has {len(runs)} runs ({amounts})"
        )
    for sequence, (amount, times) in enumerate(runs, 1):
        if times > _MAX_CYCLES:
            raise _refuse(f"PayPal runs a billing cycle at most 999 times, plan {plan.id} needs {times}")
        cycles.append(
            {
                "frequency": {"interval_unit": unit, "interval_count": count},
                "tenure_type": "REGULAR" if sequence == len(runs) else "TRIAL",
                "sequence": sequence,
                "total_cycles": times,
                "pricing_scheme": {"fixed_price": to_paypal_amount(amount)},
            }
        )
    first_charge = lines[0].due
    last_charge = _nth(first_charge, unit, count, len(lines) - 1)
    if last_charge != lines[-1].due:  # pragma: no cover - _frequency checked every date
        raise _refuse(f"PayPal would charge the last installment on {last_charge.isoformat()}")
    if last_charge > plan.cutoff:
        raise _refuse(
            f"PayPal would charge the last installment on {last_charge.isoformat()}, after the "
            f"cutoff {plan.cutoff.isoformat()}"
        )
    preferences: dict[str, Any] = {
        "auto_bill_outstanding": opts.auto_bill_outstanding,
        "setup_fee_failure_action": opts.setup_fee_failure_action,
        "payment_failure_threshold": opts.payment_failure_threshold,
    }
    if deposit is not None:
        preferences["setup_fee"] = to_paypal_amount(deposit.amount)
    title = plan.tier or "Session booking"
    product = {
        "name": title[:127],
        "type": opts.product_type,
        "description": f"payplan plan {plan.id}"[:256],
    }
    billing_plan = {
        "name": f"{title} - plan {plan.id} v{plan.version}"[:127],
        "status": "ACTIVE",
        "description": f"{'deposit + ' if deposit is not None else ''}{len(lines)} payment(s), "
        f"{plan.total} in total"[:127],
        "billing_cycles": cycles,
        "payment_preferences": preferences,
        "quantity_supported": False,
    }
    context: dict[str, Any] = {
        "shipping_preference": "NO_SHIPPING",
        "user_action": "SUBSCRIBE_NOW",
        "return_url": opts.return_url,
        "cancel_url": opts.cancel_url,
    }
    if opts.brand_name:
        context["brand_name"] = opts.brand_name[:127]
    subscription: dict[str, Any] = {
        "start_time": _start_time(first_charge, plan.timezone),
        "custom_id": custom_id,
        "application_context": context,
    }
    if email:
        subscription["subscriber"] = {"email_address": email}
    return PayPalRequests(product, billing_plan, subscription, first_charge, last_charge, custom_id)


def _nth(first: dt.date, unit: str, count: int, n: int) -> dt.date:
    if unit == "MONTH":
        return add_months(first, count * n)
    days = 7 if unit == "WEEK" else 1
    return first + dt.timedelta(days=days * count * n)
