"""The example booking site, served on 127.0.0.1 for the browser and its tests.

The site lives in ``examples/booking_site``; these fixtures import it from
there, serve it with werkzeug's threaded server on a free port, and drive it
in Debian's headless Chromium through Playwright (``scripts/chromium.sh``
installs the package where it is missing; nothing is downloaded here).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Where the browser tests write their screenshots (one PNG per page visited).
SCREENSHOTS = Path(os.environ.get("PAYPLAN_SCREENSHOTS", ROOT / "build" / "screenshots"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytest.importorskip("flask", reason="the example site needs Flask (the 'site' extra)")
pytest.importorskip("sqlalchemy", reason="the example site runs on the SQL store (the 'store' extra)")
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


class LiveSite:
    """A running copy of the site: its base URL, its Flask app and its :class:`booking_site.Site`."""

    def __init__(self, tmp: Path, *, today: dt.date, seed_until: dt.date | None = None) -> None:
        from booking_site import Settings, create_app, site_of
        from booking_site.demo import seed
        from werkzeug.serving import make_server

        self.app = create_app(Settings(database=f"sqlite:///{tmp / 'site.db'}", today=today, secret_key="test"))
        self.site = site_of(self.app)
        if seed_until is not None:
            seed(self.site, until=seed_until)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.site.close()


@pytest.fixture
def live_site(tmp_path: Path) -> Iterator[LiveSite]:
    """The site on a fresh SQLite store, its clock on 2026-12-01, no bookings yet."""
    running = LiveSite(tmp_path, today=dt.date(2026, 12, 1))
    yield running
    running.close()


def chromium_path() -> str | None:
    found = os.environ.get("PAYPLAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and os.access(found, os.X_OK) else None


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A Playwright page in headless Chromium (a new, empty user data directory)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium binary: run scripts/chromium.sh (make test does) to install Debian's package")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=path, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 900}, locale="en-US", timezone_id="America/New_York",
        )
        context.set_default_timeout(15_000)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page
        finally:
            context.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Any:
    """``shots(page, "name")`` writes a full-page screenshot to build/screenshots/<test>/NN-name.png."""
    folder = SCREENSHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = [0]

    def take(page: Any, name: str) -> Path:
        count[0] += 1
        path = folder / f"{count[0]:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    take.folder = folder  # type: ignore[attr-defined]
    return take


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the browser tests left their screenshots."""
    if SCREENSHOTS.exists() and any(SCREENSHOTS.glob("*/*.png")):
        count = len(list(SCREENSHOTS.glob("*/*.png")))
        terminalreporter.write_line(f"browser screenshots: {count} page(s) in {SCREENSHOTS}/<test name>/")
