"""The tests' PAYPLAN["CONTACTS"]: every plan's client is Ada, in English or (plans ending -de) German."""

from __future__ import annotations

from payplan import PaymentPlan
from payplan.notify import Contact


def contact_for(plan: PaymentPlan) -> Contact | None:
    """Ada Lovelace's contact for every plan but those whose id ends ``-nobody``."""
    if plan.id.endswith("-nobody"):
        return None
    return Contact("Ada Lovelace", email="ada@example.test", locale="de_DE" if plan.id.endswith("-de") else "en_US")
