"""The booking lifecycle: one verb per step a booking goes through, over a store and the providers.

A site calls :class:`Bookings` instead of ordering store and provider calls
itself::

    from payplan.bookings import Bookings

    bookings = Bookings(store, {"stripe": stripe_provider}, notifier, contacts=contact_of)
    bookings.book(plan, payer, provider="stripe", on=today, agreement=signed)   # stored, signed, published, deposit
    bookings.amend(plan.id, ExtendDueDate(3, to=later), on=today, by="owner", reason="asked", consent=True)
    bookings.pay_now(plan.id, on=today)                                         # what is owed today
    bookings.refund(plan.id, Money.of("50.00", "USD"), on=today, reason="goodwill", lowers_price=True)
    bookings.cancel_preview(plan.id, on=today)                                  # changes nothing
    bookings.cancel(plan.id, on=today)                                          # settled, stopped, refunded
    bookings.collect(today)                                                     # the nightly run
    bookings.resume()                                                           # finish what a crash cut short

Each step is reserved in the store (:class:`payplan.store.Step`) before it
acts, every provider call in it under its idempotency key, every ledger
entry under a stable id: calling a step again, or :meth:`Bookings.resume`
after a crash anywhere inside it, finishes it once. docs/lifecycle.md walks
through each step and what a crash in the middle of it leaves.

This package imports no provider SDK and no database driver: it works with
whatever store and providers it is given.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from ._bookings import Booking, Bookings
from ._steps import step_key

__all__ = ["Booking", "Bookings", "step_key"]
