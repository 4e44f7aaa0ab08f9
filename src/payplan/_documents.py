"""The payment agreement and the statement, rendered from the objects that run the plan.

Every figure and rule in a document is read from the plan, its terms and
policy objects, the amendment records and the ledger: the schedule is the
plan's own installments, the late-fee ladder is the :class:`LateFeePolicy`'s
steps, the cancellation windows are the :class:`CancellationPolicy`'s. No
amount or rule is typed into the wording, so what the client signs is what
the library enforces.

A document is built as a short list of blocks (headings, paragraphs, lists,
tables) per section, then rendered as Markdown, HTML (every value escaped)
or plain text, and placed into a :class:`string.Template` that a site can
replace. Money is formatted with Babel for the locale (``1.234,50 €`` in
``de_DE``), and dates with Babel's long and medium formats. Wording exists
in English and German; other locales use the English wording with their own
money and date formats.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeAlias

from attrs import frozen

from ._amendments import (
    AddAddOn,
    AmendmentRecord,
    ChangeTier,
    ExtendDueDate,
    HardshipReduction,
    MoveSession,
    Resplit,
    SkipPayment,
)
from ._ledger import (
    CancellationSettled,
    CreditApplied,
    FeeWaived,
    LateFeeAssessed,
    Ledger,
    PaymentFailed,
    PaymentReceived,
    Refund,
    WriteOff,
)
from ._money import Money, _money
from ._plan import PaymentPlan
from ._policies import CancellationPolicy, Incentive, IncentiveKind, LateFeePolicy
from ._schedule import InstallmentKind
from ._status import InstallmentState, PlanDay, checked_day, day_of
from .exceptions import InvalidPlanError

if TYPE_CHECKING:
    from .guardrails import Finding

__all__ = [
    "DEFAULT_AGREEMENT_TEMPLATES",
    "DEFAULT_STATEMENT_TEMPLATES",
    "DocumentFormat",
    "Parties",
    "render_agreement",
    "render_statement",
]

#: The output formats: Markdown, HTML and plain text.
DocumentFormat: TypeAlias = Literal["md", "html", "txt"]
_FORMATS = ("md", "html", "txt")


@frozen
class Parties:
    """Who the agreement is between.

    Attributes:
        business: The business's name as it appears on the agreement.
        client: The client's name.

    .. versionadded:: 0.1.0
    """

    business: str = ""
    client: str = ""


# -- wording -------------------------------------------------------------------------------

_EN: dict[str, str] = {
    "agreement": "Payment agreement",
    "statement": "Statement",
    "parties": "This agreement is between {business} and {client}.",
    "business_named": "{name} (the business)",
    "client_named": "{name} (the client)",
    "the_business": "the business",
    "the_client": "the client",
    "business": "Business",
    "client": "Client",
    "h_package": "Package",
    "package": "{package}, plan {plan_id}: booked on {booked}, session on {session}.",
    "custom": "Custom package",
    "fee": "Fee: {fee}.",
    "finance": "Financed at {apr} APR: finance charge {charge}, total payable {total}.",
    "total": "Total payable: {total}.",
    "h_deposit": "Deposit",
    "deposit": "A deposit of {amount} is due on {due} ({rule}).",
    "no_deposit": "No deposit is due.",
    "rule_percent": "{pct} of the fee",
    "rule_fixed": "a fixed amount",
    "rule_minimum": "{pct} of the fee, at least {minimum}",
    "h_schedule": "Payment schedule",
    "col_number": "#",
    "col_payment": "Payment",
    "col_due": "Due",
    "col_amount": "Amount",
    "col_note": "Note",
    "deposit_kind": "Deposit",
    "installment_kind": "Installment",
    "balance_kind": "Balance",
    "sum": "Total",
    "cutoff": "Every payment is due no later than {cutoff}, {days} days before the session.",
    "cutoff_0": "Every payment is due no later than the session on {cutoff}.",
    "relative": "{days} days before the session",
    "h_incentives": "Incentives",
    "no_incentives": "This plan carries no incentives.",
    "inc_pay_in_full": "A discount of {worth} for paying in full by {by}",
    "inc_early_payment": "A discount of {worth} on each installment paid in full at least {days} days before it is due",
    "inc_add_on": "{name} (worth {worth}) is included when the plan is paid in full by {by}",
    "inc_loyalty": "A loyalty discount of {worth} for clients with at least {count} on-time installments",
    "inc_referral": "A referral credit of {worth}",
    "inc_booked_by": "An offer of {worth} for bookings made by {by}",
    "of_fee": "{pct} of the fee",
    "of_installment": "{pct} of the installment",
    "the_booking_date": "the booking date",
    "clawback": "; it is taken back if the booking is cancelled.",
    "kept": ".",
    "h_late": "Late payments",
    "no_late_fees": "No late fees are charged.",
    "grace": "No late fee is charged during a grace period of {days} days after a due date.",
    "ladder": "Late fees per installment:",
    "step_flat": "{amount} once a payment is {days} days overdue",
    "step_percent": "{pct} of the overdue amount once a payment is {days} days overdue",
    "cap": "Late fees never exceed {cap} in total.",
    "cap_both": "Late fees never exceed {cap} or {pct} of the fee in total, whichever is lower.",
    "cap_percent": "Late fees never exceed {pct} of the fee in total.",
    "fee_on_fee": "Percentage fees also apply to late fees already charged.",
    "no_fee_on_fee": "No late fee is charged on a late fee.",
    "collect_at_once": "A late fee is collected on the day it applies.",
    "collect_with_next_installment": "A late fee is collected with the next installment due.",
    "collect_after_last_installment": "Late fees are collected once the last installment is paid.",
    "h_cancel": "Cancellation",
    "no_policy": "If the booking is cancelled, everything paid is refunded.",
    "deposit_refundable": "The deposit is refundable.",
    "deposit_kept": "The deposit is non-refundable.",
    "window": "Cancelling within {days} days of the session: {pct} of the fee is retained.",
    "no_show": "A no-show costs {amount} on top of the full cancellation charge.",
    "reschedule": "Rescheduling costs {amount}; the rest of what was paid carries over to the new date.",
    "refund_rest": "What was paid beyond the retained amount is refunded.",
    "credit_rest": "What was paid beyond the retained amount becomes credit toward a new session.",
    "h_release": "Release on full payment",
    "h_notices": "Your rights and notices",
    "release": "The deliverables are released only when the plan is paid in full, including any late fees.",
    "h_amendments": "Amendments",
    "no_amendments": "This plan has not been amended.",
    "amendment": "{on}, version {from_version} to {to_version}: {what}. By {by}; reason: {reason}; client consent: {consent}.",
    "yes": "yes",
    "no": "no",
    "a_extend": "installment {number} moved to {date}",
    "a_resplit": "balance re-split into {count} payments from {first} to {last}",
    "a_hardship": "installments {first} to {last} reduced to {amount}, the difference {where}",
    "a_hardship_later": "spread over the later installments",
    "a_hardship_catch": "due on {date}",
    "a_skip": "installment {number} skipped, its amount moved to {where}",
    "a_skip_next": "the next installment",
    "a_skip_spread": "the later installments",
    "a_move": "session moved to {date}",
    "a_tier": "package changed to {tier} at {fee}",
    "a_addon": "add-on {name} ({amount}) added",
    "a_waive": "{amount} of the {what} waived",
    "h_signatures": "Signatures",
    "signature": "Signature",
    "date": "Date",
    "statement_for": "Plan {plan_id}, {package}, as of {as_of}.",
    "col_paid": "Paid",
    "col_outstanding": "Outstanding",
    "col_status": "Status",
    "st_paid": "paid",
    "st_partial": "partly paid",
    "st_due": "due today",
    "st_overdue": "overdue by {days} days",
    "st_upcoming": "upcoming",
    "st_waived": "waived",
    "st_cancelled": "cancelled",
    "h_summary": "Summary",
    "due_to_date": "Due to date",
    "paid_net": "Paid (less refunds)",
    "fees": "Late fees",
    "waived": "Fees waived",
    "credits": "Credits",
    "written_off": "Written off",
    "balance": "Balance",
    "next_due": "Next payment",
    "next_due_value": "{amount} due {due}",
    "nothing_due": "nothing further is due",
    "overdue_now": "Overdue now",
    "h_activity": "Activity",
    "col_date": "Date",
    "col_entry": "Entry",
    "e_payment": "Payment received",
    "e_payment_failed": "Payment failed",
    "e_refund": "Refund",
    "e_late_fee": "Late fee (installment {number})",
    "e_fee_waived": "Fee waived",
    "e_credit": "Credit",
    "e_write_off": "Written off",
    "e_cancellation": "Cancelled: {amount} retained",
    "no_activity": "No payments or fees recorded yet.",
    "status": "Status: {status}.",
    "ps_on_track": "on track",
    "ps_overdue": "overdue",
    "ps_paid_in_full": "paid in full",
    "ps_cancelled": "cancelled",
    "ps_defaulted": "defaulted",
    "percent_sign": "{n}%",
    "cutoff_1": "Every payment is due no later than {cutoff}, 1 day before the session.",
    "relative_1": "1 day before the session",
    "inc_early_payment_1": "A discount of {worth} on each installment paid in full at least 1 day before it is due",
    "grace_1": "No late fee is charged during a grace period of 1 day after a due date.",
    "step_flat_1": "{amount} once a payment is 1 day overdue",
    "step_percent_1": "{pct} of the overdue amount once a payment is 1 day overdue",
    "window_1": "Cancelling within 1 day of the session: {pct} of the fee is retained.",
    "st_overdue_1": "overdue by 1 day",
}

_DE: dict[str, str] = {
    "agreement": "Zahlungsvereinbarung",
    "statement": "Kontoauszug",
    "parties": "Diese Vereinbarung wird zwischen {business} und {client} geschlossen.",
    "business_named": "{name} (Anbieter)",
    "client_named": "{name} (Kunde)",
    "the_business": "dem Anbieter",
    "the_client": "dem Kunden",
    "business": "Anbieter",
    "client": "Kunde",
    "h_package": "Paket",
    "package": "{package}, Plan {plan_id}: gebucht am {booked}, Termin am {session}.",
    "custom": "Individuelles Paket",
    "fee": "Preis: {fee}.",
    "finance": "Finanziert zu {apr} effektivem Jahreszins: Finanzierungskosten {charge}, Gesamtbetrag {total}.",
    "total": "Zu zahlender Gesamtbetrag: {total}.",
    "h_deposit": "Anzahlung",
    "deposit": "Eine Anzahlung von {amount} ist am {due} fällig ({rule}).",
    "no_deposit": "Es ist keine Anzahlung fällig.",
    "rule_percent": "{pct} des Preises",
    "rule_fixed": "fester Betrag",
    "rule_minimum": "{pct} des Preises, mindestens {minimum}",
    "h_schedule": "Zahlungsplan",
    "col_number": "Nr.",
    "col_payment": "Zahlung",
    "col_due": "Fällig am",
    "col_amount": "Betrag",
    "col_note": "Hinweis",
    "deposit_kind": "Anzahlung",
    "installment_kind": "Rate",
    "balance_kind": "Restzahlung",
    "sum": "Summe",
    "cutoff": "Alle Zahlungen sind spätestens am {cutoff} fällig, {days} Tage vor dem Termin.",
    "cutoff_0": "Alle Zahlungen sind spätestens am Tag des Termins, dem {cutoff}, fällig.",
    "relative": "{days} Tage vor dem Termin",
    "h_incentives": "Vorteile",
    "no_incentives": "Dieser Plan enthält keine Vorteile.",
    "inc_pay_in_full": "Ein Nachlass von {worth} bei vollständiger Zahlung bis {by}",
    "inc_early_payment": "Ein Nachlass von {worth} auf jede Rate, die mindestens {days} Tage vor Fälligkeit vollständig bezahlt wird",
    "inc_add_on": "{name} (im Wert von {worth}) ist enthalten, wenn der Plan bis {by} vollständig bezahlt ist",
    "inc_loyalty": "Ein Treuenachlass von {worth} für Kunden mit mindestens {count} pünktlichen Raten",
    "inc_referral": "Eine Empfehlungsgutschrift von {worth}",
    "inc_booked_by": "Ein Angebot von {worth} für Buchungen bis {by}",
    "of_fee": "{pct} des Preises",
    "of_installment": "{pct} der Rate",
    "the_booking_date": "zum Buchungsdatum",
    "clawback": "; bei Stornierung entfällt er.",
    "kept": ".",
    "h_late": "Verspätete Zahlungen",
    "no_late_fees": "Es werden keine Säumnisgebühren erhoben.",
    "grace": "Innerhalb einer Karenzzeit von {days} Tagen nach Fälligkeit wird keine Säumnisgebühr erhoben.",
    "ladder": "Säumnisgebühren je Rate:",
    "step_flat": "{amount}, sobald eine Zahlung {days} Tage überfällig ist",
    "step_percent": "{pct} des überfälligen Betrags, sobald eine Zahlung {days} Tage überfällig ist",
    "cap": "Säumnisgebühren betragen insgesamt höchstens {cap}.",
    "cap_both": "Säumnisgebühren betragen insgesamt höchstens {cap} oder {pct} des Preises, je nachdem, was niedriger ist.",
    "cap_percent": "Säumnisgebühren betragen insgesamt höchstens {pct} des Preises.",
    "fee_on_fee": "Prozentuale Gebühren werden auch auf bereits berechnete Säumnisgebühren erhoben.",
    "no_fee_on_fee": "Auf Säumnisgebühren wird keine weitere Säumnisgebühr erhoben.",
    "collect_at_once": "Eine Säumnisgebühr wird an dem Tag eingezogen, an dem sie anfällt.",
    "collect_with_next_installment": "Eine Säumnisgebühr wird mit der nächsten fälligen Rate eingezogen.",
    "collect_after_last_installment": "Säumnisgebühren werden eingezogen, sobald die letzte Rate bezahlt ist.",
    "h_cancel": "Stornierung",
    "no_policy": "Bei einer Stornierung wird alles Gezahlte erstattet.",
    "deposit_refundable": "Die Anzahlung wird erstattet.",
    "deposit_kept": "Die Anzahlung wird nicht erstattet.",
    "window": "Bei Stornierung innerhalb von {days} Tagen vor dem Termin werden {pct} des Preises einbehalten.",
    "no_show": "Bei Nichterscheinen fallen zusätzlich zur vollen Stornogebühr {amount} an.",
    "reschedule": "Eine Terminverschiebung kostet {amount}; der Rest des Gezahlten wird auf den neuen Termin übertragen.",
    "refund_rest": "Was über den einbehaltenen Betrag hinaus gezahlt wurde, wird erstattet.",
    "credit_rest": "Was über den einbehaltenen Betrag hinaus gezahlt wurde, wird einem neuen Termin gutgeschrieben.",
    "h_release": "Herausgabe nach vollständiger Zahlung",
    "h_notices": "Ihre Rechte und Hinweise",
    "release": "Die Leistungen werden erst herausgegeben, wenn der Plan einschließlich etwaiger Säumnisgebühren vollständig bezahlt ist.",
    "h_amendments": "Änderungen",
    "no_amendments": "Dieser Plan wurde nicht geändert.",
    "amendment": "{on}, Version {from_version} zu {to_version}: {what}. Durch {by}; Grund: {reason}; Zustimmung des Kunden: {consent}.",
    "yes": "ja",
    "no": "nein",
    "a_extend": "Rate {number} auf den {date} verschoben",
    "a_resplit": "Restbetrag neu aufgeteilt in {count} Zahlungen vom {first} bis {last}",
    "a_hardship": "Raten {first} bis {last} auf {amount} reduziert, die Differenz {where}",
    "a_hardship_later": "auf die späteren Raten verteilt",
    "a_hardship_catch": "fällig am {date}",
    "a_skip": "Rate {number} ausgesetzt, ihr Betrag auf {where} übertragen",
    "a_skip_next": "die nächste Rate",
    "a_skip_spread": "die späteren Raten",
    "a_move": "Termin auf den {date} verlegt",
    "a_tier": "Paket geändert zu {tier} für {fee}",
    "a_addon": "Zusatzleistung {name} ({amount}) hinzugefügt",
    "a_waive": "{amount} erlassen ({what})",
    "h_signatures": "Unterschriften",
    "signature": "Unterschrift",
    "date": "Datum",
    "statement_for": "Plan {plan_id}, {package}, Stand {as_of}.",
    "col_paid": "Bezahlt",
    "col_outstanding": "Offen",
    "col_status": "Status",
    "st_paid": "bezahlt",
    "st_partial": "teilweise bezahlt",
    "st_due": "heute fällig",
    "st_overdue": "{days} Tage überfällig",
    "st_upcoming": "anstehend",
    "st_waived": "erlassen",
    "st_cancelled": "storniert",
    "h_summary": "Übersicht",
    "due_to_date": "Bisher fällig",
    "paid_net": "Bezahlt (abzüglich Erstattungen)",
    "fees": "Säumnisgebühren",
    "waived": "Erlassene Gebühren",
    "credits": "Gutschriften",
    "written_off": "Abgeschrieben",
    "balance": "Saldo",
    "next_due": "Nächste Zahlung",
    "next_due_value": "{amount} fällig am {due}",
    "nothing_due": "nichts mehr fällig",
    "overdue_now": "Derzeit überfällig",
    "h_activity": "Buchungen",
    "col_date": "Datum",
    "col_entry": "Buchung",
    "e_payment": "Zahlung erhalten",
    "e_payment_failed": "Zahlung fehlgeschlagen",
    "e_refund": "Erstattung",
    "e_late_fee": "Säumnisgebühr (Rate {number})",
    "e_fee_waived": "Gebühr erlassen",
    "e_credit": "Gutschrift",
    "e_write_off": "Abgeschrieben",
    "e_cancellation": "Storniert: {amount} einbehalten",
    "no_activity": "Noch keine Zahlungen oder Gebühren verbucht.",
    "status": "Status: {status}.",
    "ps_on_track": "planmäßig",
    "ps_overdue": "überfällig",
    "ps_paid_in_full": "vollständig bezahlt",
    "ps_cancelled": "storniert",
    "ps_defaulted": "ausgefallen",
    "percent_sign": "{n} %",
    "cutoff_1": "Alle Zahlungen sind spätestens am {cutoff} fällig, 1 Tag vor dem Termin.",
    "relative_1": "1 Tag vor dem Termin",
    "inc_early_payment_1": "Ein Nachlass von {worth} auf jede Rate, die mindestens 1 Tag vor Fälligkeit vollständig bezahlt wird",
    "grace_1": "Innerhalb einer Karenzzeit von 1 Tag nach Fälligkeit wird keine Säumnisgebühr erhoben.",
    "step_flat_1": "{amount}, sobald eine Zahlung 1 Tag überfällig ist",
    "step_percent_1": "{pct} des überfälligen Betrags, sobald eine Zahlung 1 Tag überfällig ist",
    "window_1": "Bei Stornierung innerhalb von 1 Tag vor dem Termin werden {pct} des Preises einbehalten.",
    "st_overdue_1": "1 Tag überfällig",
}

_WORDING: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"en": MappingProxyType(_EN), "de": MappingProxyType(_DE)}
)


class _Words:
    """Wording, money, dates and percents for one locale."""

    def __init__(self, locale: str) -> None:
        from babel import Locale, UnknownLocaleError

        try:
            loc = Locale.parse(locale)
        except (UnknownLocaleError, ValueError, TypeError):
            raise InvalidPlanError(f"expected a locale such as 'en_US' or 'de_DE', got {locale!r}") from None
        self.locale = locale
        self.language = loc.language
        self.text = _WORDING.get(loc.language, _EN)

    def __call__(self, key: str, **values: object) -> str:
        # A sentence about exactly one day has its own singular wording.
        if values.get("days") == 1 and f"{key}_1" in self.text:
            key = f"{key}_1"
        return self.text[key].format(**values)

    def money(self, m: Money) -> str:
        return m.format(self.locale)

    def date(self, d: dt.date) -> str:
        from babel.dates import format_date

        return str(format_date(d, "long", locale=self.locale))

    def short_date(self, d: dt.date) -> str:
        from babel.dates import format_date

        return str(format_date(d, "medium", locale=self.locale))

    def pct(self, p: Decimal) -> str:
        from babel.numbers import format_decimal

        n = p.normalize()
        if n == n.to_integral_value():
            n = n.quantize(Decimal(1))
        return self("percent_sign", n=format_decimal(n, locale=self.locale))


# -- blocks ---------------------------------------------------------------------------------


@frozen
class _Heading:
    text: str


@frozen
class _Para:
    text: str


@frozen
class _List:
    items: tuple[str, ...]


@frozen
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: tuple[int, ...] = ()


_Block: TypeAlias = _Heading | _Para | _List | _Table


def _md_inline(text: str) -> str:
    out = text
    for ch in ("\\", "*", "`", "[", "]", "<", ">"):
        out = out.replace(ch, "\\" + ch)
    return out


def _md_cell(text: str) -> str:
    # Inside a table cell only inline markup matters (a leading "-" is text).
    return _md_inline(text).replace("|", "\\|").replace("\n", " ")


_MD_LINE_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([#+=-])", re.MULTILINE)


def _md_text(text: str) -> str:
    # Escape what would turn the plan's data into Markdown markup or raw HTML;
    # a leading "1." or "#" would start a list or a heading.
    out = _md_inline(text)
    return _MD_LINE_START.sub(
        lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}" if m.group(2) else f"{m.group(4)}\\{m.group(5)}", out
    )


def _render_md(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            out.append(f"## {_md_text(b.text)}")
        elif isinstance(b, _Para):
            out.append(_md_text(b.text))
        elif isinstance(b, _List):
            out.append("\n".join(f"- {_md_text(i)}" for i in b.items))
        else:
            head = "| " + " | ".join(_md_cell(h) for h in b.headers) + " |"
            rule = "|" + "|".join("---:" if i in b.right else "---" for i in range(len(b.headers))) + "|"
            rows = ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            out.append("\n".join([head, rule, *rows]))
    return "\n\n".join(out)


def _render_html(blocks: Sequence[_Block]) -> str:
    e = html.escape
    out: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            out.append(f"<h2>{e(b.text)}</h2>")
        elif isinstance(b, _Para):
            out.append(f"<p>{e(b.text)}</p>")
        elif isinstance(b, _List):
            out.append("<ul>\n" + "\n".join(f"  <li>{e(i)}</li>" for i in b.items) + "\n</ul>")
        else:
            out.append(_html_table(b))
    return "\n".join(out)


def _html_cell(tag: str, right: bool, text: str) -> str:
    align = ' style="text-align:right"' if right else ""
    return f"<{tag}{align}>{html.escape(text)}</{tag}>"


def _html_table(b: _Table) -> str:
    head = "<tr>" + "".join(_html_cell("th", i in b.right, h) for i, h in enumerate(b.headers)) + "</tr>"
    rows = [
        "<tr>" + "".join(_html_cell("td", i in b.right, c) for i, c in enumerate(r)) + "</tr>" for r in b.rows
    ]
    return "<table>\n<thead>" + head + "</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"


def _wrap(text: str, width: int = 78, indent: str = "") -> str:
    import textwrap

    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=" " * len(indent)) or indent


def _render_txt(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, _Heading):
            out.append(f"{b.text}\n{'-' * len(b.text)}")
        elif isinstance(b, _Para):
            out.append(_wrap(b.text))
        elif isinstance(b, _List):
            out.append("\n".join(_wrap(i, indent="  * ") for i in b.items))
        else:
            out.append(_txt_table(b))
    return "\n\n".join(out)


def _txt_line(cells: Sequence[str], widths: Sequence[int], right: Sequence[int]) -> str:
    return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip()


def _txt_table(b: _Table) -> str:
    widths = [len(h) for h in b.headers]
    for r in b.rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    rule = "  ".join("-" * n for n in widths)
    lines = [_txt_line(b.headers, widths, b.right), rule, *(_txt_line(r, widths, b.right) for r in b.rows)]
    return "\n".join(lines)


_RENDERERS: dict[str, Callable[[Sequence[_Block]], str]] = {
    "md": _render_md,
    "html": _render_html,
    "txt": _render_txt,
}


# -- templates -------------------------------------------------------------------------------

_AGREEMENT_SECTIONS = (
    "parties",
    "package",
    "deposit",
    "schedule",
    "incentives",
    "late_fees",
    "cancellation",
    "release",
    "amendments",
    "signatures",
)
_STATEMENT_SECTIONS = ("header", "installments", "summary", "activity")


def _default_template(title_md: str, title_txt: str, sections: Sequence[str]) -> dict[str, str]:
    body_md = "\n\n".join(f"${s}" for s in sections)
    body_html = "\n".join(f"<section>\n${s}\n</section>" for s in sections)
    return {
        "md": f"# ${title_md}\n\n{body_md}\n",
        "txt": f"${title_txt}\n${{title_rule}}\n\n{body_md}\n",
        "html": (
            '<!DOCTYPE html>\n<html lang="$lang">\n<head>\n<meta charset="utf-8">\n'
            "<title>$title</title>\n</head>\n<body>\n<h1>$title</h1>\n"
            f"{body_html}\n</body>\n</html>\n"
        ),
    }


DEFAULT_AGREEMENT_TEMPLATES: Mapping[str, str] = MappingProxyType(
    _default_template("title", "title", _AGREEMENT_SECTIONS)
)
"""The built-in agreement templates by format (:class:`string.Template` syntax). Placeholders: one per
section (``$parties``, ``$package``, ``$deposit``, ``$schedule``, ``$incentives``, ``$late_fees``,
``$cancellation``, ``$release``, ``$amendments``, ``$signatures``), already rendered in the format, and
the values ``$title``, ``$title_rule``, ``$lang``, ``$business``, ``$client``, ``$plan_id``,
``$package_name``, ``$fee``, ``$total``, ``$booked``, ``$session``, ``$cutoff`` (escaped for HTML).
"""

# With disclosures to state (render_agreement's *notices*): the same, with $notices after the cancellation.
_NOTICE_SECTIONS = (*_AGREEMENT_SECTIONS[:7], "notices", *_AGREEMENT_SECTIONS[7:])
_AGREEMENT_WITH_NOTICES: Mapping[str, str] = MappingProxyType(_default_template("title", "title", _NOTICE_SECTIONS))

DEFAULT_STATEMENT_TEMPLATES: Mapping[str, str] = MappingProxyType(
    _default_template("title", "title", _STATEMENT_SECTIONS)
)
"""The built-in statement templates by format. Placeholders: ``$header``, ``$installments``, ``$summary``,
``$activity`` and the values of the agreement templates plus ``$as_of`` and ``$balance``.
"""


def _check_plan(plan: object) -> None:
    if type(plan) is not PaymentPlan:
        raise InvalidPlanError(f"expected a PaymentPlan, got {type(plan).__name__} {plan!r}")


def _fill(
    template: str | string.Template | None,
    defaults: Mapping[str, str],
    fmt: str,
    sections: Mapping[str, Sequence[_Block]],
    values: Mapping[str, str],
) -> str:
    if fmt not in _FORMATS:
        raise InvalidPlanError(f"expected a format of md, html or txt, got {fmt!r}")
    render = _RENDERERS[fmt]
    mapping = {name: render(blocks) for name, blocks in sections.items()}
    esc: Callable[[str], str] = html.escape if fmt == "html" else _md_text if fmt == "md" else str
    for key, value in values.items():
        mapping[key] = esc(value)
    mapping["title_rule"] = "=" * len(values.get("title", ""))
    if template is not None and not isinstance(template, (str, string.Template)):
        raise InvalidPlanError(
            f"expected the template as a str or string.Template, got {type(template).__name__} {template!r}"
        )
    tpl = template if isinstance(template, string.Template) else string.Template(
        defaults[fmt] if template is None else template
    )
    try:
        return tpl.substitute(mapping)
    except KeyError as exc:
        raise InvalidPlanError(
            f"the template uses ${exc.args[0]}, which is not one of {', '.join(sorted(mapping))}"
        ) from None
    except ValueError as exc:
        raise InvalidPlanError(f"expected a valid string.Template, got one that fails: {exc}") from None


# -- agreement sections ------------------------------------------------------------------------


def _package_name(plan: PaymentPlan, w: _Words) -> str:
    return plan.tier or w("custom")


def _deposit_rule(plan: PaymentPlan, w: _Words) -> str:
    rule = plan.terms.deposit
    kind = rule.kind
    if kind == "percent" and rule.percent_ is not None:
        return w("rule_percent", pct=w.pct(rule.percent_))
    if kind == "percent_or_minimum" and rule.percent_ is not None and rule.amount is not None:
        return w("rule_minimum", pct=w.pct(rule.percent_), minimum=w.money(rule.amount))
    return w("rule_fixed")


def _kind(kind: InstallmentKind, w: _Words) -> str:
    return w(f"{kind.value}_kind")


def _schedule_table(plan: PaymentPlan, w: _Words) -> _Table:
    rows = []
    for i in plan.installments:
        note = i.label or ""
        if i.days_before_session is not None:
            rel = w("relative", days=i.days_before_session)
            note = f"{note}; {rel}" if note else rel
        rows.append((str(i.number), _kind(i.kind, w), w.short_date(i.due), w.money(i.amount), note))
    rows.append(("", w("sum"), "", w.money(plan.total), ""))
    return _Table(
        (w("col_number"), w("col_payment"), w("col_due"), w("col_amount"), w("col_note")),
        tuple(rows),
        right=(0, 3),
    )


def _incentive(inc: Incentive, plan: PaymentPlan, w: _Words) -> str:
    k = inc.kind
    if inc.amount is not None:
        worth = w.money(inc.amount)
    elif inc.percent is not None:
        worth = w("of_installment" if k is IncentiveKind.EARLY_PAYMENT else "of_fee", pct=w.pct(inc.percent))
        if k is IncentiveKind.PAY_IN_FULL or k is IncentiveKind.BOOKED_BY or k is IncentiveKind.LOYALTY:
            worth += f" ({w.money(inc.value_on(plan.fee))})"
    else:  # pragma: no cover - Incentive requires one of them
        worth = ""
    by = w.date(inc.by) if inc.by is not None else w("the_booking_date")
    text = w(
        f"inc_{k.value}", worth=worth, by=by, days=inc.days_early, count=inc.min_on_time,
        name=inc.name or k.value,
    )
    if k is IncentiveKind.REFERRAL and inc.name:
        text += f" ({inc.name})"
    return text + w("clawback" if inc.clawback else "kept")


def _late_fee_blocks(policy: LateFeePolicy | None, plan: PaymentPlan, w: _Words) -> list[_Block]:
    blocks: list[_Block] = [_Heading(w("h_late"))]
    if policy is None:
        return [*blocks, _Para(w("no_late_fees"))]
    if policy.grace_days:
        blocks.append(_Para(w("grace", days=policy.grace_days)))
    steps = []
    for s in policy.steps:
        days = policy.applies_on(s)
        if s.amount is not None:
            steps.append(w("step_flat", amount=w.money(s.amount), days=days))
        elif s.percent is not None:
            steps.append(w("step_percent", pct=w.pct(s.percent), days=days))
    blocks.append(_Para(w("ladder")))
    blocks.append(_List(tuple(steps)))
    cap_text = ""
    if policy.cap is not None and policy.cap_percent is not None:
        cap_text = w("cap_both", cap=w.money(policy.cap), pct=w.pct(policy.cap_percent))
    elif policy.cap is not None:
        cap_text = w("cap", cap=w.money(policy.cap))
    elif policy.cap_percent is not None:
        limit = policy.cap_for(plan.fee)
        cap_text = w("cap_percent", pct=w.pct(policy.cap_percent))
        if limit is not None:
            cap_text = cap_text[:-1] + f" ({w.money(limit)})."
    tail = [cap_text] if cap_text else []
    tail.append(w("fee_on_fee" if policy.fee_on_fee else "no_fee_on_fee"))
    tail.append(w(f"collect_{policy.collect.value}"))  # when the daily run charges it: the terms' own word
    blocks.append(_Para(" ".join(tail)))
    return blocks


def _cancellation_blocks(policy: CancellationPolicy | None, w: _Words) -> list[_Block]:
    blocks: list[_Block] = [_Heading(w("h_cancel"))]
    if policy is None:
        return [*blocks, _Para(w("no_policy"))]
    items = [w("deposit_refundable" if policy.deposit_refundable else "deposit_kept")]
    for win in sorted(policy.windows, key=lambda x: -x.within_days):
        items.append(w("window", days=win.within_days, pct=w.pct(win.percent)))
    if policy.no_show_fee is not None:
        items.append(w("no_show", amount=w.money(policy.no_show_fee)))
    if policy.reschedule_fee is not None:
        items.append(w("reschedule", amount=w.money(policy.reschedule_fee)))
    items.append(w("credit_rest" if policy.credit_instead_of_refund else "refund_rest"))
    return [*blocks, _List(tuple(items))]


def _describe(record: AmendmentRecord, w: _Words) -> str:
    a = record.amendment
    if isinstance(a, ExtendDueDate):
        return w("a_extend", number=a.number, date=w.date(a.to))
    if isinstance(a, Resplit):
        dates = a.new_dates()
        return w("a_resplit", count=len(dates), first=w.date(dates[0]), last=w.date(dates[-1]))
    if isinstance(a, HardshipReduction):
        where = (
            w("a_hardship_catch", date=w.date(a.catch_up_on))
            if a.catch_up_on is not None
            else w("a_hardship_later")
        )
        return w("a_hardship", first=a.first, last=a.first + a.count - 1, amount=w.money(a.amount), where=where)
    if isinstance(a, SkipPayment):
        return w("a_skip", number=a.number, where=w("a_skip_next" if a.onto == "next" else "a_skip_spread"))
    if isinstance(a, MoveSession):
        return w("a_move", date=w.date(a.to))
    if isinstance(a, ChangeTier):
        return w("a_tier", tier=a.tier, fee=w.money(a.fee))
    if isinstance(a, AddAddOn):
        return w("a_addon", name=a.name, amount=w.money(a.amount))
    return w("a_waive", amount=w.money(a.amount), what=a.what)


def _amendment_blocks(plan: PaymentPlan, history: Iterable[AmendmentRecord], w: _Words) -> list[_Block]:
    records = [r for r in history if r.plan_id == plan.id and r.to_version <= plan.version]
    blocks: list[_Block] = [_Heading(w("h_amendments"))]
    if not records:
        return [*blocks, _Para(w("no_amendments"))]
    items = tuple(
        w(
            "amendment", on=w.date(r.on), from_version=r.from_version, to_version=r.to_version,
            what=_describe(r, w), by=r.by, reason=r.reason, consent=w("yes" if r.consent else "no"),
        )
        for r in records
    )
    return [*blocks, _List(items)]


def _common_values(plan: PaymentPlan, parties: Parties, w: _Words, title: str) -> dict[str, str]:
    return {
        "title": title,
        "lang": w.language,
        "business": parties.business,
        "client": parties.client or plan.client or "",
        "plan_id": plan.id,
        "package_name": _package_name(plan, w),
        "fee": w.money(plan.fee),
        "total": w.money(plan.total),
        "booked": w.date(plan.booked),
        "session": w.date(plan.session),
        "cutoff": w.date(plan.cutoff),
    }


def _notice_texts(notices: Iterable[Finding]) -> tuple[str, ...]:
    """The words each finding asks the agreement to state, once each, in order."""
    seen: dict[str, None] = {}
    for f in notices:
        text = getattr(f, "notice", None)
        if not hasattr(f, "rule") or not (text is None or isinstance(text, str)):
            raise InvalidPlanError(f"expected notices as payplan.guardrails.Finding values, got {f!r}")
        if text:
            seen.setdefault(text)
    return tuple(seen)


def agreement_sections(
    plan: PaymentPlan, *, locale: str = "en_US", parties: Parties | None = None,
    history: Iterable[AmendmentRecord] = (), notices: Iterable[Finding] = (),
) -> dict[str, list[_Block]]:
    """The agreement's sections as blocks (the model every format renders)."""
    w = _Words(locale)
    p = parties or Parties()
    values = _common_values(plan, p, w, w("agreement"))
    terms = plan.terms
    package: list[_Block] = [
        _Heading(w("h_package")),
        _Para(
            w("package", package=values["package_name"], plan_id=plan.id, booked=values["booked"],
              session=values["session"])
        ),
        _Para(w("fee", fee=values["fee"])),
    ]
    if plan.finance_charge is not None and plan.finance_charge.minor:
        package.append(
            _Para(w("finance", apr=w.pct(terms.apr), charge=w.money(plan.finance_charge), total=values["total"]))
        )
    else:
        package.append(_Para(w("total", total=values["total"])))
    dep = plan.deposit
    deposit: list[_Block] = [_Heading(w("h_deposit"))]
    if dep is None:
        deposit.append(_Para(w("no_deposit")))
    else:
        deposit.append(
            _Para(w("deposit", amount=w.money(dep.amount), due=w.date(dep.due), rule=_deposit_rule(plan, w)))
        )
    days = terms.final_due_days_before
    cutoff = w("cutoff", cutoff=values["cutoff"], days=days) if days else w("cutoff_0", cutoff=values["cutoff"])
    incentives = tuple(_incentive(i, plan, w) for i in terms.incentives)
    business = w("business_named", name=p.business) if p.business else w("the_business")
    client = w("client_named", name=values["client"]) if values["client"] else w("the_client")
    return {
        "parties": [_Para(w("parties", business=business, client=client))],
        "package": package,
        "deposit": deposit,
        "schedule": [_Heading(w("h_schedule")), _schedule_table(plan, w), _Para(cutoff)],
        "incentives": [
            _Heading(w("h_incentives")),
            _List(incentives) if incentives else _Para(w("no_incentives")),
        ],
        "late_fees": _late_fee_blocks(terms.late_fees, plan, w),
        "cancellation": _cancellation_blocks(terms.cancellation, w),
        "release": [_Heading(w("h_release")), _Para(w("release"))],
        "notices": [_Heading(w("h_notices")), _List(texts)] if (texts := _notice_texts(notices)) else [],
        "amendments": _amendment_blocks(plan, history, w),
        "signatures": [
            _Heading(w("h_signatures")),
            _Table(
                ("", w("signature"), w("date")),
                (
                    (" ".join(filter(None, (w("business") + ":", values["business"]))), "_" * 24, "_" * 12),
                    (" ".join(filter(None, (w("client") + ":", values["client"]))), "_" * 24, "_" * 12),
                ),
            ),
        ],
    }


def render_agreement(
    plan: PaymentPlan,
    *,
    format: DocumentFormat = "md",
    locale: str = "en_US",
    parties: Parties | None = None,
    history: Iterable[AmendmentRecord] = (),
    template: str | string.Template | None = None,
    notices: Iterable[Finding] = (),
) -> str:
    """The payment agreement for *plan*, rendered from the plan's own objects.

    It states the parties, the package, fee and deposit, the full schedule,
    the cutoff, the incentives, the late-fee ladder and grace period, the
    cancellation windows, the release-on-full-payment clause and the
    amendment history, with money and dates formatted for *locale*.

    Args:
        plan: The plan (its terms carry the policies).
        format: ``"md"``, ``"html"`` or ``"txt"``.
        locale: A Babel locale (``"en_US"``, ``"de_DE"``); German wording for
            ``de_*``, English wording otherwise.
        parties: The business's and the client's names.
        history: The plan's :class:`AmendmentRecord` values (for example
            ``PlanHistory.records``); those of later versions are left out.
        template: A replacement for :data:`DEFAULT_AGREEMENT_TEMPLATES`
            (``string.Template`` text with the same placeholders, and
            ``$notices`` for the disclosures).
        notices: The guardrail findings of the plan where it is sold
            (:func:`payplan.guardrails.check`): the disclosures they ask for
            are stated under "Your rights and notices", after the
            cancellation terms (in English whatever the locale).

    Raises:
        InvalidPlanError: an unknown format or locale, a template that
            uses an unknown placeholder, or one without ``$notices`` when
            there are disclosures to state.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *notices*.
    """
    _check_plan(plan)
    w = _Words(locale)
    found = tuple(notices)
    sections = agreement_sections(plan, locale=locale, parties=parties, history=history, notices=found)
    values = _common_values(plan, parties or Parties(), w, w("agreement"))
    defaults = DEFAULT_AGREEMENT_TEMPLATES
    if sections["notices"]:
        defaults = _AGREEMENT_WITH_NOTICES
        if template is not None:
            tpl = template if isinstance(template, string.Template) else (
                string.Template(template) if isinstance(template, str) else None
            )
            if tpl is not None and "notices" not in tpl.get_identifiers():
                raise InvalidPlanError(
                    "expected the template to place $notices: the plan has disclosures the agreement must "
                    f"state ({', '.join(sorted({f.rule for f in found if getattr(f, 'notice', None)}))})"
                )
    return _fill(template, defaults, format, sections, values)


# -- statement -----------------------------------------------------------------------------------


def _state(state: InstallmentState, days: int, w: _Words) -> str:
    if state is InstallmentState.OVERDUE:
        return w("st_overdue", days=days)
    return w(f"st_{state.value}")


def _entry_row(entry: object, w: _Words, cur: Money) -> tuple[str, str, str] | None:
    if isinstance(entry, PaymentReceived):
        return (w.short_date(entry.on), w("e_payment"), w.money(entry.amount))
    if isinstance(entry, Refund):
        return (w.short_date(entry.on), w("e_refund"), w.money(-entry.amount))
    if isinstance(entry, LateFeeAssessed):
        return (w.short_date(entry.on), w("e_late_fee", number=entry.installment), w.money(entry.amount))
    if isinstance(entry, FeeWaived):
        return (w.short_date(entry.on), w("e_fee_waived"), w.money(-entry.amount))
    if isinstance(entry, CreditApplied):
        label = w("e_credit") + (f": {entry.reason}" if entry.reason else "")
        return (w.short_date(entry.on), label, w.money(-entry.amount))
    if isinstance(entry, WriteOff):
        return (w.short_date(entry.on), w("e_write_off"), w.money(-entry.amount))
    if isinstance(entry, CancellationSettled):
        return (w.short_date(entry.on), w("e_cancellation", amount=w.money(entry.amount)), "")
    if isinstance(entry, PaymentFailed):
        amount = w.money(entry.amount) if entry.amount is not None else ""
        return (w.short_date(entry.on), w("e_payment_failed") + (f" ({entry.reason})" if entry.reason else ""), amount)
    return None


def statement_sections(
    plan: PaymentPlan, ledger: Ledger, as_of: dt.date, *, locale: str = "en_US", day: PlanDay | None = None
) -> tuple[dict[str, list[_Block]], dict[str, str]]:
    """The statement's sections as blocks, and its template values, read from the plan's one view of the day."""
    w = _Words(locale)
    today = day_of(plan, ledger, as_of, day)
    st = today.statement
    view = today.view
    cur = plan.fee.currency
    rows = []
    due_to_date = 0
    next_line: tuple[Money, dt.date] | None = None
    overdue = 0
    for s in st.installments:
        inst = s.installment
        cancelled = s.status is InstallmentState.CANCELLED
        # A cancelled installment is no longer owed: the settlement says what is.
        outstanding = _money(0, cur) if cancelled else s.outstanding
        if inst.due <= as_of and not cancelled:
            due_to_date += inst.amount.minor
        if s.status is InstallmentState.OVERDUE:
            overdue += outstanding.minor
        elif next_line is None and outstanding.minor:
            next_line = (outstanding, inst.due)
        rows.append(
            (
                str(inst.number), w.short_date(inst.due), w.money(inst.amount), w.money(s.paid),
                w.money(outstanding), _state(s.status, s.days_overdue, w),
            )
        )
    # Money owed that is not an installment (late fees, what a cancellation
    # left owed) is owed from the day it was charged (the next payment when
    # no installment is left to pay), and overdue now from the day after, as
    # payplan.overdue() and the reports count it.
    owed_fees = today.fees
    if owed_fees:
        fee_total = sum(f.outstanding.minor for f in owed_fees)
        overdue += sum(f.outstanding.minor for f in owed_fees if f.days_overdue(as_of) > 0)
        if next_line is None:
            next_line = (_money(fee_total, cur), min(f.on for f in owed_fees))
    summary: list[tuple[str, str]] = [
        (w("due_to_date"), w.money(_money(due_to_date, cur))),
        (w("paid_net"), w.money(view.net_paid)),
        (w("fees"), w.money(view.fees)),
        (w("waived"), w.money(-view.waived)),
        (w("credits"), w.money(-view.credits)),
    ]
    if view.written_off.minor:
        summary.append((w("written_off"), w.money(-view.written_off)))
    summary.append((w("balance"), w.money(st.balance)))
    if overdue:
        summary.append((w("overdue_now"), w.money(_money(overdue, cur))))
    summary.append(
        (
            w("next_due"),
            w("next_due_value", amount=w.money(next_line[0]), due=w.date(next_line[1]))
            if next_line is not None
            else w("nothing_due"),
        )
    )
    activity_rows = [r for e in view.canonical() if (r := _entry_row(e, w, plan.fee)) is not None]
    values = {
        "as_of": w.date(as_of),
        "balance": w.money(st.balance),
    }
    header: list[_Block] = [
        _Para(w("statement_for", plan_id=plan.id, package=_package_name(plan, w), as_of=values["as_of"])),
        _Para(w("status", status=w(f"ps_{st.status.value}"))),
    ]
    sections: dict[str, list[_Block]] = {
        "header": header,
        "installments": [
            _Heading(w("h_schedule")),
            _Table(
                (w("col_number"), w("col_due"), w("col_amount"), w("col_paid"), w("col_outstanding"),
                 w("col_status")),
                tuple(rows),
                right=(0, 2, 3, 4),
            ),
        ],
        "summary": [_Heading(w("h_summary")), _Table(("", w("col_amount")), tuple(summary), right=(1,))],
        "activity": [
            _Heading(w("h_activity")),
            _Table((w("col_date"), w("col_entry"), w("col_amount")), tuple(activity_rows), right=(2,))
            if activity_rows
            else _Para(w("no_activity")),
        ],
    }
    return sections, values


def render_statement(
    plan: PaymentPlan,
    ledger: Ledger,
    as_of: dt.date,
    *,
    format: DocumentFormat = "md",
    locale: str = "en_US",
    parties: Parties | None = None,
    template: str | string.Template | None = None,
    day: PlanDay | None = None,
) -> str:
    """A statement of *plan* on *as_of*: what was due, paid, fees, credits, balance, next due.

    Every figure comes from :func:`plan_status` and the ledger's own
    totals, counting only entries dated on or before *as_of*.

    Args:
        plan: The plan (the current version).
        ledger: Its ledger.
        as_of: The statement date.
        format: ``"md"``, ``"html"`` or ``"txt"``.
        locale: A Babel locale for money, dates and wording.
        parties: The business's and the client's names.
        template: A replacement for :data:`DEFAULT_STATEMENT_TEMPLATES`.
        day: The plan's :class:`~payplan.PlanDay` on *as_of*, if already
            worked out (every figure is read from it).

    Raises:
        InvalidPlanError: an unknown format or locale, or a bad template.
        LedgerError: *ledger* belongs to another plan, or *day* is another
            plan's, ledger's or date's.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       *day*.
    """
    _check_plan(plan)
    w = _Words(locale)
    given = checked_day(plan, ledger, as_of, day)
    today = given if given is not None else PlanDay.of(plan, ledger, as_of)
    sections, extra = statement_sections(plan, ledger, as_of, locale=locale, day=today)
    values = _common_values(plan, parties or Parties(), w, w("statement"))
    values.update(extra)
    return _fill(template, DEFAULT_STATEMENT_TEMPLATES, format, sections, values)
