"""Signals for what a site reacts to: money in, a decline, a late fee, a plan paid in full or cancelled.

Each is sent once per ledger entry, after the store committed the entry
(and after the site's own transaction on ``PAYPLAN["SIGNALS_DATABASE"]``
commits, when the entry was recorded inside one: ``transaction.on_commit``),
whether the entry came from a webhook, the daily run or the booking
lifecycle, through :func:`payplan.django.store`. A repeated webhook records
nothing, so it sends nothing. Every signal is sent with the entry's class as
``sender`` and these arguments:

* ``plan_id``: the plan's id;
* ``plan``: the plan (:class:`payplan.PaymentPlan`, its current version);
* ``entry``: the ledger entry (:class:`payplan.PaymentReceived`,
  :class:`payplan.PaymentFailed`, :class:`payplan.LateFeeAssessed`,
  :class:`payplan.CancellationSettled`; for :data:`plan_paid_in_full`, the
  entry that completed the payments);
* ``ledger``: the plan's ledger just after the write.

.. code-block:: python

    from django.dispatch import receiver
    from payplan.django.signals import payment_received

    @receiver(payment_received)
    def thank_the_client(sender, plan_id, plan, entry, ledger, **kwargs):
        ...

Receivers run with ``send_robust``: one that raises is logged (logger
``payplan.django``) and never undoes what payplan recorded.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["late_fee_assessed", "payment_failed", "payment_received", "plan_cancelled", "plan_paid_in_full"]

payment_received = Signal()
"""Money arrived (:class:`payplan.PaymentReceived`)."""

payment_failed = Signal()
"""A payment attempt failed (:class:`payplan.PaymentFailed`): a decline, an expired card."""

late_fee_assessed = Signal()
"""A late fee was charged (:class:`payplan.LateFeeAssessed`)."""

plan_paid_in_full = Signal()
"""Everything the plan's version asks, fees included, is paid: once per plan version."""

plan_cancelled = Signal()
"""The plan was cancelled and settled (:class:`payplan.CancellationSettled`)."""
