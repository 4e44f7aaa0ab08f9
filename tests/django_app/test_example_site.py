"""examples/django_site: `manage.py check` is clean once migrated, and a client and the owner use it in Chromium."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SITE = Path(__file__).resolve().parents[2] / "examples" / "django_site"
PASSWORD = "owner-test-passphrase"


def manage(tmp: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDIO_DATABASE": str(tmp / "studio.sqlite3"), "STUDIO_OWNER_PASSWORD": PASSWORD}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the example's own settings, not the tests'
    return subprocess.run([sys.executable, "manage.py", *args], cwd=SITE, env=env, capture_output=True, text=True,
                          timeout=300, **kwargs)


def test_check_is_clean_once_migrated(tmp_path: Path) -> None:
    """Before migrating, the check says to migrate (payplan.W006); after `studio_demo --no-serve`, nothing at all."""
    before = manage(tmp_path, "check")
    assert before.returncode == 0
    assert "payplan.W006" in before.stderr + before.stdout
    setup = manage(tmp_path, "studio_demo", "--no-serve")
    assert setup.returncode == 0, setup.stderr
    assert "owner / owner-test-passphrase" in setup.stdout
    after = manage(tmp_path, "check", "--fail-level", "WARNING")
    assert after.returncode == 0, after.stderr
    assert "System check identified no issues (0 silenced)." in after.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The example served by `manage.py studio_demo` on a free port; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "STUDIO_DATABASE": str(tmp_path / "studio.sqlite3"), "STUDIO_OWNER_PASSWORD": PASSWORD}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen([sys.executable, "manage.py", "studio_demo", "--port", str(port)], cwd=SITE, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the example did not start: {server.stderr.read() if server.stderr else ''}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A Playwright page in Debian's headless Chromium (as tests/browser drives it)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="the browser test needs Playwright")
    from browser.conftest import CHROMIUM_FLAGS, chromium_path

    path = chromium_path()
    if path is None:
        pytest.skip("no chromium binary: run scripts/chromium.sh (make test does) to install Debian's package")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        context = browser.new_context(locale="en-US", timezone_id="America/New_York")
        context.set_default_timeout(20_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_book_then_staff_sees_it(served: str, page: Any) -> None:
    """A client books Pack A and signs; their signed link shows the deposit paid; staff log in and see the plan."""
    session = (dt.date.today() + dt.timedelta(days=150)).isoformat()
    page.goto(served + "/")
    page.select_option("#id_tier", "Session Pack A")
    page.fill("#id_session", session)
    page.select_option("#id_installments", "3")
    page.fill("#id_name", "Ada Lovelace")
    page.fill("#id_email", "ada@example.test")
    page.click("text=See the payment agreement")
    assert "Payment agreement" in page.inner_text("#agreement")
    page.click("text=Sign and pay the deposit")  # not signed yet: refused, with what to do
    assert "tick the box and type your name" in page.inner_text(".error")
    page.check("input[name=agree]")
    page.fill("#signature", "Ada Lovelace")
    page.click("text=Sign and pay the deposit")
    page.wait_for_url("**/plan/**")
    link = page.url
    assert page.inner_text(".paid") == "$500.00"
    assert page.inner_text(".balance") == "$1,500.00"
    assert "Ada Lovelace" in page.inner_text("main")
    plan_id = page.inner_text("h1").rsplit(": ", 1)[1]
    assert page.goto(link[:-3] + "xx/").status == 404  # an altered link shows nothing

    page.goto(served + "/admin/payplan/plan/")
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/payplan/plan/")
    row = page.locator("tr.payplan-plan", has_text=plan_id)
    assert "$1,500.00" in row.inner_text()
    row.locator("a").click()
    assert "$500.00" in page.inner_text("#ledger")
    assert "Ada Lovelace" in page.inner_text("main")
