"""The checks the Provider base class makes for every adapter that calls ``check``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

import pytest

from payplan import Money, PaymentPlan, UnsupportedByProviderError
from payplan.providers import Capability, Payer, Provider, ProviderBinding, ProviderEvent


class _CadenceOnly(Provider):
    """An adapter that charges uneven amounts but only on one fixed cadence."""

    name: ClassVar[str] = "cadence-only"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.UNEVEN_AMOUNTS})

    def publish(self, plan: PaymentPlan, payer: Payer) -> ProviderBinding:  # pragma: no cover - not called
        raise NotImplementedError

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:  # pragma: no cover
        raise NotImplementedError


def _custom(dates: list[dt.date]) -> PaymentPlan:
    return PaymentPlan.custom(
        "p-1", [(d, Money.of("500.00", "USD")) for d in dates], booked=dates[0], session=dt.date(2027, 6, 1)
    )


class TestDefaultCheck:
    def test_irregular_dates_refused_without_arbitrary_dates(self) -> None:
        """Equal parts on dates no cadence produces are refused when ARBITRARY_DATES is not declared."""
        plan = _custom([dt.date(2026, 12, 1), dt.date(2027, 1, 10), dt.date(2027, 2, 3), dt.date(2027, 3, 29)])
        with pytest.raises(UnsupportedByProviderError, match="one fixed cadence"):
            _CadenceOnly().check(plan)

    @pytest.mark.parametrize(
        "dates",
        [
            [dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)],
            [dt.date(2026, 12, 1), dt.date(2026, 12, 15), dt.date(2026, 12, 29), dt.date(2027, 1, 12)],
            [dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30)],
        ],
    )
    def test_cadence_dates_accepted(self, dates: list[dt.date]) -> None:
        """Monthly (month-end anchored) and every-two-weeks dates pass the default check."""
        _CadenceOnly().check(_custom(dates))

    @pytest.mark.parametrize("booked", [dt.date(2027, 1, 31), dt.date(2024, 1, 29), dt.date(2026, 12, 1)])
    @pytest.mark.parametrize("cadence", ["weekly", "biweekly", "semimonthly", "monthly", "bimonthly"])
    def test_deposit_and_cadence_plans_accepted(self, booked: dt.date, cadence: str) -> None:
        """A deposit plan on any cadence passes, month-end bookings included (anchored on the booking)."""
        plan = PaymentPlan.with_deposit(
            "p-1", Money.of("2000.00", "USD"), booked=booked, session=booked + dt.timedelta(days=400),
            installments=3, dates=cadence,
        )
        _CadenceOnly().check(plan)
