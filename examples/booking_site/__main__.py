"""`make site`: demo mode: a fresh SQLite store, demo data, and the site served on 127.0.0.1.

    python -m booking_site [--port 8000] [--db build/booking_site.db] [--provider sandbox|stripe]

Demo mode makes its secrets at each start and prints the owner's demo password.
A deployed site is served by a WSGI server from ``booking_site.wsgi:app`` (see
docs/deploying.md); its daily collections run as ``python -m booking_site.collect``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
from pathlib import Path

from werkzeug.serving import make_server

from .app import Settings, create_app, site_of
from .demo import seed

TODAY = dt.date(2026, 12, 1)
HISTORY_DAYS = 75


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="booking_site", description="Serve payplan's example booking site.")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--db", type=Path, default=Path("build/booking_site.db"), help="SQLite file, recreated")
    parser.add_argument("--provider", choices=("sandbox", "stripe"), default="sandbox",
                        help="the sandbox, or Stripe's local fake through the real SDK")
    args = parser.parse_args(argv)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    password = secrets.token_urlsafe(12)
    settings = Settings.for_demo(password, today=TODAY - dt.timedelta(days=HISTORY_DAYS),
                                 database=f"sqlite:///{args.db}", provider=args.provider)
    app = create_app(settings)
    site = site_of(app)
    ids = seed(site, until=TODAY)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    address = f"http://127.0.0.1:{server.server_port}/"
    print(f"payplan booking site: {len(ids)} demo bookings in {args.db}, today is {site.today.isoformat()}")
    print(f"Demo owner login at {address}login: name {settings.owner!r}, password {password!r} "
          "(made for this run; demo mode only)")
    print(f"Serving at {address} (the owner's dashboard: {address}owner); Ctrl-C stops it.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        site.close()


if __name__ == "__main__":
    main()
