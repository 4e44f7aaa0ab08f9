"""Test doubles for payplan users: a sandbox provider and local fakes of Stripe, Square and PayPal.

Everything here runs without a network and without an account, so a site
can test its flows and its webhook endpoint offline:

* :class:`SandboxProvider` (this package): the whole
  :class:`~payplan.providers.Provider` interface in memory, driven by a date
  the caller advances. ``payplan demo`` runs on it.
  :class:`OnDemandSandboxProvider` is the same without autopay: the daily
  run (:func:`payplan.engine.run_due`) charges it.
* :mod:`payplan.testing.server`: :class:`~payplan.testing.server.FakeServer`,
  a recording HTTP server on ``127.0.0.1`` with fault injection (a 500, a
  dropped connection, a response lost after the work was done).
* :mod:`payplan.testing.stripe`, :mod:`payplan.testing.square`,
  :mod:`payplan.testing.paypal`: stateful fakes of the slice of each
  provider's API payplan uses, served by a ``FakeServer`` so the real SDK
  (``stripe.StripeClient``, ``square.Square``, ``paypalrestsdk.Api``) drives
  them, plus payload builders that produce correctly signed, real-shaped
  webhook deliveries for each provider.

The fakes import no provider SDK; ``payplan.testing.paypal`` needs
``cryptography`` (the ``paypal`` extra) only when a signer is created.

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   A package: the Stripe, Square and PayPal fakes and their webhook builders
   moved here from payplan's own test suite.
"""

from __future__ import annotations

from ._on_demand import OnDemandSandboxProvider
from ._sandbox import SandboxCall, SandboxCard, SandboxFault, SandboxProvider

__all__ = ["OnDemandSandboxProvider", "SandboxCall", "SandboxCard", "SandboxFault", "SandboxProvider"]
