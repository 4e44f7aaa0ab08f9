"""Check the built documentation site (build/docs) as a reader's browser meets it.

    python scripts/check_docs.py [build/docs]

1. No page loads anything from a third-party host: no ``src``/``href`` of a
   stylesheet, script, image, frame or font outside the site, no ``url()`` or
   ``@import`` of one in its CSS.
2. In headless Chromium (when Playwright and a chromium binary are there;
   otherwise this part is skipped with a note, or fails with CI=true), each page
   is served from 127.0.0.1 at 1280 x 900: every request it makes stays on
   127.0.0.1, and no code block is wider than the page (no sideways scroll).

Exits non-zero, listing each problem, when any is found.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

#: Attributes that make the browser fetch something as the page loads (links a reader clicks are fine).
LOADS = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=[\"'](https?:)?//[^\"']+[\"']"
    r"|<link\b(?=[^>]*\brel=[\"'](?:stylesheet|preload|preconnect|icon|modulepreload|dns-prefetch)[\"'])"
    r"[^>]*\bhref=[\"'](https?:)?//[^\"']+[\"']",
    re.I,
)
CSS_LOADS = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])(https?:)?//", re.I)
WIDTH, HEIGHT = 1280, 900


def static_problems(root: Path) -> list[str]:
    found = []
    for page in sorted(root.rglob("*.html")):
        for match in LOADS.finditer(page.read_text(encoding="utf-8")):
            found.append(f"{page.relative_to(root)}: loads from another host: {match.group(0)[:120]}")
    for sheet in sorted(root.rglob("*.css")):
        if CSS_LOADS.search(sheet.read_text(encoding="utf-8")):
            found.append(f"{sheet.relative_to(root)}: CSS loads from another host")
    return found


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def browser_problems(root: Path) -> list[str] | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = os.environ.get("PAYPLAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    found: list[str] = []
    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("index.html"))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            page = context.new_page()
            outside: list[str] = []

            def route(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if urlsplit(url).hostname not in ("127.0.0.1", None):
                    outside.append(url)
                    route.abort()  # type: ignore[attr-defined]
                else:
                    route.continue_()  # type: ignore[attr-defined]

            context.route("**/*", route)
            for name in pages:
                outside.clear()
                page.goto(base + name, wait_until="load")
                for url in outside:
                    found.append(f"{name}: requested {url}")
                wide = page.evaluate(
                    "() => [...document.querySelectorAll('.md-content pre > code')]"
                    ".filter(c => c.scrollWidth > c.clientWidth + 1)"
                    ".map(c => c.textContent.split('\\n').reduce((a, b) => a.length > b.length ? a : b).slice(0, 80))"
                )
                for line in wide:
                    found.append(f"{name}: a code block scrolls sideways at {WIDTH} px: {line!r}")
            browser.close()
    finally:
        server.shutdown()
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "build/docs")
    if not (root / "index.html").exists():
        print(f"check_docs: no built site in {root} (run mkdocs build first)")
        return 1
    problems = static_problems(root)
    in_browser = browser_problems(root)
    if in_browser is None:
        note = "check_docs: no Playwright or chromium: requests and code widths not checked in a browser"
        if os.environ.get("CI") == "true":
            print(note + " (required in CI)")
            return 1
        print(note)
    else:
        problems += in_browser
    for problem in problems:
        print(problem)
    pages = len(list(root.rglob("index.html")))
    print(f"check_docs: {pages} pages, {len(problems)} problem(s)"
          + ("" if in_browser is None else f"; checked in Chromium at {WIDTH} px"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
