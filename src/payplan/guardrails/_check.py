"""Checking a plan, a tier or a proposal against the rules of where it is sold.

Each rule id has one check here: a pure function of the plan, the sale, the
signing record (when there is one) and the rule's own data (thresholds,
outcomes). The numbers a check compares with come from the rules file, never
from this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta

from .._money import Money, _money, percent_of
from .._plan import PaymentPlan
from .._policies import IncentiveKind
from .._schedule import InstallmentKind
from ..exceptions import GuardrailError, InvalidPlanError
from ._model import Finding, Rule, RuleSet, Sale, Severity
from ._rules import rules as shipped_rules
from ._signing import Sca, Signing

if TYPE_CHECKING:
    from .._catalog import Tier

__all__ = [
    "GuardrailError", "check", "check_tier", "raise_for_refusals", "refusals", "withdrawal_ends", "withdrawal_period",
]


def refusals(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """The findings that refuse.

    .. versionadded:: 0.2.0
    """
    return tuple(f for f in findings if f.severity is Severity.REFUSE)


def raise_for_refusals(findings: Iterable[Finding], what: str, sale: Sale) -> None:
    """Raise :class:`~payplan.GuardrailError` if a finding refuses; *what* names the plan or tier.

    .. versionadded:: 0.2.0
    """
    refused = refusals(findings)
    if refused:
        words = " / ".join(f"{f.ref} refuses: {f.message}. Instead: {f.remedy} ({f.source})" for f in refused)
        raise GuardrailError(f"{what}, sold in {sale.where}: {words}", refused)


class _Ctx:
    """One check's view: the rule, the plan, the sale, and the findings it adds."""

    def __init__(self, rule: Rule, plan: PaymentPlan, sale: Sale, signing: Signing | None, tier: bool) -> None:
        self.rule = rule
        self.plan = plan
        self.sale = sale
        self.signing = signing
        self.tier = tier  # checking a tier's representative plan: skip what depends on the booking's dates
        self.found: list[Finding] = []

    def t(self, name: str) -> Any:
        return self.rule.thresholds[name]

    def add(self, key: str, value: object, threshold: object) -> None:
        outcome = self.rule.outcomes[key]
        v, th = str(value), str(threshold)
        self.found.append(
            Finding(
                self.rule.id, self.rule.version, key, self.rule.jurisdiction, outcome.severity, outcome.basis,
                outcome.says.format(value=v, threshold=th), v, th, outcome.remedy, self.rule.source,
                None if outcome.notice is None else outcome.notice.format(value=v, threshold=th),
            )
        )

    # -- facts of the plan -------------------------------------------------------------------

    @property
    def after_deposit(self) -> tuple[Any, ...]:
        return tuple(i for i in self.plan.installments if i.kind is not InstallmentKind.DEPOSIT)

    @property
    def charge(self) -> Money:
        """The charge for paying over time payplan knows of: the finance charge."""
        fc = self.plan.finance_charge
        return fc if fc is not None else Money.zero(self.plan.fee.currency)

    @property
    def pay_in_full_discount(self) -> Money:
        plan = self.plan
        total = 0
        for inc in plan.terms.incentives:
            if inc.kind is IncentiveKind.PAY_IN_FULL:
                if inc.amount is not None:
                    total += inc.amount.minor
                elif inc.percent is not None:
                    total += percent_of(plan.fee, inc.percent, rounding=ROUND_HALF_UP).minor
        return _money(total, plan.fee.currency)

    @property
    def late_fees(self) -> str | None:
        policy = self.plan.terms.late_fees
        return None if policy is None else policy.describe()


_ZERO = "0"


def _us_1(c: _Ctx) -> None:
    n, most = len(c.after_deposit), c.t("max_installments")
    if c.charge.minor:
        c.add("finance_charge_licensed" if c.sale.credit_licensed else "finance_charge", c.charge, f"{_ZERO} {c.charge.currency.code}")
    if n > most and c.sale.client_must_complete:
        c.add("installments", n, most)


def _us_2(c: _Ctx) -> None:
    if not c.sale.client_must_complete:
        c.add("layaway", "client_must_complete = false", "")


def _us_3(c: _Ctx) -> None:
    parts = c.after_deposit
    if len(parts) < 2:
        return
    ratio = Decimal(str(c.t("balloon_ratio")))
    least = min(p.amount.minor for p in parts)
    for p in parts:
        if p.amount.minor > least * ratio:
            c.add("balloon", f"{p.number} ({p.amount}, the smallest is {_money(least, p.amount.currency)})", ratio)
            return


def _us_4(c: _Ctx) -> None:
    discount = c.pay_in_full_discount
    if discount.minor:
        c.add("pay_in_full_discount", discount, "")


def _us_5(c: _Ctx) -> None:
    policy = c.plan.terms.late_fees
    if policy is None:
        return
    cur = c.plan.fee.currency
    if cur.code != c.t("currency"):
        return
    if len(policy.steps) > c.t("per_installment"):
        c.add("late_fee_count", len(policy.steps), c.t("per_installment"))
    first_days, second_days = c.t("first_days"), c.t("second_days")
    first_cap, second_cap = Money.of(c.t("first_cap"), cur), Money.of(c.t("second_cap"), cur)
    largest = max(i.amount for i in c.after_deposit or c.plan.installments)
    for step in policy.steps:
        days = policy.applies_on(step)
        fee = step.fee_for(largest)
        if days < first_days:
            c.add("late_fee_cap", f"{fee} once {days} day(s) late", f"no fee before {first_days} days late")
        elif days < second_days and fee > first_cap:
            c.add("late_fee_cap", f"{fee} once {days} day(s) late", f"{first_cap} once {first_days} days late")
        elif days >= second_days and fee > second_cap:
            c.add("late_fee_cap", f"{fee} once {days} day(s) late", f"{second_cap} once {second_days} days late")


def _us_7(c: _Ctx) -> None:
    n = len(c.plan.installments)
    if c.signing is None:
        c.add("authorization_needed", n, "")
    elif c.signing.ach_authorization is None:
        c.add("authorization_missing", n, "")
    if c.plan.terms.late_fees is not None:
        c.add("amount_change", c.late_fees, c.t("notice_days"))


def _uk_1(c: _Ctx) -> None:
    plan, sale = c.plan, c.sale
    n, most = len(c.after_deposit), c.t("max_installments")
    over: list[tuple[str, object, object]] = []
    if n > most:
        over.append(("installments", n, most))
    latest = plan.booked + relativedelta(months=c.t("max_months"))
    last = plan.installments[-1].due
    if last > latest:
        if c.tier:  # a representative plan's dates mean nothing to the reader: say it in time after booking
            over.append(("span", f"{(last - plan.booked).days} days after booking", f"{c.t('max_months')} months after booking"))
        else:
            over.append(("span", last.isoformat(), latest.isoformat()))
    if c.charge.minor:
        over.append(("charge", c.charge, f"{_ZERO} {c.charge.currency.code}"))
    if sale.credit_licensed and over:
        c.add("licensed", "; ".join(c.rule.outcomes[k].says.format(value=v, threshold=t) for k, v, t in over), "")
    else:
        for key, value, threshold in over:
            c.add(key, value, threshold)
    if plan.terms.late_fees is not None:
        c.add("late_fee", c.late_fees, "")
    if c.pay_in_full_discount.minor:
        c.add("price_difference", c.pay_in_full_discount, "")


def withdrawal_ends(plan: PaymentPlan, days: int = 14) -> dt.date:
    """The last day of the cancellation (withdrawal) period of a booking made on ``plan.booked``.

    The period runs for *days* days from the day after the contract is
    made, so a booking on 1 March can be cancelled until 15 March inclusive.

    .. versionadded:: 0.2.0
    """
    return plan.booked + dt.timedelta(days=days)


def retained_in_window(plan: PaymentPlan, ends: dt.date) -> Money:
    """The most the plan's cancellation terms keep for a cancellation on or before *ends*."""
    policy = plan.terms.cancellation
    cur = plan.fee.currency
    if policy is None:
        return Money.zero(cur)
    notice = max((plan.session - min(ends, plan.session)).days, 0)
    kept = percent_of(plan.fee, policy.percent_retained(notice), rounding=ROUND_HALF_UP).minor
    deposit = plan.deposit
    if not policy.deposit_refundable and deposit is not None:
        kept = max(kept, deposit.amount.minor)
    return _money(kept, cur)


def _withdrawal(c: _Ctx) -> None:
    plan, sale = c.plan, c.sale
    if sale.leisure_exemption is not None:
        c.add("exemption_claimed", sale.leisure_exemption, "")
        return
    days = c.t("window_days")
    ends = withdrawal_ends(plan, days)
    if not c.tier:
        c.add("right_to_cancel", f"on {plan.booked.isoformat()}", ends.isoformat())
    kept = retained_in_window(plan, ends)
    if kept.minor:
        c.add("deposit_not_refundable", kept, ends.isoformat() if not c.tier else f"{days} days after booking")
    if not c.tier and plan.session <= ends:
        if c.signing is None:
            c.add("express_request", plan.session.isoformat(), ends.isoformat())
        elif c.signing.express_request is None:
            c.add("express_request_missing", plan.session.isoformat(), ends.isoformat())


def _eu_1(c: _Ctx) -> None:
    plan, sale = c.plan, c.sale
    if sale.third_party_funded:
        c.add("third_party", "third_party_funded = true", "")
    if c.charge.minor:
        c.add("charge", c.charge, f"{_ZERO} {c.charge.currency.code}")
    if c.tier:
        return
    limit = c.t("large_online_seller_days") if sale.large_online_seller else c.t("max_days_after_delivery")
    delivered = sale.delivered if sale.delivered is not None else plan.session
    after = (plan.installments[-1].due - delivered).days
    if after > limit:
        c.add("deferral", f"{after} days", f"{limit} days")


def _au_1(c: _Ctx) -> None:
    plan, sale = c.plan, c.sale
    charge = c.charge
    if charge.minor:
        credit = sum(p.amount.minor for p in c.after_deposit) - charge.minor
        span = (plan.installments[-1].due - plan.booked).days
        fee_pct = Decimal(str(c.t("short_term_fee_percent")))
        short = (
            span <= c.t("short_term_days")
            and credit > 0
            and charge.minor * 100 <= credit * fee_pct
            and plan.terms.apr <= Decimal(str(c.t("short_term_apr")))
        )
        if sale.credit_licensed:
            c.add("licensed", charge, "")
        elif short:
            c.add("short_term", charge, f"{c.t('short_term_days')} days")
        else:
            c.add("charge", charge, f"{_ZERO} {charge.currency.code}")
    if c.pay_in_full_discount.minor:
        c.add("price_difference", c.pay_in_full_discount, "")
    if plan.terms.late_fees is not None:
        c.add("late_fee", c.late_fees, "")


def _cn_1(c: _Ctx) -> None:
    n = len(c.plan.installments)
    if n < 2:
        return
    if c.signing is None:
        c.add("consent_needed", n, "")
        return
    consent = c.signing.consent
    if consent is None:
        c.add("consent_missing", n, "")
    elif consent.missing():
        c.add("consent_incomplete", ", ".join(consent.missing()), "")


def _cn_2(c: _Ctx) -> None:
    if len(c.plan.installments) < 2:
        return
    if c.charge.minor:
        c.add("finance_charge", c.charge, f"{_ZERO} {c.charge.currency.code}")
    card = c.sale.card_currency
    if card is not None and card != c.plan.currency:
        c.add("currency", card, c.plan.currency)


def _cn_3(c: _Ctx) -> None:
    n = len(c.plan.installments)
    if n < 2:
        return
    if c.signing is None:
        c.add("series_approval", n, "")
    elif c.signing.first_payment is None:
        c.add("first_payment_missing", n, "")
    if c.plan.terms.late_fees is not None:
        c.add("late_fee_consent", c.late_fees, "")


def _cn_5(c: _Ctx) -> None:
    n = len(c.plan.installments)
    if n < 2:
        return
    if c.signing is None:
        c.add("sca_needed", n, "")
        return
    first = c.signing.first_payment
    if first is None:
        return  # CN-3 refuses it
    if first.sca is None:
        c.add("sca_unknown", "not reported", "")
    elif first.sca is Sca.NOT_AUTHENTICATED:
        c.add("sca_failed", first.sca.value, "")


#: The check of each rule id. A rule in the file without a check here is an error (tested).
CHECKS: dict[str, Callable[[_Ctx], None]] = {
    "US-1": _us_1,
    "US-2": _us_2,
    "US-3": _us_3,
    "US-4": _us_4,
    "US-5": _us_5,
    "US-7": _us_7,
    "UK-1": _uk_1,
    "UK-3": _withdrawal,
    "EU-1": _eu_1,
    "EU-2": _withdrawal,
    "AU-1": _au_1,
    "CN-1": _cn_1,
    "CN-2": _cn_2,
    "CN-3": _cn_3,
    "CN-5": _cn_5,
}


def _run(plan: PaymentPlan, sale: Sale, signing: Signing | None, ruleset: RuleSet | None, tier: bool) -> Iterator[Finding]:
    if type(plan) is not PaymentPlan:
        raise InvalidPlanError(f"expected a PaymentPlan, got {type(plan).__name__} {plan!r}")
    if type(sale) is not Sale:
        raise InvalidPlanError(f"expected a Sale (where the plan is sold), got {type(sale).__name__} {sale!r}")
    if signing is not None and type(signing) is not Signing:
        raise InvalidPlanError(f"expected signing as a Signing or None, got {type(signing).__name__} {signing!r}")
    rs = ruleset if ruleset is not None else shipped_rules()
    for rule in rs.rules:
        if not rs.covers(rule, sale):
            continue
        fn = CHECKS.get(rule.id)
        if fn is None:
            raise InvalidPlanError(f"rule {rule.id!r} has no check in this version of payplan")
        ctx = _Ctx(rule, plan, sale, signing, tier)
        fn(ctx)
        yield from ctx.found


def check(
    plan: PaymentPlan, sale: Sale, *, signing: Signing | None = None, rules: RuleSet | None = None
) -> tuple[Finding, ...]:
    """Check *plan* against the rules of where it is sold.

    Without *signing* the check is the one made before the plan is offered:
    what must be recorded at signing (the card consent, the first payment,
    an ACH authorization) is asked for as a disclosure. With *signing* it is
    the check made when the client signs: what should have been recorded and
    was not refuses.

    Args:
        plan: The plan.
        sale: Where and how it is sold, and the facts payplan cannot derive.
        signing: What was recorded at signing, if the client has signed.
        rules: The rules to check against (default: the rules payplan ships,
            read on first use).

    Returns:
        The findings, rule by rule in the order of the rules file.

    Raises:
        InvalidPlanError: *plan* or *sale* is not one.

    .. versionadded:: 0.2.0
    """
    return tuple(_run(plan, sale, signing, rules, tier=False))


_REFERENCE_DAY = dt.date(2001, 1, 1)


def _representative(tier: Tier, count: int, currency: str) -> PaymentPlan | None:
    """A plan of *tier* with *count* installments, booked on a fixed day, its session as near as fits."""
    from .._calendar import BeforeSession, Cadence, ExplicitDates

    fee = tier.fee if tier.fee is not None else Money.of("1000", currency)
    terms = tier.terms
    rule = terms.dates
    booked = _REFERENCE_DAY
    days = terms.final_due_days_before
    if isinstance(rule, Cadence):
        start = terms.first_due or booked
        last = rule.series(start, 0 if terms.first_due else 1, max(count, 1))[-1]
        session = last + dt.timedelta(days=days)
    elif isinstance(rule, ExplicitDates):
        booked = rule.dates[0]  # booked on the first date at the latest: the span is the dates' own
        session = rule.dates[-1] + dt.timedelta(days=days)
    elif isinstance(rule, BeforeSession):
        session = booked + dt.timedelta(days=max(rule.days) + days)
    else:  # pragma: no cover - the three date rules above are all there are
        return None
    try:
        return tier.quote("guardrails-check", booked=booked, session=session, installments=count, fee=fee)
    except InvalidPlanError:
        return None  # a count the tier cannot build is refused when quoted, by the quote itself


def check_tier(
    tier: Tier, sale: Sale, *, currency: str = "USD", rules: RuleSet | None = None
) -> tuple[Finding, ...]:
    """Check every installment count a catalog *tier* offers, where *sale* says it is sold.

    Each count is checked on a representative plan: booked on a fixed day,
    the session as soon after the last installment as the tier's cutoff
    allows, at the tier's fee (or 1000 in *currency* for a tier without
    one). What depends
    on a real booking's dates (the cancellation period's end, a session
    inside it, the days after delivery) is left to :func:`check` of the
    booked plan.

    Returns:
        The findings of every count, each once.

    .. versionadded:: 0.2.0
    """
    seen: dict[tuple[str, str, str], Finding] = {}
    for count in tier.installment_counts:
        plan = _representative(tier, count, currency)
        if plan is None:
            continue
        for f in _run(plan, sale, None, rules, tier=True):
            seen.setdefault((f.rule, f.outcome, f.value), f)
    return tuple(seen.values())


def withdrawal_period(plan: PaymentPlan, sale: Sale, *, rules: RuleSet | None = None) -> tuple[Rule, dt.date] | None:
    """The withdrawal rule (UK-3 or EU-2) that gives *plan*'s client a cancellation period, and its last day.

    None when no such rule covers the sale (not a consumer, not at a
    distance or off the premises, not in the UK or the EEA) or when the
    business claims the leisure-on-a-date exemption.

    .. versionadded:: 0.2.0
    """
    if type(sale) is not Sale:
        raise InvalidPlanError(f"expected a Sale (where the plan is sold), got {type(sale).__name__} {sale!r}")
    if sale.leisure_exemption is not None:
        return None
    rs = rules if rules is not None else shipped_rules()
    for rule in rs.rules:
        if CHECKS.get(rule.id) is _withdrawal and rs.covers(rule, sale):
            return rule, withdrawal_ends(plan, rule.thresholds["window_days"])
    return None
