"""The booking form: a tier, the session date, the number of installments, who the client is, a sandbox card."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from payplan.testing import SandboxCard

CARDS = [
    (SandboxCard.SUCCESS.value, "Test card: pays"),
    (SandboxCard.DECLINE.value, "Test card: declined"),
]


class BookingForm(forms.Form):  # type: ignore[misc]
    """What a client fills in; checked against the catalog's tiers."""

    tier = forms.ChoiceField()
    session = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="Your session's date")
    installments = forms.TypedChoiceField(coerce=int, choices=[(n, str(n)) for n in (2, 3, 4)], initial=3)
    name = forms.CharField(max_length=200)
    email = forms.EmailField()
    card = forms.ChoiceField(choices=CARDS, initial=SandboxCard.SUCCESS.value)

    def __init__(self, *args: Any, tiers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [(t, t) for t in tiers]

    def clean_session(self) -> dt.date:
        session: dt.date = self.cleaned_data["session"]
        earliest = timezone.localdate() + dt.timedelta(days=45)
        if session < earliest:
            raise forms.ValidationError(
                f"Book at least 45 days ahead (from {earliest.isoformat()}), so the plan is paid before the session."
            )
        return session
