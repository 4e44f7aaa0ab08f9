"""``payplan demo``: the reference packages, quoted."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from .._catalog import REFERENCE_CATALOG_TOML, Catalog
from .._money import Money
from ._quote import plan_table


def register(subs: Any) -> None:
    """Add ``demo`` to the subcommands."""
    p = subs.add_parser("demo", help="show payplan at work on the reference packages")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the catalog and a quote of each reference package."""
    catalog = Catalog.from_toml(REFERENCE_CATALOG_TOML)
    booked, session = dt.date(2026, 12, 1), dt.date(2027, 4, 15)
    print("payplan demo: the reference catalog, booked 2026-12-01 for a session on 2027-04-15\n")
    for tier in catalog:
        fee = tier.fee or Money.of("2400.00", "USD")
        plan = tier.quote(f"demo-{tier.name.lower().replace(' ', '-')}", booked=booked, session=session, fee=fee, installments=tier.installment_counts[2] if len(tier.installment_counts) > 2 else None)
        print(plan_table(plan))
        print()
    return 0
