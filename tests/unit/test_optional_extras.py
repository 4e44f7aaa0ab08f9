"""Without an optional extra, the features that need it say which extra to install.

These tests run in the core-only environment of `make test` (`.venv-core`,
no SDK and no optional package) and skip, with the reason, where the package
is installed.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util

import pytest

from payplan import REFERENCE_CATALOG_TOML, Catalog, PayplanError, ics_feed

needs_absent = pytest.mark.skipif(
    importlib.util.find_spec("icalendar") is not None,
    reason="icalendar is installed; this checks the message shown without payplan[reports]",
)


@needs_absent
def test_ics_feed_without_icalendar_names_the_extra() -> None:
    """ics_feed without icalendar raises a PayplanError naming payplan[reports]."""
    plan = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"].quote(
        "x", booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15)
    )
    with pytest.raises(PayplanError, match=r"payplan\[reports\]"):
        ics_feed([plan])


@pytest.mark.parametrize(("module", "sdk"), [("stripe", "stripe"), ("square", "square")])
def test_provider_packages_need_their_sdk(module: str, sdk: str) -> None:
    """Importing the Stripe or Square adapter without its SDK fails with ImportError, nothing stranger."""
    if importlib.util.find_spec(sdk) is not None:
        pytest.skip(f"{sdk} is installed; this checks the import without it")
    with pytest.raises(ImportError):
        importlib.import_module(f"payplan.providers.{module}")


def test_paypal_package_imports_without_its_sdks() -> None:
    """The PayPal adapter module imports without either PayPal SDK; only a binding needs one."""
    import sys

    importlib.import_module("payplan.providers.paypal")
    if importlib.util.find_spec("paypalrestsdk") is None:
        assert "paypalrestsdk" not in sys.modules
        assert "paypalserversdk" not in sys.modules
