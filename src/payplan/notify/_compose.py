"""Messages a person would send: the client's name, their history, their language, the site's fields."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from string import Template
from types import MappingProxyType
from typing import Any, Final

from attrs import field, frozen

from .._dunning import DEFAULT_NOTICE_TEMPLATES, Notice
from .._money import Money
from .._plan import PaymentPlan
from .._policies import DEFAULT_REMINDER_TEMPLATES
from .._reminders import Reminder
from .._status import InstallmentState, PlanStatement
from ..exceptions import InvalidPlanError

__all__ = [
    "DEFAULT_MESSAGE_TEMPLATES",
    "Contact",
    "Message",
    "compose",
    "language_of",
    "notice_templates",
    "reminder_templates",
    "templates_for",
]


def _as_fields(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping) or any(
        not isinstance(k, str) or not isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidPlanError(f"expected contact fields as a mapping of text to text, got {value!r}")
    return MappingProxyType(dict(value))


def _text(_: object, attribute: object, value: Any) -> None:
    if not isinstance(value, str):
        name = getattr(attribute, "name", "value")
        raise InvalidPlanError(f"expected {name} as text, got {type(value).__name__} {value!r}")


def _opt_text(instance: object, attribute: object, value: Any) -> None:
    if value is not None:
        _text(instance, attribute, value)


def _opt_date(_: object, __: object, value: Any) -> None:
    if value is not None and type(value) is not dt.date:
        raise InvalidPlanError(f"expected card_expires as a datetime.date or None, got {value!r}")


@frozen
class Contact:
    """How to reach the client of a plan, and in which language.

    Attributes:
        name: What to call them ("Ada Lovelace").
        email: Their e-mail address, for the ``email`` channel.
        locale: Their locale (``"en_US"``, ``"fr_FR"``): the language of
            the message and how money and dates are written.
        channel: The channel they prefer (``"email"``, or a channel of the
            site's own notifier such as ``"sms"``).
        phone: Their phone number, for an SMS notifier.
        card_expires: The last day their saved card works, if known (for
            the card-expiry warning).
        fields: The site's own fields for the templates (``pay_url``,
            ``update_card_url``, ``business``, ``signature``...).

    .. versionadded:: 0.1.0
    """

    name: str = field(validator=_text)
    email: str | None = field(default=None, validator=_opt_text)
    locale: str = field(default="en_US", validator=_text)
    channel: str = field(default="email", validator=_text)
    phone: str | None = field(default=None, validator=_opt_text)
    card_expires: dt.date | None = field(default=None, validator=_opt_date)
    fields: Mapping[str, str] = field(factory=dict, converter=_as_fields)

    def address(self, channel: str) -> str | None:
        """Where *channel* reaches the client: the e-mail, the phone, or a field named after the channel."""
        if channel == "email":
            return self.email
        if channel == "sms":
            return self.phone
        return self.fields.get(channel)


@frozen
class Message:
    """One message to hand to a :class:`Notifier`.

    Attributes:
        id: Stable id (the reminder's or notice's): sending it again is
            recognisable as the same message.
        plan_id: The plan it concerns.
        kind: ``before_due``, ``due_today``, ``overdue``, ``final_notice``,
            ``fee_assessed``, ``payment_failed``, ``card_expiring`` or ``escalated``.
        channel: The channel to send it on.
        to: The address on that channel.
        subject: The subject line.
        body: The text.
        locale: The locale it is written for.
        date: The day it is sent (the run's date).

    .. versionadded:: 0.1.0
    """

    id: str
    plan_id: str
    kind: str
    channel: str
    to: str
    subject: str
    body: str
    locale: str = "en_US"
    date: dt.date | None = None

    def message_id(self, domain: str = "payplan.invalid") -> str:
        """A stable RFC 5322 ``Message-ID`` derived from :attr:`id`: a resend carries the same one."""
        digest = hashlib.sha256(self.id.encode()).hexdigest()[:32]
        return f"<{digest}.payplan@{domain}>"


_EN: Final[Mapping[str, str]] = {
    "subject:before_due": "Payment reminder: $amount due on $due",
    "subject:due_today": "Your payment of $amount is due today",
    "subject:overdue": "Your payment of $amount is overdue",
    "subject:final_notice": "Final notice: $amount is overdue",
    "subject:fee_assessed": "A late fee of $amount was added to your plan",
    "subject:payment_failed": "Your payment of $amount did not go through",
    "subject:card_expiring": "Your card on file expires soon",
    "subject:escalated": "Action needed: $amount could not be collected",
    "greeting": "Dear $name,",
    "history": "So far you have paid $paid of $total ($paid_count of $count payments).",
    "history_on_time": "Thank you for paying every payment so far on time.",
    "pay_line": "Pay online: $pay_url",
    "update_line": "Update your card: $update_card_url",
    "signoff": "Kind regards,\n$business",
    # the reminder and notice texts themselves (reminders_due / dunning_notices templates)
    "before_due": "Installment $installment of $amount is due on $due (in $days_text).$fee_notice",
    "due_today": "Installment $installment of $amount is due today ($due).$fee_notice",
    "overdue": "Installment $installment was due on $due and is $days_text overdue: $amount is owed.$fee_notice",
    "final_notice": (
        "Final notice: installment $installment was due on $due and is $days_text overdue: "
        "$amount is owed.$fee_notice"
    ),
    "fee_assessed": DEFAULT_REMINDER_TEMPLATES["fee_assessed"],
    "fee_charge_on": DEFAULT_REMINDER_TEMPLATES["fee_charge_on"],
    "fee_charge_later": DEFAULT_REMINDER_TEMPLATES["fee_charge_later"],
    "fee_charge_manual": DEFAULT_REMINDER_TEMPLATES["fee_charge_manual"],
    **DEFAULT_NOTICE_TEMPLATES,  # payment_failed, card_expiring, escalated: the dunning notices' own words
}

_FR: Final[Mapping[str, str]] = {
    "subject:before_due": "Rappel de paiement : $amount à régler le $due",
    "subject:due_today": "Votre paiement de $amount est dû aujourd'hui",
    "subject:overdue": "Votre paiement de $amount est en retard",
    "subject:final_notice": "Dernier rappel : $amount en retard",
    "subject:fee_assessed": "Des frais de retard de $amount ont été ajoutés à votre plan",
    "subject:payment_failed": "Votre paiement de $amount n'a pas abouti",
    "subject:card_expiring": "Votre carte enregistrée expire bientôt",
    "subject:escalated": "Action requise : $amount n'a pas pu être encaissé",
    "greeting": "Bonjour $name,",
    "history": "Vous avez réglé $paid sur $total jusqu'ici ($paid_count paiements sur $count).",
    "history_on_time": "Merci d'avoir réglé chaque paiement à temps.",
    "pay_line": "Payer en ligne : $pay_url",
    "update_line": "Mettre à jour votre carte : $update_card_url",
    "signoff": "Bien cordialement,\n$business",
    "before_due": "L'échéance $installment de $amount est due le $due (dans $days jour(s)).",
    "due_today": "L'échéance $installment de $amount est due aujourd'hui ($due).",
    "overdue": "L'échéance $installment était due le $due et a $days jour(s) de retard : $amount reste dû.",
    "final_notice": (
        "Dernier rappel : l'échéance $installment était due le $due et a $days jour(s) de retard : "
        "$amount reste dû."
    ),
    "fee_assessed": "Des frais de retard de $amount ont été appliqués à l'échéance $installment le $due.$fee_charge",
    "fee_charge_on": " Ils seront prélevés sur votre moyen de paiement enregistré le $charge_on.",
    "fee_charge_later": " Ils seront prélevés sur votre moyen de paiement enregistré une fois toutes les échéances réglées.",
    "fee_charge_manual": (
        " Ils ne sont pas prélevés automatiquement : merci de les régler avec votre prochain paiement "
        "ou de nous contacter."
    ),
    "payment_failed": (
        "Votre paiement de $amount pour l'échéance $installment (due le $due) n'a pas abouti. "
        "Nous réessaierons le $next_attempt ; vérifiez que votre moyen de paiement est à jour."
    ),
    "card_expiring": (
        "Votre carte enregistrée expire le $expires, avant l'échéance $installment de $amount due le $due. "
        "Merci de mettre à jour votre moyen de paiement d'ici là."
    ),
    "escalated": (
        "Nous n'avons pas pu encaisser l'échéance $installment de $amount (due le $due) après $attempts essais. "
        "Aucun nouvel essai automatique n'aura lieu : merci de régler $amount ou de nous contacter."
    ),
}

#: The message templates by language (:class:`string.Template` syntax). The
#: keys ``before_due`` ... ``escalated`` are the reminder and notice texts
#: (placeholders of :data:`~payplan.DEFAULT_REMINDER_TEMPLATES` and
#: :data:`~payplan.DEFAULT_NOTICE_TEMPLATES`); ``subject:<kind>``,
#: ``greeting``, ``history``, ``history_on_time``, ``pay_line``,
#: ``update_line`` and ``signoff`` frame the e-mail and see ``$name``,
#: ``$amount``, ``$due``, ``$paid``, ``$total``, ``$paid_count``, ``$count``
#: and every field of the contact (``$pay_url``, ``$update_card_url``,
#: ``$business``...).
DEFAULT_MESSAGE_TEMPLATES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {"en": MappingProxyType(dict(_EN)), "fr": MappingProxyType(dict(_FR))}
)

_REMINDER_KEYS = (
    "before_due", "due_today", "overdue", "final_notice",
    "fee_assessed", "fee_charge_on", "fee_charge_later", "fee_charge_manual",
)
_NOTICE_KEYS = ("payment_failed", "card_expiring", "escalated")


@functools.lru_cache(maxsize=4096)
def _format(money: Money, locale: str) -> str:
    """``money.format(locale)``, remembered: a portfolio repeats a few amounts many times."""
    return money.format(locale)


def language_of(locale: str) -> str:
    """The language part of *locale* (``"fr_FR"`` -> ``"fr"``)."""
    return locale.replace("-", "_").split("_", 1)[0].lower()


def templates_for(
    locale: str, overrides: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, str]:
    """The templates for *locale*'s language: the defaults (English where the language has none) and *overrides*.

    *overrides* maps a language (``"de"``) to the keys it replaces or adds.

    Raises:
        InvalidPlanError: an override key that is not a template name.
    """
    lang = language_of(locale)
    out = dict(_EN)
    out.update(DEFAULT_MESSAGE_TEMPLATES.get(lang, {}))
    extra = (overrides or {}).get(lang, {})
    for key, text in extra.items():
        if key not in _EN or not isinstance(text, str):
            raise InvalidPlanError(f"expected message templates named {sorted(_EN)} as text, got {key!r}: {text!r}")
        out[key] = text
    return out


def reminder_templates(texts: Mapping[str, str]) -> dict[str, str]:
    """The reminder texts out of a template set (for ``reminders_due(templates=...)``)."""
    return {k: texts[k] for k in _REMINDER_KEYS}


def notice_templates(texts: Mapping[str, str]) -> dict[str, str]:
    """The notice texts out of a template set (for ``dunning_notices(templates=...)``)."""
    return {k: texts[k] for k in _NOTICE_KEYS}


def compose(
    item: Reminder | Notice,
    plan: PaymentPlan,
    status: PlanStatement,
    contact: Contact,
    *,
    texts: Mapping[str, str] | None = None,
) -> Message:
    """The message for a reminder or notice, as a person would write it to *contact*.

    The body greets the client by name, gives the reminder's or notice's
    text, what they have paid so far (and thanks them when every payment
    due was on time), the site's payment or card-update link where the
    contact's fields have one, and the site's sign-off.

    Args:
        item: The reminder (:func:`~payplan.reminders_due`) or notice
            (:func:`~payplan.dunning_notices`), rendered in the contact's locale.
        plan: The plan.
        status: The plan's status on the day (for the history line).
        contact: Who receives it.
        texts: The template set (default: :func:`templates_for` the contact's locale).

    Raises:
        InvalidPlanError: the contact has no address on their channel.

    .. versionadded:: 0.1.0
    """
    t = texts if texts is not None else templates_for(contact.locale)
    to = contact.address(contact.channel)
    if not to:
        raise InvalidPlanError(
            f"expected an address for {contact.name!r} on their channel {contact.channel!r}, got none"
        )
    locale = contact.locale
    kind = item.kind.value
    amount = item.owed if isinstance(item, Reminder) else item.amount
    paid_count = sum(1 for s in status.installments if s.status is InstallmentState.PAID)
    late = any(s.status is InstallmentState.OVERDUE for s in status.installments)
    values = {
        **contact.fields,
        "name": contact.name,
        "amount": _format(amount, locale),
        "due": item.due.isoformat(),
        "paid": _format(status.paid, locale),
        "total": _format(plan.total, locale),
        "paid_count": str(paid_count),
        "count": str(len(plan.installments)),
        "business": contact.fields.get("business", ""),
    }

    def fill(key: str) -> str:
        return Template(t[key]).safe_substitute(values)

    lines = [fill("greeting"), "", item.message, ""]
    history = fill("history")
    if paid_count and not late and kind in _REMINDER_KEYS[:2]:
        history += " " + fill("history_on_time")
    lines.append(history)
    if kind in ("payment_failed", "card_expiring") and "update_card_url" in contact.fields:
        lines.append(fill("update_line"))
    elif kind != "card_expiring" and "pay_url" in contact.fields:
        lines.append(fill("pay_line"))
    lines += ["", fill("signoff").rstrip()]
    return Message(
        item.id, plan.id, kind, contact.channel, to, fill(f"subject:{kind}"), "\n".join(lines) + "\n",
        locale, item.date,
    )
