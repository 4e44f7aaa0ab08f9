"""What happened at signing that the card and bank rules ask about: consent, the first payment, the ACH authorization."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

from attrs import field, frozen

from ..exceptions import InvalidPlanError

__all__ = ["FirstPayment", "Sca", "Signing", "StoredCredentialConsent"]


class Sca(enum.Enum):
    """The strong-customer-authentication result of a payment, as the provider reports it.

    .. versionadded:: 0.2.0
    """

    AUTHENTICATED = "authenticated"
    """The cardholder passed 3-D Secure (or another strong authentication)."""
    EXEMPTED = "exempted"
    """The issuer granted an exemption."""
    NOT_AUTHENTICATED = "not_authenticated"
    """Authentication was not performed, or failed."""


def _text(_: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidPlanError(f"expected {attribute.name} as text of at most 2000 characters, got {value!r}")


def _last4(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}", value):
        raise InvalidPlanError(f"expected the card's last four digits such as '4242', got {value!r}")


def _opt_date(_: object, attribute: Any, value: dt.date | None) -> None:
    if value is not None and type(value) is not dt.date:
        raise InvalidPlanError(f"expected {attribute.name} as a datetime.date or None, got {value!r}")


@frozen
class StoredCredentialConsent:
    """The cardholder's consent to store their card for the later payments (Visa's four elements).

    Attributes:
        last4: The card's last four digits, as shown to the client.
        usage: How the card will be used, in the words shown.
        change_notice: How the client will be told of changes to these terms.
        until: The date the consent ends (None: not stated).

    An empty *usage* or *change_notice* is kept as shown, and the CN-1 check
    reports it as a missing element.

    .. versionadded:: 0.2.0
    """

    last4: str = field(validator=_last4)
    usage: str = field(validator=_text)
    change_notice: str = field(validator=_text)
    until: dt.date | None = field(default=None, validator=_opt_date)

    def missing(self) -> tuple[str, ...]:
        """The elements left empty: ``"how the card will be used"``, ``"how changes are notified"``, ``"until when"``."""
        out = []
        if not self.usage.strip():
            out.append("how the card will be used")
        if not self.change_notice.strip():
            out.append("how changes are notified")
        if self.until is None:
            out.append("until when")
        return tuple(out)

    @classmethod
    def for_plan(
        cls, plan: Any, *, last4: str, change_notice: str = "by e-mail at least 7 days before any change takes effect",
    ) -> StoredCredentialConsent:
        """The consent in payplan's words for *plan*: its later payments on their due dates, until the last one.

        Args:
            plan: The :class:`~payplan.PaymentPlan`.
            last4: The card's last four digits.
            change_notice: How changes are notified.
        """
        later = plan.installments[1:]
        usage = (
            f"to charge the {len(later)} later payment(s) of the schedule, {plan.total} in all with the first, "
            "on their due dates, and any late fees the agreement states"
        )
        return cls(last4, usage, change_notice, plan.installments[-1].due)

    def to_dict(self) -> dict[str, Any]:
        """The consent as JSON-ready values."""
        return {
            "last4": self.last4,
            "usage": self.usage,
            "change_notice": self.change_notice,
            "until": self.until.isoformat() if self.until else None,
        }


def _ref(_: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 500 or not value.isprintable():
        raise InvalidPlanError(f"expected {attribute.name} as 1 to 500 printable characters, got {value!r}")


def _sca(value: Sca | str | None) -> Sca | None:
    if value is None or isinstance(value, Sca):
        return value
    try:
        return Sca(value)
    except ValueError:
        raise InvalidPlanError(
            f"expected sca as one of {', '.join(repr(s.value) for s in Sca)} or None, got {value!r}"
        ) from None


@frozen
class FirstPayment:
    """The first payment, made by the client themselves, that approves the series.

    Attributes:
        reference: The provider's reference of the payment (a charge or payment id).
        provider: The provider's name.
        sca: Its strong-customer-authentication result, where the provider reports one.

    .. versionadded:: 0.2.0
    """

    reference: str = field(validator=_ref)
    provider: str = field(validator=_ref)
    sca: Sca | None = field(default=None, converter=_sca)

    def to_dict(self) -> dict[str, Any]:
        """The payment as JSON-ready values."""
        return {"reference": self.reference, "provider": self.provider, "sca": self.sca.value if self.sca else None}


def _opt(kind: type) -> Any:
    def check(_: object, attribute: Any, value: object) -> None:
        if value is not None and type(value) is not kind:
            raise InvalidPlanError(f"expected {attribute.name} as {kind.__name__} or None, got {value!r}")

    return check


def _opt_text(_: object, attribute: Any, value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 20000):
        raise InvalidPlanError(f"expected {attribute.name} as text of 1 to 20000 characters or None, got {value!r}")


@frozen
class Signing:
    """What was recorded when the client signed, for the checks that need it.

    Attributes:
        consent: The stored-credential consent (card plans).
        first_payment: The first, client-initiated payment.
        ach_authorization: The text of the ACH debit authorization the
            client signed (ACH plans).
        express_request: The client's express request to start the service
            inside the cancellation period, in the words they agreed to,
            or None.

    .. versionadded:: 0.2.0
    """

    consent: StoredCredentialConsent | None = field(default=None, validator=_opt(StoredCredentialConsent))
    first_payment: FirstPayment | None = field(default=None, validator=_opt(FirstPayment))
    ach_authorization: str | None = field(default=None, validator=_opt_text)
    express_request: str | None = field(default=None, validator=_opt_text)
