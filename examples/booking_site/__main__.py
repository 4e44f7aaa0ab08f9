"""`make site`: a fresh SQLite store, demo data, and the site served on 127.0.0.1.

    python -m booking_site [--port 8000] [--db build/booking_site.db]
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    args = parser.parse_args(argv)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    settings = Settings(database=f"sqlite:///{args.db}", today=TODAY - dt.timedelta(days=HISTORY_DAYS))
    app = create_app(settings)
    site = site_of(app)
    ids = seed(site, until=TODAY)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    address = f"http://127.0.0.1:{server.server_port}/"
    print(f"payplan booking site: {len(ids)} demo bookings in {args.db}, today is {site.today.isoformat()}")
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
