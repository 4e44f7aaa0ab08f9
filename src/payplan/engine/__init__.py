"""The collections engine: one idempotent daily run over the store.

:func:`run_due` records the late fees due, charges what is due where the
provider charges on demand (retrying declines on the plan's retry ladder),
and sends the reminders and dunning notices due, for every active plan in
a store, as of one date. Running it twice, or after a crash, does nothing
twice. Call it from the scheduler you already have (cron, a systemd timer,
Celery beat, RQ): payplan ships no scheduler and no queue. See
``docs/engine.md``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from ._run import RESEND_WITHIN, Action, PlanFailure, RunSummary, finished, run_due, run_plan, stale

__all__ = ["Action", "PlanFailure", "RESEND_WITHIN", "RunSummary", "finished", "run_due", "run_plan", "stale"]
