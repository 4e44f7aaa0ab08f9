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
#: The demo owner's password in the tests (demo mode makes a random one for `make site`).
OWNER_PASSWORD = "correct horse battery staple"
#: A phone's screen width (CSS pixels): no page may be wider.
PHONE = {"width": 390, "height": 844}
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

    def __init__(self, tmp: Path, *, today: dt.date, seed_until: dt.date | None = None, **settings: Any) -> None:
        from booking_site import Settings, create_app, site_of
        from booking_site.demo import seed
        from werkzeug.serving import make_server

        self.app = create_app(Settings.for_demo(OWNER_PASSWORD, today=today, database=f"sqlite:///{tmp / 'site.db'}",
                                                **settings))
        self.site = site_of(self.app)
        if seed_until is not None:
            seed(self.site, until=seed_until)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def link(self, plan_id: str) -> str:
        """The full address of *plan_id*'s client page (its signed link)."""
        return f"{self.url}/b/{self.site.signer.link(plan_id)}"

    def book(self, plan_id: str, name: str, email: str, *, card: str = "pm_card_visa") -> str:
        """Book Session Pack A for *name* through the site's own signing path; the plan id."""
        from booking_site.forms import read_booking

        form = {"name": name, "email": email, "card": card, "choice": "installments", "count": "3",
                "cadence": "monthly", "session": (self.site.today + dt.timedelta(days=120)).isoformat()}
        booking = read_booking(form, self.site.catalog["Session Pack A"], plan_id=plan_id, today=self.site.today,
                               timezone=self.site.settings.timezone)
        assert booking.plan is not None, booking.errors
        self.site.sign(booking.plan, name, card, self.site.agreement_text(booking.plan, name))
        return plan_id

    def log_in(self, page: Any) -> None:
        """The owner logs in from the login page, in *page*'s browser."""
        page.goto(self.url + "/login")
        page.fill("#login-name", "owner")
        page.fill("#login-password", OWNER_PASSWORD)
        page.click("#login")
        page.wait_for_selector("#logout")

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


class OtherOrigin:
    """Pages served from another origin (127.0.0.1 on another port): where an attacker's page would be."""

    def __init__(self) -> None:
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.pages: dict[str, str] = {}

        @Request.application
        def app(request: Request) -> Response:
            html = self.pages.get(request.path)
            return Response(html or "not found", status=200 if html else 404, mimetype="text/html")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(self, path: str, html: str) -> str:
        """Serve *html* at *path*; its full address."""
        self.pages[path] = html
        return self.url + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def other_origin() -> Iterator[OtherOrigin]:
    """A second web server on 127.0.0.1 (same site, another origin: the session cookie goes along)."""
    running = OtherOrigin()
    yield running
    running.close()


def chromium_path() -> str | None:
    found = os.environ.get("PAYPLAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and os.access(found, os.X_OK) else None


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Headless Chromium, started once per test module (each test gets its own empty context).

    Per module, not per session: Playwright's sync API runs one driver at a
    time, and other suites (the Django example site's) start their own.
    """
    playwright = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium binary: run scripts/chromium.sh (make test does) to install Debian's package")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser: Any) -> Iterator[Any]:
    """A Playwright page in a new, empty browser context (no cookies, no storage: a new visitor)."""
    context = chromium_browser.new_context(
        viewport={"width": 1200, "height": 900}, locale="en-US", timezone_id="America/New_York",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
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

    def phone(page: Any, name: str) -> Path:
        """At a phone's width: the page is no wider than the screen, and its screenshot is kept."""
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
            assert width <= PHONE["width"], f"{name}: the page is {width} px wide on a {PHONE['width']} px phone"
            return take(page, f"phone-{name}")
        finally:
            page.set_viewport_size(size)

    take.phone = phone  # type: ignore[attr-defined]
    take.folder = folder  # type: ignore[attr-defined]
    return take


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the browser tests left their screenshots."""
    if SCREENSHOTS.exists() and any(SCREENSHOTS.glob("*/*.png")):
        count = len(list(SCREENSHOTS.glob("*/*.png")))
        terminalreporter.write_line(f"browser screenshots: {count} page(s) in {SCREENSHOTS}/<test name>/")
