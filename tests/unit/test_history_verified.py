"""A plan history document is verified whole: every version must be what its record makes (issue 11, item 6)."""

from __future__ import annotations

import datetime as dt

import pytest

from payplan import (
    AddAddOn,
    DepositRule,
    ExtendDueDate,
    Money,
    PaymentPlan,
    PlanHistory,
    SerializationError,
    SkipPayment,
    dump_history,
    load_history,
)

D = dt.date


def _history() -> PlanHistory:
    """Pack A ($500 deposit, then $500 on Jan 1, Feb 1, Mar 1), amended three times."""
    plan = PaymentPlan.with_deposit(
        "p", Money(200_000, "USD"), booked=D(2026, 12, 1), session=D(2027, 4, 15), installments=3,
        deposit=DepositRule.fixed(Money(50_000, "USD")), dates="monthly", final_due_days_before=14,
    )
    h = PlanHistory.start(plan)
    h = h.apply(ExtendDueDate(2, D(2027, 1, 15)), by="Sam", reason="asked", on=D(2026, 12, 10))
    h = h.apply(AddAddOn("Album", Money(10_000, "USD")), by="Sam", reason="album", on=D(2026, 12, 11), consent=True)
    return h.apply(SkipPayment(2, "next"), by="Sam", reason="asked", on=D(2026, 12, 12))


class TestTheIssueExample:
    def test_an_edited_middle_version_is_refused_naming_it(self) -> None:
        """Moving $100 between two lines of version 2 keeps it a valid plan, but not the one agreed."""
        doc = dump_history(_history())
        lines = doc["versions"][1]["plan"]["installments"]
        lines[1]["amount_minor"] += 10_000
        lines[2]["amount_minor"] -= 10_000
        with pytest.raises(SerializationError) as err:
            load_history(doc)
        message = str(err.value)
        assert "document.versions[1] (version 2) is not what document.records[0] makes" in message
        assert "installments[1].amount is 600.00 USD in the document, 500.00 USD by the replay" in message

    def test_the_unedited_document_loads(self) -> None:
        """The same document, untouched, loads back equal."""
        h = _history()
        assert load_history(dump_history(h)) == h


class TestEveryVersionAndRecord:
    def test_an_edited_middle_record_is_refused_at_the_version_it_makes(self) -> None:
        """An amendment changed in record 0 no longer makes version 2."""
        doc = dump_history(_history())
        doc["records"][0]["amendment"]["to"] = "2027-01-20"
        with pytest.raises(SerializationError, match=r"document\.versions\[1\] .*installments\[1\]\.due"):
            load_history(doc)

    def test_a_field_other_than_the_schedule_is_compared_too(self) -> None:
        """A version whose tier was edited is refused, naming the field."""
        doc = dump_history(_history())
        doc["versions"][2]["plan"]["tier"] = "Gold"
        with pytest.raises(SerializationError, match=r"versions\[2\] .*tier is 'Gold' in the document, None by"):
            load_history(doc)

    def test_a_record_that_no_longer_replays_is_named(self) -> None:
        """A record whose amendment is refused on replay is named with the reason."""
        doc = dump_history(_history())
        doc["records"][2]["amendment"]["number"] = 1
        with pytest.raises(SerializationError, match=r"document\.records\[2\]: the record does not replay"):
            load_history(doc)

    def test_records_out_of_date_order_are_refused(self) -> None:
        """Amendments are recorded in date order; a record dated before the one before it is refused."""
        doc = dump_history(_history())
        doc["records"][2]["on"] = "2026-12-09"
        with pytest.raises(SerializationError, match=r"records\[2\]\.on: expected a date on or after .*2026-12-11"):
            load_history(doc)


class TestDocumentsFromBeforeLineKeys:
    def _keyless(self) -> dict[str, object]:
        doc = dump_history(_history())
        for version in doc["versions"]:
            for line in version["plan"]["installments"]:
                line.pop("key", None)
        return doc

    def test_a_history_without_keys_still_loads_with_numbers_as_line_ids(self) -> None:
        """Today's documents carry no keys: they load, each line's id its number (as their fee ids were)."""
        h = load_history(self._keyless())
        assert len(h.versions) == 4
        assert [i.line_id for i in h.current.installments] == [str(n) for n in range(1, len(h.current.installments) + 1)]

    def test_an_edited_version_without_keys_is_still_refused(self) -> None:
        """Only the keys are left out of the comparison: an edited amount is refused as before."""
        doc = self._keyless()
        lines = doc["versions"][2]["plan"]["installments"]  # type: ignore[index]
        lines[1]["amount_minor"] += 1
        lines[2]["amount_minor"] -= 1
        with pytest.raises(SerializationError, match=r"document\.versions\[2\] .*installments\[1\]\.amount"):
            load_history(doc)
