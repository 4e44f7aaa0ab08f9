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
        """Every public attribute of the package root is in __all__, and nothing else."""
        public = {
            name for name, value in vars(payplan).items()
            if not name.startswith("_") and not isinstance(value, type(payplan)) and name != "annotations"
        }
        assert public == set(payplan.__all__)

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
