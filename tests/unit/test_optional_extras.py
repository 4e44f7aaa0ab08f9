"""Without an optional extra, payplan imports and the features that need it say which extra to install.

Each check runs in a fresh interpreter in which the optional packages are
made unimportable (``sys.modules[name] = None``, which makes ``import name``
raise ``ImportError`` as if the package were not installed), so the checks
run, and can fail, in every environment: the full one of ``make test`` and
the core-only one alike.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

OPTIONAL = (
    "stripe", "square", "paypalrestsdk", "paypalserversdk", "cryptography", "sqlalchemy", "alembic", "psycopg",
    "icalendar", "tqdm", "flask", "flask_wtf", "django", "starlette", "fastapi",
)


def run_without(absent: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run *code* in a new interpreter where the packages *absent* cannot be imported."""
    prelude = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in absent)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
    )


def test_payplan_imports_without_any_extra() -> None:
    """`import payplan` and the CLI's module need no optional package, and load none of them."""
    done = run_without(OPTIONAL, """
        import payplan, payplan.cli, payplan.providers, payplan.store, payplan.providers.paypal
        loaded = sorted(n for n in sys.modules if n.split(".")[0] in OPTIONAL and sys.modules[n] is not None)
        print("loaded:", loaded)
    """.replace("OPTIONAL", repr(OPTIONAL)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded: []"


def test_ics_feed_without_icalendar_names_the_extra() -> None:
    """ics_feed without icalendar raises a PayplanError naming payplan[reports]."""
    done = run_without(("icalendar",), """
        import datetime as dt
        from payplan import REFERENCE_CATALOG_TOML, Catalog, PayplanError, ics_feed
        plan = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"].quote(
            "x", booked=dt.date(2026, 12, 1), session=dt.date(2027, 4, 15))
        try:
            ics_feed([plan])
        except PayplanError as exc:
            print("refused:", exc)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused:")
    assert "payplan[reports]" in done.stdout


def test_the_sql_store_without_sqlalchemy_names_the_extra() -> None:
    """Opening a SQL store without SQLAlchemy raises a StoreError naming payplan[store]."""
    done = run_without(("sqlalchemy", "alembic"), """
        from payplan.exceptions import StoreError
        from payplan.store import Store
        try:
            Store.open("sqlite://")
        except StoreError as exc:
            print("refused:", exc)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused:")
    assert "payplan[store]" in done.stdout


@pytest.mark.parametrize(("module", "sdk"), [("stripe", "stripe"), ("square", "square")])
def test_provider_packages_need_their_sdk(module: str, sdk: str) -> None:
    """Importing the Stripe or Square adapter without its SDK fails with an ImportError, nothing stranger."""
    done = run_without((sdk,), f"""
        try:
            import payplan.providers.{module}
        except ImportError as exc:
            print("refused:", exc)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused:")


def test_paypal_package_imports_without_its_sdks() -> None:
    """The PayPal adapter module imports without either PayPal SDK, and loads neither."""
    done = run_without(("paypalrestsdk", "paypalserversdk"), """
        import payplan.providers.paypal
        print(sorted(n for n in ("paypalrestsdk", "paypalserversdk") if sys.modules[n] is not None))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
