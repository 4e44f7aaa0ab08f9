"""payplan: pre-session payment plans, exact to the minor unit.

Deposit now, installments later, everything paid before the session. The
package root is the public API; implementation modules are private.

```python
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
```
"""

from __future__ import annotations

import sys as _sys

# `import payplan` loads only this file: each name below is imported from its module the
# first time it is used (PEP 562), so a call loads what it needs and no more. Type checkers
# read the same names from the imports under TYPE_CHECKING (set here rather than imported from
# typing, which `import payplan` would then load: type checkers take any TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
    from ._calendar import MAX_DAYS, BeforeSession, Cadence, DateRule, ExplicitDates, add_months
    from ._cancellation import Settlement, settle_cancellation, settle_reschedule
    from ._catalog import REFERENCE_CATALOG_TOML, Catalog, Tier
    from ._documents import (
        DEFAULT_AGREEMENT_TEMPLATES,
        DEFAULT_STATEMENT_TEMPLATES,
        Parties,
        render_agreement,
        render_statement,
    )
    from ._dunning import (
        DEFAULT_NOTICE_TEMPLATES,
        ChargeDue,
        FeeChargeDue,
        FeeHeld,
        Notice,
        NoticeKind,
        charges_due,
        dunning_notices,
        fee_charges_due,
        fees_held,
    )
    from ._history_json import dump_history, dumps_history, load_history, loads_history
    from ._incentives import IncentiveAward, earned_incentives
    from ._late_fees import assess_late_fees, waive_fee
    from ._ledger import (
        CancellationSettled,
        CreditApplied,
        FeeWaived,
        LateFeeAssessed,
        Ledger,
        LedgerEntry,
        PaymentFailed,
        PaymentReceived,
        Refund,
        WriteOff,
    )
    from ._money import Currency, Money, Remainder, allocate, format_money, percent_of, split, to_currency
    from ._plan import Milestone, PaymentPlan, PlanKind
    from ._policies import (
        DEFAULT_REMINDER_TEMPLATES,
        CancellationPolicy,
        CancellationWindow,
        EscalationPolicy,
        FeeCollection,
        Incentive,
        IncentiveKind,
        LateFeePolicy,
        LateFeeStep,
        ReminderKind,
        ReminderPolicy,
    )
    from ._proposals import Bound, Bounds, ProposedCadence, ProposedParts, accept_proposal, propose
    from ._refunds import RefundInstruction, refund_instructions, refund_key
    from ._reminders import Reminder, reminders_due
    from ._reports import (
        AGING_BUCKETS,
        AgingBucket,
        AgingReport,
        Forecast,
        ForecastPeriod,
        OverdueItem,
        PeriodSummary,
        aging,
        forecast,
        ics_feed,
        overdue,
        period_summary,
        quickbooks_invoices_csv,
        quickbooks_payments_csv,
        tracking_csv,
    )
    from ._retries import RetryPolicy
    from ._schedule import Installment, InstallmentKind, amortize
    from ._standing import (
        ClientStanding,
        client_standing,
        escalated_terms,
        flag_late_clients,
        installment_paid_dates,
    )
    from ._status import (
        Allocation,
        FeeDue,
        InstallmentState,
        InstallmentStatus,
        PlanDay,
        PlanStatement,
        PlanStatus,
        fees_due,
        plan_status,
    )
    from ._terms import DepositRule, Terms
    from .exceptions import (
        CurrencyMismatchError,
        DamagedRowError,
        GuardrailError,
        InvalidMoneyError,
        InvalidPlanError,
        LedgerError,
        NotificationError,
        OutOfBoundsError,
        PaymentFailedError,
        PayplanError,
        ProviderAuthError,
        ProviderConnectionError,
        ProviderError,
        ProviderRequestError,
        RuleViolationError,
        ScheduleDoesNotFitError,
        SchemaVersionError,
        SerializationError,
        StepInProgressError,
        StoreConflictError,
        StoreError,
        StoreUnavailableError,
        UnknownCurrencyError,
        UnknownPlanError,
        UnsupportedByProviderError,
    )
    from .serialization import (
        SCHEMA_VERSION,
        dump_ledger,
        dump_plan,
        dumps_ledger,
        dumps_plan,
        load_ledger,
        load_plan,
        loads_ledger,
        loads_plan,
    )

#: The module each public name lives in.
_MODULES: dict[str, tuple[str, ...]] = {
    "_amendments": (
        "AddAddOn", "Amendment", "AmendmentRecord", "ChangeTier", "ExtendDueDate", "HardshipReduction",
        "MoveSession", "PlanHistory", "Resplit", "SkipPayment", "WaiveFee", "amend",
    ),
    "_calendar": ("MAX_DAYS", "BeforeSession", "Cadence", "DateRule", "ExplicitDates", "add_months"),
    "_cancellation": ("Settlement", "settle_cancellation", "settle_reschedule"),
    "_catalog": ("REFERENCE_CATALOG_TOML", "Catalog", "Tier"),
    "_documents": (
        "DEFAULT_AGREEMENT_TEMPLATES", "DEFAULT_STATEMENT_TEMPLATES", "Parties", "render_agreement",
        "render_statement",
    ),
    "_dunning": (
        "DEFAULT_NOTICE_TEMPLATES", "ChargeDue", "FeeChargeDue", "FeeHeld", "Notice", "NoticeKind",
        "charges_due", "dunning_notices", "fee_charges_due", "fees_held",
    ),
    "_history_json": ("dump_history", "dumps_history", "load_history", "loads_history"),
    "_incentives": ("IncentiveAward", "earned_incentives"),
    "_late_fees": ("assess_late_fees", "waive_fee"),
    "_ledger": (
        "CancellationSettled", "CreditApplied", "FeeWaived", "LateFeeAssessed", "Ledger", "LedgerEntry",
        "PaymentFailed", "PaymentReceived", "Refund", "WriteOff",
    ),
    "_money": (
        "Currency", "Money", "Remainder", "allocate", "format_money", "percent_of", "split", "to_currency",
    ),
    "_plan": ("Milestone", "PaymentPlan", "PlanKind"),
    "_policies": (
        "DEFAULT_REMINDER_TEMPLATES", "CancellationPolicy", "CancellationWindow", "EscalationPolicy",
        "FeeCollection", "Incentive", "IncentiveKind", "LateFeePolicy", "LateFeeStep", "ReminderKind",
        "ReminderPolicy",
    ),
    "_proposals": ("Bound", "Bounds", "ProposedCadence", "ProposedParts", "accept_proposal", "propose"),
    "_refunds": ("RefundInstruction", "refund_instructions", "refund_key"),
    "_reminders": ("Reminder", "reminders_due"),
    "_reports": (
        "AGING_BUCKETS", "AgingBucket", "AgingReport", "Forecast", "ForecastPeriod", "OverdueItem",
        "PeriodSummary", "aging", "forecast", "ics_feed", "overdue", "period_summary",
        "quickbooks_invoices_csv", "quickbooks_payments_csv", "tracking_csv",
    ),
    "_retries": ("RetryPolicy",),
    "_schedule": ("Installment", "InstallmentKind", "amortize"),
    "_standing": (
        "ClientStanding", "client_standing", "escalated_terms", "flag_late_clients", "installment_paid_dates",
    ),
    "_status": (
        "Allocation", "FeeDue", "InstallmentState", "InstallmentStatus", "PlanDay", "PlanStatement",
        "PlanStatus", "fees_due", "plan_status",
    ),
    "_terms": ("DepositRule", "Terms"),
    "exceptions": (
        "CurrencyMismatchError", "DamagedRowError", "GuardrailError", "InvalidMoneyError", "InvalidPlanError",
        "LedgerError", "NotificationError", "OutOfBoundsError", "PaymentFailedError", "PayplanError",
        "ProviderAuthError", "ProviderConnectionError", "ProviderError", "ProviderRequestError",
        "RuleViolationError", "ScheduleDoesNotFitError", "SchemaVersionError", "SerializationError",
        "StepInProgressError", "StoreConflictError", "StoreError", "StoreUnavailableError",
        "UnknownCurrencyError", "UnknownPlanError", "UnsupportedByProviderError",
    ),
    "serialization": (
        "SCHEMA_VERSION", "dump_ledger", "dump_plan", "dumps_ledger", "dumps_plan", "load_ledger",
        "load_plan", "loads_ledger", "loads_plan",
    ),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__version__ = "0.3.0.dev0"

__all__ = [
    "AGING_BUCKETS",
    "AddAddOn",
    "AgingBucket",
    "AgingReport",
    "Allocation",
    "Amendment",
    "AmendmentRecord",
    "BeforeSession",
    "Bound",
    "Bounds",
    "Cadence",
    "CancellationPolicy",
    "CancellationSettled",
    "CancellationWindow",
    "Catalog",
    "ChangeTier",
    "ChargeDue",
    "ClientStanding",
    "CreditApplied",
    "Currency",
    "CurrencyMismatchError",
    "DEFAULT_AGREEMENT_TEMPLATES",
    "DEFAULT_NOTICE_TEMPLATES",
    "DEFAULT_REMINDER_TEMPLATES",
    "DEFAULT_STATEMENT_TEMPLATES",
    "DamagedRowError",
    "DateRule",
    "DepositRule",
    "EscalationPolicy",
    "ExplicitDates",
    "ExtendDueDate",
    "FeeChargeDue",
    "FeeCollection",
    "FeeDue",
    "FeeHeld",
    "FeeWaived",
    "Forecast",
    "ForecastPeriod",
    "GuardrailError",
    "HardshipReduction",
    "Incentive",
    "IncentiveAward",
    "IncentiveKind",
    "Installment",
    "InstallmentKind",
    "InstallmentState",
    "InstallmentStatus",
    "InvalidMoneyError",
    "InvalidPlanError",
    "LateFeeAssessed",
    "LateFeePolicy",
    "LateFeeStep",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "MAX_DAYS",
    "Milestone",
    "Money",
    "MoveSession",
    "Notice",
    "NoticeKind",
    "NotificationError",
    "OutOfBoundsError",
    "OverdueItem",
    "Parties",
    "PaymentFailed",
    "PaymentFailedError",
    "PaymentPlan",
    "PaymentReceived",
    "PayplanError",
    "PeriodSummary",
    "PlanDay",
    "PlanHistory",
    "PlanKind",
    "PlanStatement",
    "PlanStatus",
    "ProposedCadence",
    "ProposedParts",
    "ProviderAuthError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderRequestError",
    "REFERENCE_CATALOG_TOML",
    "Refund",
    "RefundInstruction",
    "Remainder",
    "Reminder",
    "ReminderKind",
    "ReminderPolicy",
    "Resplit",
    "RetryPolicy",
    "RuleViolationError",
    "SCHEMA_VERSION",
    "ScheduleDoesNotFitError",
    "SchemaVersionError",
    "SerializationError",
    "Settlement",
    "SkipPayment",
    "StepInProgressError",
    "StoreConflictError",
    "StoreError",
    "StoreUnavailableError",
    "Terms",
    "Tier",
    "UnknownCurrencyError",
    "UnknownPlanError",
    "UnsupportedByProviderError",
    "WaiveFee",
    "WriteOff",
    "accept_proposal",
    "add_months",
    "aging",
    "allocate",
    "amend",
    "amortize",
    "assess_late_fees",
    "charges_due",
    "client_standing",
    "dump_history",
    "dump_ledger",
    "dump_plan",
    "dumps_history",
    "dumps_ledger",
    "dumps_plan",
    "dunning_notices",
    "earned_incentives",
    "escalated_terms",
    "fee_charges_due",
    "fees_due",
    "fees_held",
    "flag_late_clients",
    "forecast",
    "format_money",
    "ics_feed",
    "installment_paid_dates",
    "load_history",
    "load_ledger",
    "load_plan",
    "loads_history",
    "loads_ledger",
    "loads_plan",
    "overdue",
    "percent_of",
    "period_summary",
    "plan_status",
    "propose",
    "quickbooks_invoices_csv",
    "quickbooks_payments_csv",
    "refund_instructions",
    "refund_key",
    "reminders_due",
    "render_agreement",
    "render_statement",
    "settle_cancellation",
    "settle_reschedule",
    "split",
    "to_currency",
    "tracking_csv",
    "waive_fee",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would take any name for one of these

    def __getattr__(name: str) -> Any:
        """Import *name* from its module on first use, and keep it."""
        module = _WHERE.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        qualified = f"{__name__}.{module}"
        __import__(qualified)
        value = getattr(_sys.modules[qualified], name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})

del TYPE_CHECKING  # not part of the API
