"""``payplan check``: a saved plan against the guardrails of where it is sold.

Exit status: 1 when a finding refuses the plan, 0 otherwise, 2 on bad input.
The JSON output is ``{"where", "ruleset", "refused", "findings": [...]}``,
each finding with the keys of :meth:`payplan.guardrails.Finding.to_dict`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ._common import date_arg, dump_json, read_plan, render_table

if TYPE_CHECKING:
    from ..guardrails import Sale


def register(subs: Any) -> None:
    """Add ``check`` to the subcommands."""
    p = subs.add_parser(
        "check",
        help="check a saved plan against the rules where it is sold",
        description="Check PLAN.json (from `payplan quote --save`) against payplan's guardrails for the "
        "business's ISO 3166 country or subdivision (--where GB, --where US-CA). Prints each finding: the "
        "rule id and version, refuse/warn/disclose, what trips it, what to do instead and the source. "
        "Exits 1 when a finding refuses the plan, 0 otherwise, 2 on bad input. Not legal advice.",
    )
    p.add_argument("plan", metavar="PLAN.json", help="a plan saved by `payplan quote --save`")
    add_sale_arguments(p, required=True)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(run=run)


def add_sale_arguments(p: argparse.ArgumentParser, *, required: bool) -> None:
    """``--where`` and the facts of :class:`payplan.guardrails.Sale`, as ``check``, ``agreement`` and ``cancel`` take them."""
    p.add_argument(
        "--where", required=required, metavar="CODE",
        help="where the plan is sold: ISO 3166 country or subdivision, e.g. GB, US-CA",
    )
    p.add_argument("--business-client", action="store_true", help="the client is a business, not a consumer")
    p.add_argument(
        "--contract", choices=["distance", "off_premises", "on_premises"], default="distance",
        help="how the contract is made (default: distance, i.e. online)",
    )
    p.add_argument(
        "--client-may-stop", action="store_true",
        help="the client may stop paying and forfeit what was paid (default: obliged to finish paying)",
    )
    p.add_argument("--third-party-funded", action="store_true", help="a lender or BNPL provider funds the plan")
    p.add_argument(
        "--leisure-exemption", metavar="REASON",
        help="claim the leisure-on-a-specific-date exemption from the 14-day cancellation right, with its reason",
    )
    p.add_argument("--credit-licensed", action="store_true",
                   help="the business is licensed or authorised for consumer credit (or gives TILA disclosures)")
    p.add_argument("--large-online-seller", action="store_true", help="a large (non-SME) online seller (EU)")
    p.add_argument("--payment-method", choices=["card", "ach", "other"], default="card",
                   help="how the later payments are taken (default: card)")
    p.add_argument("--card-currency", metavar="CODE", help="the client's card currency, if known")
    p.add_argument("--delivered", type=date_arg, metavar="DATE", help="delivery date, when not the session")


def sale_from(args: argparse.Namespace) -> Sale | None:
    """The :class:`~payplan.guardrails.Sale` the ``--where`` flags describe; None without ``--where``."""
    from ..guardrails import Sale

    if args.where is None:
        return None
    return Sale(
        args.where,
        consumer=not args.business_client,
        contract=args.contract,
        client_must_complete=not args.client_may_stop,
        third_party_funded=args.third_party_funded,
        leisure_exemption=args.leisure_exemption,
        credit_licensed=args.credit_licensed,
        large_online_seller=args.large_online_seller,
        payment_method=args.payment_method,
        card_currency=args.card_currency,
        delivered=args.delivered,
    )


def run(args: argparse.Namespace) -> int:
    """Check the plan; print the findings; 1 if one refuses."""
    from ..guardrails import check, rules

    plan = read_plan(args.plan)
    sale = sale_from(args)
    assert sale is not None  # --where is required
    findings = check(plan, sale)
    refused = any(f.refuses for f in findings)
    if args.format == "json":
        print(dump_json({
            "where": sale.where,
            "ruleset": rules().version,
            "refused": refused,
            "findings": [f.to_dict() for f in findings],
        }))
    else:
        rows = [(f.ref, f.severity.value, f.message, f.remedy, f.source) for f in findings]
        print(render_table(("rule", "severity", "what", "do instead", "source"), rows))
        verdict = "refused" if refused else "not refused"
        print(f"\n{plan.id} in {sale.where}: {verdict} ({len(findings)} finding(s); rules {rules().version}; not legal advice)")
    return 1 if refused else 0
