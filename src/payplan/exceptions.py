"""The payplan error tree.

Every exception payplan raises on purpose is a :class:`PayplanError`::

    PayplanError
    ├── InvalidPlanError(ValueError)        a value or plan breaks an invariant
    │   ├── InvalidMoneyError               an amount that is not exact money
    │   ├── UnknownCurrencyError            not an ISO 4217 code with minor units
    │   ├── OutOfBoundsError                a client's proposal outside the tier's bounds
    │   │   └── GuardrailError              a plan, tier or proposal a rule refuses where it is sold
    │   ├── ScheduleDoesNotFitError         no room before the cutoff
    │   └── SerializationError              a malformed or too-new document
    ├── CurrencyMismatchError(ValueError)   arithmetic across two currencies
    ├── LedgerError(ValueError)             an entry the ledger cannot accept
    ├── RuleViolationError                  a change the plan's rules forbid
    ├── StoreError                          the store could not do what was asked
    │   ├── StoreConflictError              another writer got there first: reload, retry
    │   │   └── StepInProgressError         another process is running the same lifecycle step
    │   ├── StoreUnavailableError           the database did not answer: retryable
    │   ├── SchemaVersionError              the database schema is older or newer than the code
    │   ├── DamagedRowError                 a stored row that cannot be read or was changed by hand
    │   └── UnknownPlanError(LookupError)   no such plan in the store
    ├── ProviderError                       .provider .retryable .provider_code .request_id
    │   ├── ProviderConnectionError         no answer: retryable
    │   ├── ProviderAuthError
    │   ├── ProviderRequestError            request rejected: mapping bug or bad config
    │   ├── PaymentFailedError              only from ``raise_for_failure()``
    │   └── UnsupportedByProviderError      the provider cannot express this
    └── NotificationError                   a message could not be handed over: .retryable

Messages say what was expected and what arrived.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable as _Iterable
from typing import Any as _Any

__all__ = [
    "CurrencyMismatchError",
    "DamagedRowError",
    "GuardrailError",
    "InvalidMoneyError",
    "InvalidPlanError",
    "LedgerError",
    "NotificationError",
    "OutOfBoundsError",
    "PaymentFailedError",
    "PayplanError",
    "ProviderAuthError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderRequestError",
    "RuleViolationError",
    "ScheduleDoesNotFitError",
    "SchemaVersionError",
    "SerializationError",
    "StepInProgressError",
    "StoreConflictError",
    "StoreError",
    "StoreUnavailableError",
    "UnknownCurrencyError",
    "UnknownPlanError",
    "UnsupportedByProviderError",
]


class PayplanError(Exception):
    """Base class of every error payplan raises on purpose.

    .. versionadded:: 0.1.0
    """


class InvalidPlanError(PayplanError, ValueError):
    """A value, term or plan breaks one of its invariants at construction.

    .. versionadded:: 0.1.0
    """


class InvalidMoneyError(InvalidPlanError):
    """An amount that is not exact money: a float, a bool, too many decimals.

    .. versionadded:: 0.1.0
    """


class UnknownCurrencyError(InvalidPlanError):
    """A currency code that is not ISO 4217, or has no minor unit (gold, XXX).

    .. versionadded:: 0.1.0
    """


class ScheduleDoesNotFitError(InvalidPlanError):
    """The installments cannot all fall due on or before the plan's cutoff.

    Attributes:
        latest_due: The latest date the last payment may fall on.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, latest_due: _dt.date) -> None:
        super().__init__(message)
        self.latest_due = latest_due


class OutOfBoundsError(InvalidPlanError):
    """A client's own proposal breaks one of the bounds the business set for the tier.

    Attributes:
        bound: The bound broken: ``"total"``, ``"order"``, ``"count"``,
            ``"deposit"``, ``"cutoff"``, ``"gap"``, ``"payment"`` or
            ``"rule"`` (a guardrail, :class:`GuardrailError`) (the values
            of :class:`payplan.Bound`).
        got: What the proposal had (an amount, a date or a count).
        nearest: The nearest value that keeps the bound.
        part: The 1-based part of the proposal that breaks it, when one does.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, bound: str, got: object, nearest: object, part: int | None = None) -> None:
        super().__init__(message)
        self.bound = bound
        self.got = got
        self.nearest = nearest
        self.part = part


class GuardrailError(OutOfBoundsError):
    """A plan, a catalog tier or a client's proposal breaks a refusing guardrail where it is sold.

    The message gives each refusing rule's id and version, what trips it
    (the number and the threshold) and what to do instead.

    Attributes:
        findings: The refusing :class:`payplan.guardrails.Finding` values.
        bound: ``"rule"``; *got* and *nearest* are the first finding's value
            and threshold.

    .. versionadded:: 0.2.0
    """

    def __init__(self, message: str, findings: _Iterable[_Any]) -> None:
        found = tuple(findings)
        first = found[0] if found else None
        super().__init__(
            message, bound="rule", got=getattr(first, "value", None), nearest=getattr(first, "threshold", None)
        )
        self.findings = found


class SerializationError(InvalidPlanError):
    """A document that is malformed, or written by a newer schema version.

    .. versionadded:: 0.1.0
    """


class CurrencyMismatchError(PayplanError, ValueError):
    """Arithmetic or comparison between amounts in two currencies.

    .. versionadded:: 0.1.0
    """


class LedgerError(PayplanError, ValueError):
    """An entry the ledger refuses: a reused id, a refund above what was paid.

    Nothing already recorded changes when this is raised.

    .. versionadded:: 0.1.0
    """


class RuleViolationError(PayplanError):
    """A change that the plan's own rules forbid (an amendment past the cutoff).

    .. versionadded:: 0.1.0
    """


class StoreError(PayplanError):
    """The store could not do what was asked; nothing was written.

    The message says what happened (the disk is full, the database is
    read-only, authentication failed, it did not answer); only what may
    pass by itself (a lock conflict, a dropped connection) is retryable.

    Attributes:
        retryable: Whether the same call may simply be made again.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *retryable* may be given per error (a full disk or a refused
       password is not retryable, whatever the class).
    """

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class StoreConflictError(StoreError):
    """Another writer changed the same thing first (a plan version, a reserved key).

    Reload what you read and try again: nothing of this call was written.

    .. versionadded:: 0.1.0
    """

    retryable = True


class StepInProgressError(StoreConflictError):
    """Another process holds the same lifecycle step and did not finish it within the wait.

    :class:`payplan.bookings.Bookings` claims a step before it runs it
    (:meth:`Store.claim_step <payplan.store.Store.claim_step>`), so two
    processes that book, amend or cancel the same plan at once do not both
    call the provider: the second waits for the first, then reads what it
    did. Raised when the wait runs out: nothing of this call was done; call
    again later (the step is then finished, and the call returns it).

    Attributes:
        key: The step's key.
        plan_id: The plan.

    .. versionadded:: 0.3.0
    """

    def __init__(self, message: str, *, key: str, plan_id: str) -> None:
        super().__init__(message)
        self.key = key
        self.plan_id = plan_id


class StoreUnavailableError(StoreError):
    """The database could not be reached, or the connection was lost mid-call.

    The transaction was rolled back; the same call may be made again.

    .. versionadded:: 0.1.0
    """

    retryable = True


class SchemaVersionError(StoreError):
    """The database's schema is older or newer than this version of payplan.

    The message says which revision the database is at, which one the code
    expects, and what to run (``payplan db upgrade --db URL``, or upgrade
    payplan itself).

    .. versionadded:: 0.1.0
    """


class DamagedRowError(StoreError):
    """A stored row payplan cannot read, or whose document no longer matches its checksum.

    A row cut short or edited by hand: the store names the plan and the
    row and reads nothing of that plan; other plans are not affected (the
    daily run records it as that plan's failure and goes on). Not
    retryable: restore the row from a backup, or ask who changed it.

    Attributes:
        plan_id: The plan the row belongs to.
        table: The table (``"payplan_entries"``, ``"payplan_plans"``...).
        row: Which row: the entry id, or the plan version.

    .. versionadded:: 0.2.0
    """

    def __init__(self, message: str, *, plan_id: str, table: str, row: str) -> None:
        super().__init__(message, retryable=False)
        self.plan_id = plan_id
        self.table = table
        self.row = row


class UnknownPlanError(StoreError, LookupError):
    """The store holds no plan with this id.

    .. versionadded:: 0.1.0
    """


class ProviderError(PayplanError):
    """A provider call reached no decision.

    A declined card is not an error: it is a ``ChargeOutcome``. This is for
    when the provider could not be reached, refused the request, or cannot
    express what was asked.

    Attributes:
        provider: The provider's name (``"stripe"``).
        retryable: Whether the same call, with the same idempotency key,
            may be tried again.
        provider_code: The provider's own error code, when it gave one.
        request_id: The provider's request id, for its support desk.

    .. versionadded:: 0.1.0
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        provider_code: str | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.provider_code = provider_code
        self.request_id = request_id
        if retryable is not None:
            self.retryable = retryable


class ProviderConnectionError(ProviderError):
    """The provider did not answer (timeout, dropped connection, 5xx): retryable.

    .. versionadded:: 0.1.0
    """

    retryable = True


class ProviderAuthError(ProviderError):
    """The provider refused the credentials.

    .. versionadded:: 0.1.0
    """


class ProviderRequestError(ProviderError):
    """The provider rejected the request: a mapping bug or a bad configuration.

    .. versionadded:: 0.1.0
    """


class PaymentFailedError(ProviderError):
    """A charge was declined; raised only by ``ChargeOutcome.raise_for_failure()``.

    .. versionadded:: 0.1.0
    """


class UnsupportedByProviderError(ProviderError):
    """The provider cannot do or express what was asked; the message says why.

    .. versionadded:: 0.1.0
    """


class NotificationError(PayplanError):
    """A message could not be handed to its channel (the SMTP server refused or did not answer).

    Attributes:
        retryable: Whether sending the same message again may succeed
            (a connection failure or a temporary 4xx refusal).

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
