"""The retry ladder for failed charges (dunning), as agreed in the terms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from attrs import field, frozen

from .exceptions import InvalidPlanError

__all__ = ["RetryPolicy"]


def _as_days(items: Iterable[int]) -> tuple[int, ...]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise InvalidPlanError(f"expected retry days as a list of whole days such as [1, 3, 7], got {items!r}")
    return tuple(items)


def _whole_days(what: str) -> Callable[[object, object, int], None]:
    def check(_: object, __: object, value: int) -> None:
        if type(value) is not int or not 0 <= value <= 365:
            raise InvalidPlanError(f"expected {what} as whole days from 0 to 365, got {value!r}")

    return check


@frozen
class RetryPolicy:
    """When a declined or failed charge is tried again, and when to stop.

    *days* counts from the first failed attempt on an installment: with the
    default ``(1, 3, 7)`` a charge declined on the 1st is retried on the
    2nd, the 4th and the 8th, each retry under its own idempotency key.
    Retrying stops when the installment is paid, when the ladder ends
    (the plan then escalates), or when the next retry would fall fewer
    than *stop_days_before* days before the session. *card_warning_days*
    before an installment due after the client's card expires, the client
    is warned to update it. ``RetryPolicy(days=())`` never retries.

    Attributes:
        days: Days after the first failure on which to retry, increasing.
        stop_days_before: No retry closer than this many days to the session.
        card_warning_days: How early the card-expiry warning goes out.

    .. versionadded:: 0.1.0
    """

    days: tuple[int, ...] = field(default=(1, 3, 7), converter=_as_days)
    stop_days_before: int = field(default=2, validator=_whole_days("stop_days_before"))
    card_warning_days: int = field(default=14, validator=_whole_days("card_warning_days"))

    @days.validator
    def _increasing(self, _: object, value: tuple[int, ...]) -> None:
        if (
            any(type(d) is not int or d < 1 or d > 365 for d in value)
            or list(value) != sorted(set(value))
            or len(value) > 12
        ):
            raise InvalidPlanError(
                f"expected retry days as at most 12 increasing whole days from 1 to 365, got {list(value)!r}"
            )

    def retry_on(self, first_failure: dt.date, retry: int) -> dt.date | None:
        """The day of retry number *retry* (1-based) after a first failure, or None past the ladder's end."""
        if not 1 <= retry <= len(self.days):
            return None
        return first_failure + dt.timedelta(days=self.days[retry - 1])

    def too_close(self, day: dt.date, session: dt.date) -> bool:
        """Whether *day* is too close to *session* for a charge attempt."""
        return (session - day).days < self.stop_days_before

    def describe(self) -> str:
        """The ladder in words, as the agreement prints it."""
        if not self.days:
            return "A failed payment is not retried automatically."
        words = ", ".join(f"{d} day{'s' if d != 1 else ''}" for d in self.days)
        return (
            f"A failed payment is retried {words} after the first failure, "
            f"never less than {self.stop_days_before} days before the session."
        )
