"""The evidence pack: one frozen record per plan, made at signing, for a chargeback or a regulator."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from attrs import field, frozen

from .._plan import PaymentPlan
from ..exceptions import InvalidPlanError, SerializationError
from ._check import check
from ._model import Basis, Finding, RuleSet, Sale, Severity
from ._rules import rules as shipped_rules
from ._signing import FirstPayment, Signing, StoredCredentialConsent

__all__ = ["Approval", "EvidencePack"]

#: The evidence pack's JSON format version.
FORMAT = 1


def _aware(_: object, __: object, value: dt.datetime) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidPlanError(f"expected the approval time as a timezone-aware datetime, got {value!r}")


def _opt_text(limit: int) -> Any:
    def check_(_: object, attribute: Any, value: str | None) -> None:
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise InvalidPlanError(f"expected {attribute.name} as text of at most {limit} characters or None, got {value!r}")

    return check_


def _signer(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise InvalidPlanError(f"expected signed_by as 1 to 500 characters (a name, an e-mail), got {value!r}")


@frozen
class Approval:
    """The client's approval, as the site passes it.

    Attributes:
        signed_by: Who approved (a name, an e-mail).
        at: When, timezone-aware.
        ip: The client's IP address, as the site saw it.
        user_agent: The client's browser, as it reported itself.

    .. versionadded:: 0.2.0
    """

    signed_by: str = field(validator=_signer)
    at: dt.datetime = field(validator=_aware)
    ip: str | None = field(default=None, validator=_opt_text(100))
    user_agent: str | None = field(default=None, validator=_opt_text(2000))

    def to_dict(self) -> dict[str, Any]:
        """The approval as JSON-ready values."""
        return {"signed_by": self.signed_by, "at": self.at.isoformat(), "ip": self.ip, "user_agent": self.user_agent}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _policy_texts(plan: PaymentPlan, locale: str) -> tuple[str, str]:
    """The cancellation and late-fee sections of the agreement, as the plain-text agreement words them."""
    from .._documents import _render_txt, agreement_sections

    sections = agreement_sections(plan, locale=locale)
    return _render_txt(sections["cancellation"]), _render_txt(sections["late_fees"])


def _as_findings(items: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(items)


@frozen
class EvidencePack:
    """What the client agreed to and how, frozen when they signed: one record per plan version.

    Build it with :meth:`build` when the client signs, keep its JSON with the
    signed agreement (``SignedAgreement(..., evidence=pack.to_json())``), and
    print it with :meth:`to_html` for a chargeback response.

    Attributes:
        plan_id: The plan.
        plan_version: The plan version signed.
        terms_sha256: SHA-256 of the plan's JSON (terms and schedule) as signed.
        agreement_sha256: SHA-256 of the agreement text shown, when given.
        cancellation_text: The cancellation terms exactly as shown.
        late_fee_text: The late-fee terms exactly as shown.
        sale: Where and how the plan was sold.
        ruleset: The version of the rules file the plan was checked against.
        findings: Every rule's finding (id, version, outcome, severity).
        consent: The stored-card consent, for card plans.
        first_payment: The first, client-initiated payment and its SCA result.
        ach_authorization: The ACH debit authorization text, for ACH plans.
        express_request: The client's express request to start inside the
            cancellation period, in the words they agreed to.
        approval: The client's approval: who, when, IP address, browser.

    .. versionadded:: 0.2.0
    """

    plan_id: str
    plan_version: int
    terms_sha256: str
    agreement_sha256: str | None
    cancellation_text: str
    late_fee_text: str
    sale: Sale
    ruleset: str
    findings: tuple[Finding, ...] = field(converter=_as_findings)
    consent: StoredCredentialConsent | None
    first_payment: FirstPayment | None
    ach_authorization: str | None
    express_request: str | None
    approval: Approval

    @classmethod
    def build(
        cls,
        plan: PaymentPlan,
        sale: Sale,
        *,
        approval: Approval,
        signing: Signing | None = None,
        agreement_text: str | None = None,
        cancellation_text: str | None = None,
        late_fee_text: str | None = None,
        locale: str = "en_US",
        rules: RuleSet | None = None,
    ) -> EvidencePack:
        """Freeze the evidence for *plan* as the client signs it.

        The plan is checked where it is sold, with what was recorded at
        signing (*signing*): a card plan without the stored-card consent or
        the first payment refuses, and the refusal is kept in the pack (see
        :attr:`refusals`; a site should not take the booking).

        Args:
            plan: The plan signed.
            sale: Where and how it is sold.
            approval: The client's approval.
            signing: The consent, first payment, ACH authorization and
                express request recorded at signing.
            agreement_text: The agreement exactly as shown, to keep its digest.
            cancellation_text: The cancellation words shown, when the site
                did not show payplan's own (default: the agreement's
                cancellation section, in *locale*).
            late_fee_text: The late-fee words shown (default: the
                agreement's late-fee section).
            locale: The agreement's locale, for the default texts.
            rules: The rules to check against (default: the shipped ones).

        Raises:
            InvalidPlanError: a value of the wrong type.
        """
        from ..serialization import dumps_plan

        if type(approval) is not Approval:
            raise InvalidPlanError(f"expected approval as an Approval, got {type(approval).__name__} {approval!r}")
        sig = signing if signing is not None else Signing()
        rs = rules if rules is not None else shipped_rules()
        findings = check(plan, sale, signing=sig, rules=rs)
        cancel_default, late_default = (
            _policy_texts(plan, locale) if cancellation_text is None or late_fee_text is None else ("", "")
        )
        return cls(
            plan.id,
            plan.version,
            _sha(dumps_plan(plan, indent=None)),
            None if agreement_text is None else _sha(agreement_text),
            cancel_default if cancellation_text is None else cancellation_text,
            late_default if late_fee_text is None else late_fee_text,
            sale,
            rs.version,
            findings,
            sig.consent,
            sig.first_payment,
            sig.ach_authorization,
            sig.express_request,
            approval,
        )

    @property
    def refusals(self) -> tuple[Finding, ...]:
        """The findings that refuse the plan as signed."""
        return tuple(f for f in self.findings if f.severity is Severity.REFUSE)

    def to_dict(self) -> dict[str, Any]:
        """The pack as JSON-ready values (the format :meth:`from_json` reads)."""
        return {
            "format": FORMAT,
            "plan_id": self.plan_id,
            "plan_version": self.plan_version,
            "terms_sha256": self.terms_sha256,
            "agreement_sha256": self.agreement_sha256,
            "cancellation_text": self.cancellation_text,
            "late_fee_text": self.late_fee_text,
            "sale": self.sale.to_dict(),
            "ruleset": self.ruleset,
            "findings": [f.to_dict() for f in self.findings],
            "consent": self.consent.to_dict() if self.consent else None,
            "first_payment": self.first_payment.to_dict() if self.first_payment else None,
            "ach_authorization": self.ach_authorization,
            "express_request": self.express_request,
            "approval": self.approval.to_dict(),
        }

    def to_json(self) -> str:
        """The pack as one JSON document (keys sorted, so the same pack is the same text)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)

    @property
    def sha256(self) -> str:
        """SHA-256 of :meth:`to_json`: cite it to show the pack was not changed."""
        return _sha(self.to_json())

    @classmethod
    def from_json(cls, text: str) -> EvidencePack:
        """Read a pack written by :meth:`to_json`.

        Raises:
            SerializationError: not a pack, a newer format, or a bad value.
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise SerializationError(f"expected an evidence pack as JSON, got invalid JSON: {exc}") from None
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise SerializationError(f"expected an evidence pack of format {FORMAT}, got {got!r}")
        try:
            consent = data["consent"]
            first = data["first_payment"]
            appr = data["approval"]
            return cls(
                data["plan_id"],
                data["plan_version"],
                data["terms_sha256"],
                data["agreement_sha256"],
                data["cancellation_text"],
                data["late_fee_text"],
                Sale.from_mapping(data["sale"]),
                data["ruleset"],
                tuple(
                    Finding(**{**f, "severity": Severity(f["severity"]), "basis": Basis(f["basis"])})
                    for f in data["findings"]
                ),
                None if consent is None else StoredCredentialConsent(
                    consent["last4"], consent["usage"], consent["change_notice"],
                    None if consent["until"] is None else dt.date.fromisoformat(consent["until"]),
                ),
                None if first is None else FirstPayment(first["reference"], first["provider"], first["sca"]),
                data["ach_authorization"],
                data["express_request"],
                Approval(appr["signed_by"], dt.datetime.fromisoformat(appr["at"]), appr["ip"], appr["user_agent"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SerializationError(f"expected a complete evidence pack, got a bad or missing field: {exc}") from None

    def to_html(self) -> str:
        """The pack as one printable HTML page (every value escaped)."""
        e = html.escape

        def row(name: str, value: object) -> str:
            shown = "&mdash;" if value is None or value == "" else e(str(value))
            return f"<tr><th scope=\"row\">{e(name)}</th><td>{shown}</td></tr>"

        def pre(text: str) -> str:
            return f"<pre>{e(text)}</pre>" if text else "<p>&mdash;</p>"

        a = self.approval
        head = [
            row("Plan", f"{self.plan_id} (version {self.plan_version})"),
            row("Terms SHA-256", self.terms_sha256),
            row("Agreement SHA-256", self.agreement_sha256),
            row("Sold in", f"{self.sale.where} ({'consumer' if self.sale.consumer else 'business'}, {self.sale.contract.value})"),
            row("Approved by", a.signed_by),
            row("Approved at", a.at.isoformat()),
            row("IP address", a.ip),
            row("User agent", a.user_agent),
            row("Evidence pack SHA-256", self.sha256),
        ]
        card: list[str] = []
        if self.consent is not None:
            c = self.consent
            card += [
                row("Card", f"ending {c.last4}"),
                row("How the card will be used", c.usage),
                row("How changes are notified", c.change_notice),
                row("Consent until", c.until.isoformat() if c.until else None),
            ]
        if self.first_payment is not None:
            f = self.first_payment
            card += [
                row("First payment (client-initiated)", f"{f.reference} ({f.provider})"),
                row("Strong customer authentication", f.sca.value if f.sca else "not reported"),
            ]
        if self.ach_authorization is not None:
            card.append(row("ACH debit authorization", self.ach_authorization))
        if self.express_request is not None:
            card.append(row("Express request to start inside the cancellation period", self.express_request))
        rules_rows = "".join(
            f"<tr><td>{e(f.ref)}</td><td>{e(f.severity.value)}</td><td>{e(f.message)}</td>"
            f"<td><a href=\"{e(f.source)}\">{e(f.source)}</a></td></tr>"
            for f in self.findings
        ) or "<tr><td colspan=\"4\">No rule applied.</td></tr>"
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>Evidence pack: {e(self.plan_id)}</title>\n"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3em;"
            "text-align:left;vertical-align:top}pre{white-space:pre-wrap}"
            "@media print{a{color:inherit;text-decoration:none}}</style>\n</head>\n<body>\n"
            f"<h1>Evidence pack: plan {e(self.plan_id)}</h1>\n"
            f"<table>{''.join(head)}</table>\n"
            f"<h2>Cancellation terms as shown</h2>\n{pre(self.cancellation_text)}\n"
            f"<h2>Late-fee terms as shown</h2>\n{pre(self.late_fee_text)}\n"
            f"<h2>Payment consent</h2>\n<table>{''.join(card) or row('Recorded', None)}</table>\n"
            f"<h2>Rules checked (rules file {e(self.ruleset)})</h2>\n"
            "<table><tr><th>Rule</th><th>Outcome</th><th>What</th><th>Source</th></tr>"
            f"{rules_rows}</table>\n"
            "<p>Not legal advice: payplan's guardrails record what was checked, not that the plan is lawful.</p>\n"
            "</body>\n</html>\n"
        )
