"""Stripe Checkout in setup mode: the page that collects a payer's card, and reading the payer back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from ...exceptions import ProviderRequestError
from .. import Payer
from ._mapping import META_PLAN, NAME

#: The placeholder Stripe replaces with the session's id in a success URL.
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


@frozen
class Checkout:
    """A Stripe Checkout page (``mode="setup"``) where a client saves the card a plan is charged to.

    Made by :meth:`StripeProvider.start_checkout
    <payplan.providers.stripe.StripeProvider.start_checkout>`; send the
    client to :attr:`url` (a redirect). Stripe sends them back to the
    success URL, where :meth:`StripeProvider.finish_checkout
    <payplan.providers.stripe.StripeProvider.finish_checkout>` reads the
    :class:`~payplan.providers.Payer`.

    Attributes:
        url: The page on Stripe's site to send the client to.
        session_id: The Checkout Session (``cs_...``).
        customer_id: The Stripe customer the card is saved on (``cus_...``).
        expires_at: When the page stops taking the card (24 hours after it
            was made, Stripe's default).

    .. versionadded:: 0.3.0
    """

    url: str
    session_id: str
    customer_id: str
    expires_at: dt.datetime


def _id_of(value: object) -> str | None:
    """An id, or the id of an expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def refuse(message: str, code: str) -> ProviderRequestError:
    """A refusal of a Checkout Session, with *code* as ``provider_code`` (not raised)."""
    return ProviderRequestError(message, provider=NAME, provider_code=code)


def payer_of(session: Mapping[str, Any], intent: Mapping[str, Any] | None, plan_id: str) -> Payer:
    """The payer a completed setup-mode Checkout Session of *plan_id* saved.

    Raises:
        ProviderRequestError: the session is another plan's or not setup
            mode (``checkout_foreign``), still open (``checkout_open``),
            expired (``checkout_expired``), or its SetupIntent did not
            succeed (``checkout_setup_failed``).
    """
    ident = session.get("id")
    meta = session.get("metadata")
    owner = meta.get(META_PLAN) if isinstance(meta, Mapping) else None
    if owner != plan_id or session.get("mode") != "setup":
        raise refuse(
            f"expected a setup-mode Checkout Session of plan {plan_id}, {ident} is "
            + (f"of plan {owner}" if owner else "of no payplan plan")
            + f" in mode {session.get('mode')!r}",
            "checkout_foreign",
        )
    status = session.get("status")
    if status == "expired":
        raise refuse(
            f"expected a complete Checkout Session, {ident} of plan {plan_id} expired before a card was saved: "
            "start a new one", "checkout_expired",
        )
    if status != "complete":
        raise refuse(
            f"expected a complete Checkout Session, {ident} of plan {plan_id} is {status!r}: "
            "the client has not saved a card yet (send them back to its page)", "checkout_open",
        )
    customer = _id_of(session.get("customer"))
    method = _id_of(intent.get("payment_method")) if intent is not None else None
    if customer is None or intent is None or intent.get("status") != "succeeded" or method is None:
        got = "no SetupIntent" if intent is None else f"SetupIntent {intent.get('id')} {intent.get('status')!r}"
        raise refuse(
            f"expected Checkout Session {ident} of plan {plan_id} to hold a customer and a succeeded SetupIntent "
            f"with a payment method, got customer {customer!r} and {got}", "checkout_setup_failed",
        )
    details = session.get("customer_details")
    email = details.get("email") if isinstance(details, Mapping) else None
    return Payer(customer_id=customer, payment_method_id=method, email=email if isinstance(email, str) else None)
