"""Entries the store wrote read back through the trusted path exactly as the validating reader reads them.

``payplan.store._codec.trusted_entry`` sets the fields of a document whose
checksum matched without running the validators again; it must give the
same value, of the same types, as ``loads_entry`` (every validator run) for
every kind of entry and every field the entry classes have.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from payplan import InvalidPlanError, LedgerEntry, Money
from payplan._ledger import _ENTRY_TYPES
from payplan._money import to_currency
from payplan.store._codec import dumps_entry, loads_entry, trusted_entry

CURRENCIES = ("USD", "EUR", "JPY", "KWD")


def _value(draw: st.DrawFn, annotation: str, currency: str) -> Any:
    optional = "None" in annotation
    if optional and draw(st.booleans()):
        return None
    if "Money" in annotation:
        return Money(draw(st.integers(1, 10**12)), currency)
    if "date" in annotation:
        return dt.date(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 5000)))
    if "bool" in annotation:
        return draw(st.booleans())
    if "int" in annotation:
        return draw(st.integers(1, 60))
    return draw(st.text(min_size=1, max_size=12))


@st.composite
def entries(draw: st.DrawFn) -> tuple[LedgerEntry, str]:
    """Any entry class, each of its fields set or (when it has a default) left to the default."""
    cls = draw(st.sampled_from(_ENTRY_TYPES))
    currency = draw(st.sampled_from(CURRENCIES))
    values = {}
    for a in attrs.fields(cls):
        if a.default is not attrs.NOTHING and draw(st.booleans()):
            continue
        values[a.name] = _value(draw, str(a.type), currency)
    try:
        entry = cls(**values)
    except (ValueError, TypeError, InvalidPlanError):
        assume(False)
    return entry, currency


class TestTrustedEntries:
    @settings(max_examples=300, deadline=None)
    @given(entries())
    def test_the_trusted_reader_gives_what_the_validating_reader_gives(self, case: tuple[LedgerEntry, str]) -> None:
        entry, code = case
        currency = to_currency(code)
        text = dumps_entry(entry)
        trusted, checked = trusted_entry(text, currency), loads_entry(text, currency)
        assert trusted == checked == entry
        assert type(trusted) is type(entry)
        for a in attrs.fields(type(entry)):
            assert type(getattr(trusted, a.name)) is type(getattr(entry, a.name)), a.name
        assert hash(trusted) == hash(entry)

    def test_a_document_of_another_shape_goes_to_the_validating_reader(self) -> None:
        """An unknown field, or a field missing without a default, is not set blindly: the validating reader decides."""
        currency = to_currency("USD")
        text = '{"amount_minor":100,"fee_id":null,"id":"p1","kind":"payment","method":null,"on":"2026-12-01",' \
               '"reference":null,"surprise":1}'
        try:
            got: Any = trusted_entry(text, currency)
        except (ValueError, KeyError, TypeError) as exc:
            got = exc
        try:
            expected: Any = loads_entry(text, currency)
        except (ValueError, KeyError, TypeError) as exc:
            expected = exc
        assert type(got) is type(expected)
        missing = '{"id":"p1","kind":"payment","on":"2026-12-01"}'  # no amount: the validators refuse it
        with pytest.raises((ValueError, KeyError, TypeError), match="amount"):
            trusted_entry(missing, currency)

    def test_a_refund_written_before_lowers_price_reads_as_the_validating_reader_reads_it(self) -> None:
        """A document from before a field existed gets the value the validating reader gives it (False)."""
        currency = to_currency("USD")
        old = '{"amount_minor":100,"id":"r1","kind":"refund","on":"2026-12-01","reason":"","reference":null}'
        got = trusted_entry(old, currency)
        assert got == loads_entry(old, currency)
        assert got.lowers_price is False  # type: ignore[union-attr]
