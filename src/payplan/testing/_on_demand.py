"""A sandbox provider that charges only when asked, as the daily run expects of on-demand providers."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from ..exceptions import ProviderRequestError
from ..providers import Capability, ProviderEvent
from ._sandbox import SandboxProvider

__all__ = ["OnDemandSandboxProvider"]


class OnDemandSandboxProvider(SandboxProvider):
    """A :class:`SandboxProvider` without autopay: nothing is charged unless :meth:`charge` is called.

    It declares :attr:`~payplan.providers.Capability.CHARGE_NOW` but not
    ``AUTOPAY``, so :func:`payplan.engine.run_due` charges its plans itself
    (installments when due, declines again on the retry ladder), the way it
    charges any provider that charges on demand. :meth:`advance_to` only
    moves the clock. Scripted cards, faults, idempotency and webhooks are
    the sandbox's own.

    .. versionadded:: 0.2.0
    """

    capabilities: ClassVar[frozenset[Capability]] = SandboxProvider.capabilities - {Capability.AUTOPAY}

    def advance_to(self, date: dt.date) -> tuple[ProviderEvent, ...]:
        """Move the clock to *date*; charge nothing (the caller charges).

        Raises:
            ProviderRequestError: *date* is before the sandbox's current date.
        """
        if type(date) is not dt.date or date < self.today:
            raise ProviderRequestError(
                f"expected a date on or after {self.today.isoformat()}, got {date!r}", provider=self.name
            )
        self._today = date
        return ()
