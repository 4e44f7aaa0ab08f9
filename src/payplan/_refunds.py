"""Refund instructions: how money a settlement pays back reaches the client, once.

A cancellation's refund goes back through the provider that took the money,
payment by payment. The settlement cannot record that refund itself (the
provider's own refund events would then add it a second time); instead it
says what to refund, as :class:`RefundInstruction` values, one per original
payment, each with an idempotency key; it records no refund itself. :meth:`Provider.refund
<payplan.providers.Provider.refund>` carries one out, and the refund lands in
the ledger once: from the provider's answer or from its refund events,
whichever comes first (both give the same entry id).

Pure: no I/O, no clock, no provider SDK.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt
import hashlib

from attrs import frozen

from ._ledger import Ledger, PaymentReceived, Refund
from ._money import Money, _money
from .exceptions import LedgerError

__all__ = ["RefundInstruction", "fit_key", "refund_instructions", "refund_key"]

_KEY_LIMIT = 64


def fit_key(key: str) -> str:
    """*key* itself when it fits every provider's limit (64 characters), else a SHA-256 digest of it.

    .. versionadded:: 0.2.0
    """
    if len(key) <= _KEY_LIMIT:
        return key
    return "payplan:" + hashlib.sha256(key.encode()).hexdigest()[:48]


def _check_sequence(_: object, __: object, value: int) -> None:
    if type(value) is not int or value < 1:
        raise LedgerError(f"expected a refund sequence as an int of at least 1, got {value!r}")


def refund_key(
    plan_id: str, charge_reference: str, amount: Money, *, sequence: int = 1, purpose: str = "refund"
) -> str:
    """The idempotency key of one refund.

    It names the operation: the plan, the original payment
    (*charge_reference*, the provider's payment id), the amount and the
    refund's own *sequence* among the refunds of that payment, and its
    *purpose* (``"refund"`` for one a person asks for, ``"cancellation"``
    for a settlement's). Retrying the same refund sends the same key; a
    second refund of the same payment (another amount, or the same amount
    with ``sequence=2``) sends another. The plan version is not part of it,
    so a refund retried after an amendment is still the same refund.

    Raises:
        LedgerError: *sequence* is not a positive int, or *amount* is not positive.

    .. versionadded:: 0.2.0
    """
    _check_sequence(None, None, sequence)
    if not isinstance(amount, Money) or amount.minor <= 0:
        raise LedgerError(f"expected a positive Money amount to refund, got {amount!r}")
    return fit_key(
        f"payplan:{plan_id}:{purpose}:{charge_reference}:{amount.minor}{amount.currency.code}:r{sequence}"
    )


@frozen
class RefundInstruction:
    """Pay back *amount* of one original payment, through the provider that took it.

    Attributes:
        plan_id: The plan.
        payment_id: The ledger id of the :class:`~payplan.PaymentReceived` refunded.
        reference: The provider's id of that payment (what
            :meth:`Provider.refund <payplan.providers.Provider.refund>` takes),
            or None for a payment recorded without one: pay that back by
            hand, or through the provider with the payment id you know.
        amount: How much of it to pay back.
        idempotency_key: The key to send; the same instruction carried out
            twice refunds once.
        reason: Why, in words.

    .. versionadded:: 0.2.0
    """

    plan_id: str
    payment_id: str
    reference: str | None
    amount: Money
    idempotency_key: str
    reason: str = ""

    def entry(self, on: dt.date) -> Refund:
        """The ledger entry of this refund paid back by hand (cash, a bank transfer, a dashboard).

        Record it only for money paid back outside any provider whose
        refund events reach the ledger: a refund made through a provider
        lands through its answer or its events instead (see
        :func:`~payplan.providers.record_refund`).
        """
        return Refund.reversal(
            f"{self.plan_id}:refund:{self.idempotency_key}", on, self.amount, self.reason, self.reference
        )


def refund_instructions(
    plan_id: str, ledger: Ledger, amount: Money, *, purpose: str = "refund", reason: str = ""
) -> tuple[RefundInstruction, ...]:
    """Split a refund of *amount* over the payments in *ledger*, one instruction per payment.

    Payments a provider took (recorded with its reference) come first,
    newest first, then payments recorded without one (cash, bank transfer,
    or a provider whose payment events carry no payment id), newest first;
    payments of fees (the daily run's fee charges, ids
    ``<plan>:fee-charge:...``) come last of all, so a refund pays back
    installments' money before fee payments. Each is refunded up to what
    is left of it. Refunds already recorded are taken to have come off the
    payments in that same order.

    .. versionchanged:: 0.2.0
       Fee payments come last (they came first when they were the newest).

    Returns:
        The instructions, in that order; their amounts add up to *amount*.

    Raises:
        LedgerError: *amount* is in another currency than the ledger, is
            negative, or is more than was paid and not yet refunded.

    .. versionadded:: 0.2.0
    """
    cur = ledger.currency
    if not isinstance(amount, Money) or amount.currency != cur or amount.minor < 0:
        raise LedgerError(f"expected a refund of zero or more in {cur.code}, got {amount!r}")
    if amount.minor > ledger.net_paid.minor:
        raise LedgerError(f"expected a refund of at most the {ledger.net_paid} paid, got {amount}")
    fee_payment = f"{plan_id}:fee-charge:"
    payments = sorted(
        (e for e in ledger if type(e) is PaymentReceived),
        key=lambda e: (not e.id.startswith(fee_payment), e.reference is not None, e.on, e.id),
        reverse=True,
    )
    already = ledger.refunded.minor
    left = amount.minor
    out: list[RefundInstruction] = []
    for payment in payments:
        room = payment.amount.minor
        taken = min(room, already)
        already -= taken
        room -= taken
        part = min(room, left)
        if part <= 0:
            continue
        left -= part
        money = _money(part, cur)
        key = refund_key(plan_id, payment.reference or payment.id, money, purpose=purpose)
        out.append(RefundInstruction(plan_id, payment.id, payment.reference, money, key, reason))
        if not left:
            break
    return tuple(out)
