"""Every ```python block in the README and docs/ runs, so examples cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Optional packages a docs block may need, by the name that shows it needs them.
OPTIONAL = {
    "stripe": "stripe",
    "square": "square",
    "paypal": "paypalrestsdk",
    "paypalrestsdk": "paypalrestsdk",
    "paypalserversdk": "paypalserversdk",
    "icalendar": "icalendar",
    "flask": "flask",
    "django": "django",
    "fastapi": "fastapi",
    "starlette": "starlette",
}
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for n, match in enumerate(BLOCK.finditer(text), 1):
            found.append((page.relative_to(ROOT).as_posix(), n, match.group(1)))
    return found


@pytest.mark.parametrize(("page", "n", "code"), blocks(), ids=lambda v: str(v) if not isinstance(v, str) or "\n" not in v else "")
def test_block_runs(page: str, n: int, code: str) -> None:
    """The code block runs without error."""
    for sdk in OPTIONAL:
        if re.search(rf"^\s*(import|from) {sdk}\b|payplan\.providers\.{sdk}", code, re.M | re.I):
            pytest.importorskip(OPTIONAL[sdk], reason=f"{page} block {n} needs the optional {OPTIONAL[sdk]!r} package")
    if re.search(r"sqlite:///|postgresql\+psycopg|payplan\.store\.sql", code):
        pytest.importorskip("sqlalchemy", reason=f"{page} block {n} needs payplan[store] (SQLAlchemy)")
    if "settings.configure(" in code:
        # Django's settings are configured once per process (and payplan.django's own tests configure
        # them for this one): a block that configures a project of its own runs in an interpreter of its own.
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{page} block {n} failed:\n{done.stdout}\n{done.stderr}"
        return
    exec(compile(code, f"{page}#block{n}", "exec"), {"__name__": "__docs__"})


def test_readme_output_matches() -> None:
    """The README's first example prints what its comments say."""
    import contextlib
    import io

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = BLOCK.search(text)
    assert code is not None
    expected = [line[2:] for line in code.group(1).splitlines() if line.startswith("# ")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code.group(1), {})
    assert out.getvalue().splitlines() == expected
