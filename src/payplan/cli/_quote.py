"""``payplan quote``: preview a plan without writing code."""

from __future__ import annotations

import argparse
import os
from decimal import Decimal
from typing import Any

from attrs import evolve

from .._calendar import MAX_DAYS, Cadence
from .._money import Money, Remainder, to_currency
from .._plan import PaymentPlan
from .._policies import LateFeePolicy, LateFeeStep
from .._terms import DepositRule, Terms
from ._common import (
    CliError,
    count_arg,
    date_arg,
    days_arg,
    dump_json,
    money_arg,
    money_json,
    number_arg,
    percent_arg,
    render_table,
    to_csv,
    write_text,
)


def register(subs: Any) -> None:
    """Add ``quote`` to the subcommands."""
    p = subs.add_parser(
        "quote",
        help="preview a payment plan",
        description="Preview a plan: deposit, dated installments and total. "
        "Amounts are major units (\"2000.00\"); dates are YYYY-MM-DD.",
    )
    p.add_argument("--fee", help="the package fee, e.g. 2000.00")
    p.add_argument("--currency", help="ISO 4217 code (default: the catalog's, else USD)")
    p.add_argument("--deposit", help="PERCENT%% (e.g. 25%%) or a fixed AMOUNT")
    p.add_argument("--deposit-min", help="minimum deposit AMOUNT for a percentage deposit")
    p.add_argument("--installments", type=count_arg, help="installments after the deposit (0 to 520)")
    p.add_argument("--cadence", help=", ".join(c.value for c in Cadence))
    p.add_argument("--booked", type=date_arg, required=True, help="booking date (deposit due)")
    p.add_argument("--session", type=date_arg, required=True, help="session date")
    p.add_argument("--first-due", type=date_arg, help="first installment date (default: one period after booking)")
    p.add_argument(
        "--final-due-days-before", type=days_arg(), metavar="DAYS",
        help=f"cutoff: last payment DAYS before the session (0 to {MAX_DAYS})",
    )
    p.add_argument("--remainder", choices=[r.value for r in Remainder], help="where odd minor units go")
    p.add_argument(
        "--apr", type=apr_arg, help="annual percentage rate from 0 to 999 with at most 6 decimals, e.g. 9.9 (default 0)"
    )
    p.add_argument("--compress", action="store_true", help="fit a schedule that is too long into the time available")
    p.add_argument("--catalog", help="catalog TOML file")
    p.add_argument("--tier", help="tier name in the catalog")
    p.add_argument("--timezone", default="UTC", help="IANA time zone of the due dates")
    p.add_argument("--plan-id", help="the plan id to save (default: a new random id)")
    p.add_argument("--client", help="the client's id")
    p.add_argument("--locale", default="en_US", help="locale for money in the table (default en_US)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--save", metavar="PLAN.json", help="write the plan as JSON")
    add_policy_arguments(p)
    p.set_defaults(run=run)


def apr_arg(text: str) -> Decimal:
    """argparse type for ``--apr``: a percentage from 0 to 999 with at most 6 decimals."""
    try:
        return number_arg(text, "a percentage", low=0, high=999, places=6)
    except CliError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_policy_arguments(p: argparse.ArgumentParser) -> None:
    """Options that add collection policies to a quote: ``--grace-days``, ``--late-fee``."""
    p.add_argument(
        "--grace-days", type=days_arg(high=MAX_DAYS - 1), metavar="DAYS",
        help=f"days after a due date before a late fee applies (0 to {MAX_DAYS - 1}; default 0)",
    )
    p.add_argument(
        "--late-fee",
        metavar="AMOUNT|PERCENT%",
        help="one late fee per late installment, after the grace period: a flat AMOUNT or PERCENT%% of what is overdue "
        "(above 0, at most 100%%; ladders and caps come from the catalog TOML)",
    )


def apply_policy_arguments(args: argparse.Namespace, plan: PaymentPlan) -> PaymentPlan:
    """Apply ``--grace-days`` and ``--late-fee`` to *plan*'s terms."""
    grace: int | None = getattr(args, "grace_days", None)
    fee_text = getattr(args, "late_fee", None)
    if grace is None and fee_text is None:
        return plan
    current = plan.terms.late_fees
    if fee_text is None:
        if current is None:
            raise CliError("--grace-days needs a late fee: add --late-fee AMOUNT or PERCENT%")
        policy = evolve(current, grace_days=grace or 0)
    else:
        text = fee_text.strip()
        fee: Money | Decimal
        if text.endswith("%"):
            fee = percent_arg(text, "--late-fee as a percentage", high=int(LateFeeStep.MAX_PERCENT))
        else:
            fee = money_arg(text, plan.currency, "--late-fee")
        if (fee.minor if isinstance(fee, Money) else fee) <= 0:
            raise CliError(f"expected --late-fee above zero, got {fee_text}")
        policy = LateFeePolicy.single(fee, grace_days=grace if grace is not None else 0)
    return evolve(plan, terms=evolve(plan.terms, late_fees=policy))


def _deposit(args: argparse.Namespace, currency: str) -> DepositRule | None:
    if args.deposit is None:
        if args.deposit_min is not None:
            raise CliError("--deposit-min needs a percentage --deposit, e.g. --deposit 25%")
        return None
    text = args.deposit.strip()
    if text.endswith("%"):
        percent = percent_arg(text, "--deposit as a percentage")
        if args.deposit_min is not None:
            return DepositRule.percent_or_minimum(percent, money_arg(args.deposit_min, currency, "--deposit-min"))
        return DepositRule.percent(percent)
    if args.deposit_min is not None:
        raise CliError("--deposit-min goes with a percentage --deposit, not a fixed amount")
    return DepositRule.fixed(money_arg(text, currency, "--deposit"))


def build_plan(args: argparse.Namespace) -> PaymentPlan:
    """The plan the quote options describe."""
    plan_id = args.plan_id or f"plan-{os.urandom(6).hex()}"  # 12 random hex digits (no uuid module to load)
    overrides: dict[str, Any] = {}
    if args.cadence is not None:
        overrides["dates"] = Cadence.parse(args.cadence)
    for name in ("final_due_days_before", "remainder", "apr", "first_due"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    if args.compress:
        overrides["compress"] = True
    if args.catalog or args.tier:
        if not (args.catalog and args.tier):
            raise CliError("--catalog and --tier go together")
        from .._catalog import Catalog  # (a quote without a catalog does not load it)

        catalog = Catalog.from_toml(args.catalog)
        tier = catalog[args.tier]
        currency = args.currency or (catalog.currency.code if catalog.currency else "USD")
        if catalog.currency is not None and to_currency(currency) != catalog.currency:
            raise CliError(f"--currency {args.currency} differs from the catalog's {catalog.currency.code}")
        fee = money_arg(args.fee, currency, "--fee") if args.fee is not None else None
        return tier.quote(
            plan_id, booked=args.booked, session=args.session, installments=args.installments,
            fee=fee, deposit=_deposit(args, currency), timezone=args.timezone, client=args.client,
            **overrides,
        )
    if args.fee is None:
        raise CliError("expected --fee AMOUNT (or --catalog FILE --tier NAME)")
    currency = args.currency or "USD"
    fee = money_arg(args.fee, currency, "--fee")
    if fee.minor <= 0:
        raise CliError(f"expected a fee above zero, got {args.fee}")
    deposit = _deposit(args, currency)
    terms = Terms(
        deposit=deposit or DepositRule.none(),
        installments=args.installments if args.installments is not None else 1,
    )
    return PaymentPlan.with_deposit(
        plan_id, fee, booked=args.booked, session=args.session, terms=terms,
        timezone=args.timezone, client=args.client, **overrides,
    )


def plan_json(plan: PaymentPlan) -> dict[str, Any]:
    """The stable JSON contract of ``payplan quote --format json``."""
    return {
        "plan_id": plan.id,
        "tier": plan.tier,
        "currency": plan.currency,
        **_prefixed("total", plan.total),
        **_prefixed("fee", plan.fee),
        **_prefixed("finance_charge", plan.finance_charge or Money.zero(plan.fee.currency)),
        "booked": plan.booked.isoformat(),
        "session": plan.session.isoformat(),
        "cutoff": plan.cutoff.isoformat(),
        "installments": [
            {
                "number": i.number,
                "kind": i.kind.value,
                "due": i.due.isoformat(),
                **money_json(i.amount),
                "label": i.label,
            }
            for i in plan.installments
        ],
    }


def _prefixed(name: str, m: Money) -> dict[str, Any]:
    return {name: m.to_decimal_string(), f"{name}_minor": m.minor}


def plan_table(plan: PaymentPlan, locale: str = "en_US") -> str:
    """A readable terminal table of the schedule, with the total."""
    title = plan.tier or "Plan"
    head = (
        f"{title} {plan.id}: fee {plan.fee.format(locale)}, booked {plan.booked.isoformat()}, "
        f"session {plan.session.isoformat()}, last payment due by {plan.cutoff.isoformat()}"
    )
    rows = [
        [str(i.number), i.kind.value, i.due.isoformat(), i.amount.format(locale), i.label or ""]
        for i in plan.installments
    ]
    if plan.finance_charge:
        rows.append(["", "finance charge", "", plan.finance_charge.format(locale), f"APR {plan.terms.apr}%"])
    rows.append(["", "total", "", plan.total.format(locale), ""])
    return head + "\n" + render_table(["#", "kind", "due", "amount", "note"], rows, right=(0, 3))


def run(args: argparse.Namespace) -> int:
    """Build, print and optionally save the quote."""
    plan = apply_policy_arguments(args, build_plan(args))
    if args.save:
        from ..serialization import dumps_plan  # (only --save loads it)

        write_text(args.save, dumps_plan(plan) + "\n")
    if args.format == "json":
        print(dump_json(plan_json(plan)))
    elif args.format == "csv":
        print(
            to_csv(
                ["number", "kind", "due", "amount", "amount_minor", "currency", "label"],
                [
                    [i.number, i.kind.value, i.due.isoformat(), i.amount.to_decimal_string(), i.amount.minor, plan.currency, i.label or ""]
                    for i in plan.installments
                ],
            ),
            end="",
        )
    else:
        print(plan_table(plan, args.locale))
        if plan.terms.late_fees is not None:
            print(plan.terms.late_fees.describe())
    return 0
