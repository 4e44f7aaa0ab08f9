"""The package root is the API: sorted, complete, documented, SDK-free."""

from __future__ import annotations

import subprocess
import sys

import payplan


class TestPublicAPI:
    def test_all_is_sorted(self) -> None:
        """__all__ is sorted, so additions are easy to review."""
        assert payplan.__all__ == sorted(payplan.__all__)

    def test_all_is_complete(self) -> None:
        """Every public attribute of the package root is in __all__, and nothing else (once each was loaded)."""
        for name in payplan.__all__:
            getattr(payplan, name)  # loaded on first use
        public = {
            name for name, value in vars(payplan).items()
            if not name.startswith("_") and not isinstance(value, type(payplan)) and name != "annotations"
        }
        assert public == set(payplan.__all__)
        assert set(dir(payplan)) >= set(payplan.__all__)

    def test_lazy_names_are_the_type_checkers_names(self) -> None:
        """The names loaded on first use are exactly __all__, each from the module the TYPE_CHECKING imports name."""
        import ast
        from pathlib import Path

        tree = ast.parse(Path(payplan.__file__).read_text(encoding="utf-8"))
        guarded = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))
        imported = {
            a.name: node.module
            for node in guarded.body
            if isinstance(node, ast.ImportFrom) and node.level == 1  # (not typing's Any)
            for a in node.names
        }
        lazy = {name: module for module, names in payplan._MODULES.items() for name in names}
        assert lazy == imported
        assert sorted(lazy) == payplan.__all__

    def test_import_loads_only_the_package(self) -> None:
        """`import payplan` loads no submodule, and no store, provider, reports or documents module."""
        code = "import sys, payplan; print(sorted(m for m in sys.modules if m.startswith('payplan')))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "['payplan']"

    def test_a_name_loads_only_what_it_needs(self) -> None:
        """Building a plan loads the schedule's modules, never the store, SQLAlchemy, the providers or the reports."""
        code = (
            "import sys, datetime as dt, payplan; "
            "payplan.PaymentPlan.with_deposit('p', payplan.Money.of('900.00', 'USD'), installments=2, "
            "deposit=payplan.DepositRule.percent(25), booked=dt.date(2027, 1, 1), session=dt.date(2027, 6, 1)); "
            "print(' '.join(sorted(sys.modules)))"
        )
        loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
        assert "payplan._plan" in loaded
        heavy = {
            "sqlalchemy", "stripe", "square", "paypalrestsdk", "payplan.store", "payplan.providers",
            "payplan._reports", "payplan._documents", "payplan.serialization", "babel", "icalendar",
        }
        assert loaded & heavy == set()

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        """A name the package does not have raises AttributeError naming it, as for any module."""
        import pytest

        with pytest.raises(AttributeError, match="'payplan' has no attribute 'Mony'"):
            payplan.Mony  # type: ignore[attr-defined]  # noqa: B018

    def test_every_public_name_has_a_docstring(self) -> None:
        """Every exported class and function documents itself."""
        undocumented = [
            name for name in payplan.__all__
            if callable(getattr(payplan, name)) and not (getattr(payplan, name).__doc__ or "").strip()
        ]
        assert undocumented == []

    def test_import_loads_no_provider_sdk(self) -> None:
        """`import payplan` (and payplan.providers) imports no provider SDK."""
        code = (
            "import sys, payplan, payplan.providers, payplan.cli; "
            "bad = [m for m in ('stripe', 'square', 'paypalrestsdk', 'paypalserversdk', 'icalendar') if m in sys.modules]; "
            "print(','.join(bad))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == ""


class TestVersion:
    def test_the_version_is_the_release_the_markers_name(self) -> None:
        """`versionadded`/`versionchanged` markers never name a release after the one being built, and the
        package says the same version as pyproject.toml."""
        import pathlib
        import re
        import tomllib

        root = pathlib.Path(__file__).parent.parent
        declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
        assert payplan.__version__ == declared

        def release(text: str) -> tuple[int, ...]:
            return tuple(int(p) for p in re.match(r"\d+(\.\d+)*", text).group(0).split("."))  # type: ignore[union-attr]

        named = {
            m for path in (root / "src" / "payplan").rglob("*.py")
            for m in re.findall(r"\.\. version(?:added|changed):: (\S+)", path.read_text())
        }
        assert named, "no markers found: the pattern is wrong"
        assert all(release(m) <= release(declared) for m in named), (named, declared)
