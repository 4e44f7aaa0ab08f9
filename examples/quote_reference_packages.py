"""Quote the reference packages of the product brief and print each schedule.

Run: python examples/quote_reference_packages.py
"""

from __future__ import annotations

import datetime as dt

from payplan import REFERENCE_CATALOG_TOML, Catalog, Money


def main() -> None:
    catalog = Catalog.from_toml(REFERENCE_CATALOG_TOML)
    booked, session = dt.date(2026, 12, 1), dt.date(2027, 4, 15)
    for tier in catalog:
        fee = tier.fee if tier.fee is not None else Money.of("1800.00", "USD")
        plan = tier.quote(f"example-{len(tier.name)}", booked=booked, session=session, fee=fee, installments=3)
        print(f"{tier.name}: {plan.total.format('en_US')}")
        for line in plan.installments:
            print(f"  {line.number}. {line.kind.value:<11} {line.due.isoformat()}  {line.amount.format('en_US'):>10}")


if __name__ == "__main__":
    main()
