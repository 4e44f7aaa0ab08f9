"""The TOML catalog: the reference table and clear errors for bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from payplan import REFERENCE_CATALOG_TOML, Catalog, InvalidPlanError, Money

D = dt.date


class TestReferenceCatalog:
    def test_reference_table_is_expressible(self) -> None:
        """Pack A, Pack B and Custom load with the brief's fees and deposit rule."""
        cat = Catalog.from_toml(REFERENCE_CATALOG_TOML)
        assert [t.name for t in cat] == ["Session Pack A", "Session Pack B", "Custom"]
        assert cat["session pack a"].fee == Money.of("2000.00", "USD")
        assert cat["Custom"].fee is None
        assert cat["Session Pack B"].terms.deposit.deposit_for(Money.of("3000", "USD")) == Money.of("750", "USD")

    def test_quote_pack_a(self) -> None:
        """A tier quotes the reference schedule."""
        plan = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"].quote(
            "q", booked=D(2026, 12, 1), session=D(2027, 4, 15)
        )
        assert [(i.due, i.amount.minor) for i in plan.installments] == [
            (D(2026, 12, 1), 50000), (D(2027, 1, 1), 50000), (D(2027, 2, 1), 50000), (D(2027, 3, 1), 50000),
        ]
        assert plan.tier == "Session Pack A"

    def test_custom_needs_an_agreed_fee(self) -> None:
        """Custom has no fee: quoting it without one says so."""
        custom = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Custom"]
        with pytest.raises(InvalidPlanError, match="pass the agreed fee"):
            custom.quote("q", booked=D(2026, 12, 1), session=D(2027, 4, 15))
        plan = custom.quote("q", booked=D(2026, 12, 1), session=D(2027, 4, 15), fee=Money.of("1200", "USD"), installments=2)
        assert plan.total == Money.of("1200", "USD")

    def test_count_not_offered(self) -> None:
        """A tier refuses installment counts it does not offer."""
        with pytest.raises(InvalidPlanError, match="offers 3 installment"):
            Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"].quote(
                "q", booked=D(2026, 12, 1), session=D(2027, 4, 15), installments=5
            )

    def test_unknown_tier_lists_the_known_ones(self) -> None:
        """Looking up a missing tier names the ones there are."""
        with pytest.raises(InvalidPlanError, match="'Session Pack A'"):
            Catalog.from_toml(REFERENCE_CATALOG_TOML)["Pack Z"]

    def test_loads_from_a_path(self, tmp_path: Path) -> None:
        """from_toml reads a file path too."""
        f = tmp_path / "catalog.toml"
        f.write_text(REFERENCE_CATALOG_TOML)
        assert len(Catalog.from_toml(f)) == 3
        assert len(Catalog.from_toml(str(f))) == 3


class TestBadCatalogs:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ('[[tier]]\nname = "A"\nfee = 20.5\n', "float"),
            ('[[tier]]\nname = "A"\nfee = "20.555"\n', "decimal place"),
            ('[catalog]\ncurrency = "ZZZ"\n[[tier]]\nname = "A"\n', "ISO 4217"),
            ('[[tier]]\nname = "A"\ncolour = "red"\n', "unknown key"),
            ('[[tier]]\nname = "A"\ncadence = "daily"\n', "expected a cadence"),
            ('[[tier]]\nname = "A"\n[[tier]]\nname = "a"\n', "unique tier names"),
            ("x = [", "invalid TOML"),
            ('[catalog]\ncurrency = "USD"\n', "one or more"),
            ('[[tier]]\nname = "A"\ndeposit = { minimum = "5" }\n', "needs a percent"),
        ],
    )
    def test_errors_name_the_problem(self, text: str, message: str) -> None:
        """Every malformed catalog raises InvalidPlanError saying what is wrong."""
        with pytest.raises(InvalidPlanError, match=message):
            Catalog.from_toml(text)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is a payplan error, not an OSError."""
        with pytest.raises(InvalidPlanError, match="cannot read catalog"):
            Catalog.from_toml(tmp_path / "nope.toml")
