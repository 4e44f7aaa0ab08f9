"""payplan: pre-session payment plans, exact to the minor unit.

Deposit now, installments later, everything paid before the session. The
package root is the public API; implementation modules are private.

.. code-block:: python

    import datetime as dt
    from payplan import Catalog, Money, PaymentPlan, DepositRule

    plan = PaymentPlan.with_deposit(
        "booking-42",
        Money.of("2000.00", "USD"),
        deposit=DepositRule.percent_or_minimum(25, Money.of("500.00", "USD")),
        installments=3,
        dates="monthly",
        booked=dt.date(2026, 12, 1),
        session=dt.date(2027, 4, 15),
    )
"""

from __future__ import annotations

from ._amendments import (
    AddAddOn,
    Amendment,
    AmendmentRecord,
    ChangeTier,
    ExtendDueDate,
    HardshipReduction,
    MoveSession,
    PlanHistory,
    Resplit,
    SkipPayment,
    WaiveFee,
    amend,
)
from ._calendar import BeforeSession, Cadence, DateRule, ExplicitDates, add_months
from ._catalog import REFERENCE_CATALOG_TOML, Catalog, Tier
from ._ledger import (
    Allocation,
    CancellationSettled,
    CreditApplied,
    FeeWaived,
    InstallmentState,
    InstallmentStatus,
    LateFeeAssessed,
    Ledger,
    LedgerEntry,
    PaymentFailed,
    PaymentReceived,
    PlanStatement,
    PlanStatus,
    Refund,
    WriteOff,
    plan_status,
)
from ._money import Currency, Money, Remainder, allocate, format_money, percent_of, split, to_currency
from ._plan import Milestone, PaymentPlan, PlanKind
from ._schedule import Installment, InstallmentKind, amortize
from ._terms import DepositRule, Terms
from .exceptions import (
    CurrencyMismatchError,
    InvalidMoneyError,
    InvalidPlanError,
    LedgerError,
    PaymentFailedError,
    PayplanError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
    RuleViolationError,
    ScheduleDoesNotFitError,
    SerializationError,
    UnknownCurrencyError,
    UnsupportedByProviderError,
)
from .serialization import SCHEMA_VERSION, dump_plan, dumps_plan, load_plan, loads_plan

__version__ = "0.1.0"

__all__ = [
    "AddAddOn",
    "Allocation",
    "Amendment",
    "AmendmentRecord",
    "BeforeSession",
    "Cadence",
    "CancellationSettled",
    "Catalog",
    "ChangeTier",
    "CreditApplied",
    "Currency",
    "CurrencyMismatchError",
    "DateRule",
    "DepositRule",
    "ExplicitDates",
    "ExtendDueDate",
    "FeeWaived",
    "HardshipReduction",
    "Installment",
    "InstallmentKind",
    "InstallmentState",
    "InstallmentStatus",
    "InvalidMoneyError",
    "InvalidPlanError",
    "LateFeeAssessed",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "Milestone",
    "Money",
    "MoveSession",
    "PaymentFailed",
    "PaymentFailedError",
    "PaymentPlan",
    "PaymentReceived",
    "PayplanError",
    "PlanHistory",
    "PlanKind",
    "PlanStatement",
    "PlanStatus",
    "ProviderAuthError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderRequestError",
    "REFERENCE_CATALOG_TOML",
    "Refund",
    "Remainder",
    "Resplit",
    "RuleViolationError",
    "SCHEMA_VERSION",
    "ScheduleDoesNotFitError",
    "SerializationError",
    "SkipPayment",
    "Terms",
    "Tier",
    "UnknownCurrencyError",
    "UnsupportedByProviderError",
    "WaiveFee",
    "WriteOff",
    "add_months",
    "allocate",
    "amend",
    "amortize",
    "dump_plan",
    "dumps_plan",
    "format_money",
    "load_plan",
    "loads_plan",
    "percent_of",
    "plan_status",
    "split",
    "to_currency",
]
