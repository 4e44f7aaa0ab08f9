"""`make site`: `python -m booking_site` serves the site with demo data on 127.0.0.1 and prints the address."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from .conftest import EXAMPLES


class TestServe:
    def test_serves_demo_data_and_prints_the_address(self, tmp_path: Path, browser_page: Any, shots: Any) -> None:
        """The command prints an http://127.0.0.1 address; the pages answer with the demo bookings."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "booking_site", "--port", "0", "--db", str(tmp_path / "demo.db")],
            cwd=EXAMPLES, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if "Serving at" in line:
                    break
            found = re.search(r"Serving at (http://127\.0\.0\.1:\d+/)", "".join(lines))
            assert found, lines
            base = found.group(1)
            assert "6 demo bookings" in "".join(lines)
            login = re.search(r"name '(\w+)', password '([^']+)'", "".join(lines))
            assert login, "demo mode prints the owner's demo credentials"
            with urllib.request.urlopen(base, timeout=10) as response:
                assert response.status == 200
                assert "Session Pack A" in response.read().decode()
            page = browser_page
            page.goto(base + "owner")
            assert page.url == base + "login", "the dashboard is behind the login"
            page.fill("#login-name", login.group(1))
            page.fill("#login-password", login.group(2))
            page.click("#login")
            assert page.query_selector_all("#overdue tbody tr"), "the demo has a late client"
            assert page.query_selector_all("#forecast-chart rect.expected")
            shots(page, "demo-dashboard")
            page.click("#overdue a >> text=demo-2")
            assert "declined" in page.inner_text("#declines")
            shots(page, "demo-client-declined")
        finally:
            proc.terminate()
            proc.wait(10)
