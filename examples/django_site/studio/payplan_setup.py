"""``PAYPLAN["CONTACTS"]``: a plan's client, from the studio's own records."""

from __future__ import annotations

from payplan import PaymentPlan
from payplan.notify import Contact


def contact_for(plan: PaymentPlan) -> Contact | None:
    """The client who booked *plan*, in English; None for a plan the studio has no client for."""
    from .models import Client

    client = Client.objects.filter(plan_id=plan.id).first()
    if client is None:
        return None
    return Contact(client.name, email=client.email, locale="en_US", fields={"business": "Lumen Photo Studio"})
