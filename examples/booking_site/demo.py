"""Demo data: a few months of bookings made through the site's own code paths.

The sandbox clock starts before the site's "today"; clients book, sign and pay
their deposits on their own days, the clock advances (the sandbox charges what
falls due, a card declines, webhooks arrive, the daily run assesses late fees
and sends reminders), and one client cancels. Nothing is written to the store
but through the store's webhook inbox, the daily run and the booking flow.
"""

from __future__ import annotations

import datetime as dt

from .app import Site
from .forms import read_booking

#: (days after the start, client, e-mail, tier, proposal builder, session after booking, card)
CLIENTS = [
    (0, "Ana Lima", "ana@example.com", "Session Pack A", "cadence:3:monthly", 150, "pm_card_visa"),
    (3, "Ben Okafor", "ben@example.com", "Session Pack B", "cadence:4:monthly", 170, "pm_demo_decline_after_deposit"),
    (10, "Chloé Martin", "chloe@example.com", "Session Pack A", "full", 90, "pm_card_visa"),
    (21, "Dev Patel", "dev@example.com", "Session Pack B", "cadence:5:biweekly", 120, "pm_card_chargeDeclined"),
    (30, "Eva Novak", "eva@example.com", "Session Pack A", "cadence:2:monthly", 75, "pm_card_visa"),
    (45, "Femi Ade", "femi@example.com", "Session Pack A", "cadence:3:biweekly", 80, "pm_demo_decline_after_deposit"),
]
CANCELS = {"Eva Novak": 58}


def seed(site: Site, until: dt.date) -> list[str]:
    """Book the demo clients and run the days up to *until*; return the plan ids."""
    start = site.today
    ids: list[str] = []
    plans = {}
    for n, (offset, name, email, tier_name, how, session_after, card) in enumerate(CLIENTS, 1):
        day = start + dt.timedelta(days=offset)
        if day > site.today:
            site.advance((day - site.today).days)
        # The same form the client fills in, read by the same code.
        form = {"name": name, "email": email, "card": card,
                "session": (day + dt.timedelta(days=session_after)).isoformat()}
        if how == "full":
            form["choice"] = "full"
        else:
            _, form["count"], form["cadence"] = how.split(":")
            form["choice"] = "installments"
        booking = read_booking(form, site.catalog[tier_name], plan_id=f"demo-{n}", today=site.today,
                               timezone=site.settings.timezone)
        assert booking.plan is not None, booking.errors
        site.sign(booking.plan, name, card, site.agreement_text(booking.plan, name))
        ids.append(booking.plan.id)
        plans[name] = booking.plan.id
    for name, offset in CANCELS.items():
        day = start + dt.timedelta(days=offset)
        if day > site.today:
            site.advance((day - site.today).days)
        site.cancel(plans[name])
    if until > site.today:
        site.advance((until - site.today).days)
    return ids
