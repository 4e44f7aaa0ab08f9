"""Money-moving provider calls, reserved in the store before they are sent."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from .._cancellation import Settlement
from .._money import Money
from .._plan import PaymentPlan
from .._refunds import refund_key
from ..exceptions import ProviderConnectionError, ProviderError, StoreError
from ..providers import (
    ChargeOutcome,
    ChargeStatus,
    Provider,
    ProviderBinding,
    RefundOutcome,
    RefundStatus,
    fee_key,
    idempotency_key,
)
from ._model import Operation, OperationStatus, Store

__all__ = ["charge", "charge_fee", "refund", "refund_settlement", "reserved_call"]

T = TypeVar("T", ChargeOutcome, RefundOutcome)


def reserved_call(store: Store, operation: Operation, call: Callable[[], T]) -> T:
    """Reserve *operation*'s key, make *call*, record how it ended.

    The key is written (``RESERVED``) before the provider hears of the call,
    so a crash between the call and the write leaves a reservation that
    says to retry with the same key (the provider answers its first result)
    or to reconcile, never to charge again under a new key. A call that got
    no answer is left ``UNKNOWN``; a refusal is ``FAILED``; a decision (a
    decline included) is ``SUCCEEDED``.

    Raises:
        ProviderError: the provider reached no decision (re-raised after recording it).
        StoreError: the store failed before the call (nothing was sent).

    .. versionadded:: 0.1.0
    """
    store.reserve_operation(operation)
    try:
        outcome = call()
    except ProviderConnectionError as exc:
        store.complete_operation(operation.key, OperationStatus.UNKNOWN, error=str(exc))
        raise
    except ProviderError as exc:
        store.complete_operation(operation.key, OperationStatus.FAILED, error=str(exc))
        raise
    failed = isinstance(outcome, RefundOutcome) and outcome.status is RefundStatus.FAILED
    store.complete_operation(
        operation.key,
        OperationStatus.FAILED if failed else OperationStatus.SUCCEEDED,
        reference=outcome.reference,
        error=outcome.message if failed or (
            isinstance(outcome, ChargeOutcome) and outcome.status is ChargeStatus.DECLINED
        ) else None,
    )
    return outcome


def charge(
    store: Store,
    provider: Provider,
    binding: ProviderBinding,
    plan: PaymentPlan,
    installment: int,
    *,
    attempt: int = 1,
) -> ChargeOutcome:
    """Charge *installment* of *plan* through *provider*, reserved in *store* first.

    The key is :func:`~payplan.providers.idempotency_key` of the plan,
    ``"charge"``, the installment and *attempt*: the same one the adapter
    sends, so a retry after a crash charges nothing twice.

    .. versionadded:: 0.1.0
    """
    op = Operation(
        idempotency_key(plan, "charge", installment=installment, attempt=attempt),
        provider.name, plan.id, "charge", installment=installment, attempt=attempt,
        amount=plan.installment(installment).amount,
    )
    return reserved_call(store, op, lambda: provider.charge(binding, plan, installment, attempt=attempt))


def charge_fee(
    store: Store,
    provider: Provider,
    binding: ProviderBinding,
    plan: PaymentPlan,
    fee_id: str,
    amount: Money,
    *,
    description: str = "",
    attempt: int = 1,
) -> ChargeOutcome:
    """Charge a fee owed on *plan* (a late, no-show or reschedule fee) through *provider*, reserved in *store* first.

    The key is :func:`~payplan.providers.fee_key` of the plan, *fee_id*
    (the :class:`~payplan.LateFeeAssessed` entry id, or your own id of a
    no-show or reschedule fee), *amount* and *attempt*: the one the adapter
    sends and the one the daily run reserves for the same fee, so a retry
    after a crash, or the daily run reaching the same fee, charges nothing
    twice. Record the outcome yourself (a succeeded charge as a
    :class:`~payplan.PaymentReceived`), as with :func:`charge`.

    Raises:
        ProviderError: the provider reached no decision (recorded as
            ``UNKNOWN``: call again with the same arguments), or refused
            (:class:`~payplan.UnsupportedByProviderError` where it cannot
            charge fees on demand).

    .. versionadded:: 0.2.0
    """
    op = Operation(
        fee_key(plan.id, fee_id, amount, attempt=attempt), provider.name, plan.id, "charge_fee",
        attempt=attempt, amount=amount,
    )
    return reserved_call(
        store, op,
        lambda: provider.charge_fee(binding, plan, fee_id, amount, description=description, attempt=attempt),
    )


def refund(
    store: Store,
    provider: Provider,
    binding: ProviderBinding,
    charge_reference: str,
    amount: Money,
    *,
    installment: int | None = None,
    reason: str | None = None,
    sequence: int = 1,
    idempotency_key: str | None = None,
    lowers_price: bool = False,
) -> RefundOutcome:
    """Refund *amount* of a payment through *provider*, reserved in *store* first.

    The key is the one the adapter sends: *idempotency_key* (a
    :class:`~payplan.RefundInstruction`'s) or :func:`~payplan.refund_key`
    of the plan, the payment, the amount and *sequence*.

    *lowers_price* says the refund lowers the price (a goodwill refund: "$50
    back for the late photos"): the provider keeps that word on the refund
    and sends it back in its refund events, and the outcome carries it, so
    the ledger records a :meth:`~payplan.Refund.price_reduction` (nothing
    is owed again, nothing becomes overdue) whether the answer
    (``outcome.entry(on)``, :func:`~payplan.providers.record_refund`) or the
    webhook arrives first. Without it the refund is a reversal: the money
    is owed again. A refund made in the provider's dashboard is always a
    reversal.

    Raises:
        UnsupportedByProviderError: *lowers_price* with a provider that does
            not declare :attr:`~payplan.providers.Capability.GOODWILL_REFUNDS`
            (nothing is reserved or sent).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *sequence* and *idempotency_key* replace *attempt*; *lowers_price*.
    """
    key = idempotency_key or refund_key(binding.plan_id, charge_reference, amount, sequence=sequence)
    if lowers_price:
        provider._check_goodwill()
    op = Operation(
        key,
        provider.name, binding.plan_id, "refund", installment=installment, attempt=sequence, amount=amount,
        reference=charge_reference,
    )

    def call() -> RefundOutcome:
        if lowers_price:
            return provider.refund(
                binding, charge_reference, amount, reason=reason, idempotency_key=key, lowers_price=True
            )
        return provider.refund(binding, charge_reference, amount, reason=reason, idempotency_key=key)

    return reserved_call(store, op, call)


def refund_settlement(
    store: Store, provider: Provider, binding: ProviderBinding, settlement: Settlement
) -> tuple[RefundOutcome, ...]:
    """Pay back a cancellation's refunds through *provider*, each reserved in *store*, and record them.

    Each of ``settlement.refunds`` is sent under its instruction's own
    idempotency key (reserved first, as :func:`refund` does), and each
    refund the provider confirms is recorded on the settlement's day under
    the id its refund events carry: a provider's event that arrives before
    or after the answer counts the money once, and calling this again
    (after a crash, or twice) refunds and records nothing more. A pending
    refund lands later through the provider's refund event; a failed one
    is returned for the site to act on. Record ``settlement.entries``
    first (the settlement itself, and money paid back by hand).

    Raises:
        StoreError: *binding* is not *provider*'s binding of the settlement's plan.
        ProviderError: the provider reached no decision on one refund
            (those before it are sent and recorded; call again to finish).

    .. versionadded:: 0.2.0
    """
    if binding.plan_id != settlement.plan_id or binding.provider != provider.name:
        raise StoreError(
            f"expected {provider.name}'s binding of plan {settlement.plan_id}, got "
            f"{binding.provider}'s binding of plan {binding.plan_id}"
        )
    outcomes = []
    for instruction in settlement.refunds:
        op = Operation(
            instruction.idempotency_key, provider.name, binding.plan_id, "refund",
            amount=instruction.amount, reference=instruction.reference,
        )
        outcome = reserved_call(store, op, functools.partial(provider.refund_instruction, binding, instruction))
        entry = outcome.entry(settlement.on, instruction.reason)
        if entry is not None:
            store.record_entries(binding.plan_id, [entry])
        outcomes.append(outcome)
    return tuple(outcomes)
