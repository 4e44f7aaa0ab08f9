"""The day's collections, as a service runs them once a day (docs/deploying.md).

    python -m booking_site.collect            # today, in the site's time zone

Configured from the environment like the site itself; prints what the run did
and exits non-zero when the run could not finish.
"""

from __future__ import annotations

from .app import Site
from .settings import Settings


def main() -> None:
    site = Site(Settings.from_env())
    try:
        done = site.run_collections()
    finally:
        site.close()
    print(f"{site.today.isoformat()}: collections ran for {done['plans']} plan(s): {done['fees']} late fee(s), "
          f"{done['reminders']} reminder(s), {done['notices']} notice(s)")


if __name__ == "__main__":
    main()
