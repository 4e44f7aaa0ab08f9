"""Guardrails: is a plan lawful where it is sold?

Check a plan (:func:`check`), a catalog tier (:func:`check_tier`) or a
client's proposal against the rules of the place it is sold
(:class:`Sale`: the business's ISO 3166 country or subdivision, whether the
client is a consumer, how the contract was made, and the facts payplan
cannot derive). Each :class:`Finding` carries the rule's stable id and
version, the jurisdiction, what in the plan trips it with the number and the
threshold, the severity (refuse, warn, disclose), what to do instead and the
source.

The rules are data: ``rules.toml`` in this package, reviewed and versioned,
read on first use (:func:`rules`). A rule resting on a secondary or
uncertain source may warn or disclose, never refuse: the loader refuses a
file that says otherwise. Not legal advice.

At signing, :class:`EvidencePack` freezes what a chargeback or a regulator
asks for: the terms' hash, the exact cancellation and late-fee words, the
rules checked and their outcomes, the stored-card consent, the first payment
and the client's approval.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from ._check import (
    GuardrailError,
    check,
    check_tier,
    refusals,
    retained_in_window,
    withdrawal_ends,
    withdrawal_period,
)
from ._evidence import Approval, EvidencePack
from ._model import Basis, Contract, Finding, Outcome, PaymentMethod, Rule, RuleSet, Sale, Severity
from ._rules import load_rules, rules
from ._signing import FirstPayment, Sca, Signing, StoredCredentialConsent

__all__ = [
    "Approval",
    "Basis",
    "Contract",
    "EvidencePack",
    "Finding",
    "FirstPayment",
    "GuardrailError",
    "Outcome",
    "PaymentMethod",
    "Rule",
    "RuleSet",
    "Sale",
    "Sca",
    "Severity",
    "Signing",
    "StoredCredentialConsent",
    "check",
    "check_tier",
    "load_rules",
    "refusals",
    "retained_in_window",
    "rules",
    "withdrawal_ends",
    "withdrawal_period",
]
