"""The evidence pack: frozen at signing, exported as JSON and printable HTML."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from payplan import (
    CancellationPolicy,
    DepositRule,
    InvalidPlanError,
    LateFeePolicy,
    Money,
    PaymentPlan,
    SerializationError,
    dumps_plan,
    render_agreement,
)
from payplan.guardrails import (
    Approval,
    EvidencePack,
    FirstPayment,
    Sale,
    Severity,
    Signing,
    StoredCredentialConsent,
)

AT = dt.datetime(2027, 1, 4, 10, 30, tzinfo=dt.UTC)


def plan() -> PaymentPlan:
    p = PaymentPlan.with_deposit(
        "ev-1", Money.of("1200.00", "GBP"), booked=dt.date(2027, 1, 4), session=dt.date(2027, 9, 1),
        deposit=DepositRule.percent(25), installments=3,
    )
    from attrs import evolve

    terms = evolve(
        p.terms, late_fees=LateFeePolicy.single(Money.of("10", "GBP"), grace_days=3),
        cancellation=CancellationPolicy(deposit_refundable=False),
    )
    return evolve(p, terms=terms)


def approval() -> Approval:
    return Approval("ada@example.com", AT, ip="203.0.113.7", user_agent="Mozilla/5.0 <script>")


def signing(p: PaymentPlan) -> Signing:
    return Signing(
        consent=StoredCredentialConsent.for_plan(p, last4="4242"),
        first_payment=FirstPayment("pi_123", "stripe", "authenticated"),
        express_request="Please start my course now; I understand I pay for what is provided if I cancel.",
    )


class TestEvidencePack:
    def test_it_keeps_what_a_dispute_needs(self) -> None:
        """Terms hash, the words shown, every rule's outcome, the consent, the first payment, the approval."""
        p = plan()
        text = render_agreement(p, format="txt")
        pack = EvidencePack.build(p, Sale("GB"), approval=approval(), signing=signing(p), agreement_text=text)
        assert pack.terms_sha256 == hashlib.sha256(dumps_plan(p, indent=None).encode()).hexdigest()
        assert pack.agreement_sha256 == hashlib.sha256(text.encode()).hexdigest()
        assert "non-refundable" in pack.cancellation_text
        assert "10.00" in pack.late_fee_text
        assert pack.late_fee_text in text
        assert pack.cancellation_text in text
        refs = {(f.ref, f.outcome, f.severity) for f in pack.findings}
        assert ("UK-3@1", "deposit_not_refundable", Severity.WARN) in refs
        assert ("UK-1@1", "late_fee", Severity.WARN) in refs
        assert pack.refusals == ()
        assert pack.consent is not None
        assert pack.consent.until == p.installments[-1].due
        assert pack.approval.ip == "203.0.113.7"
        assert pack.ruleset == "2026-12-06"

    def test_signed_without_the_card_records_it_keeps_the_refusal(self) -> None:
        """Signed with no consent and no first payment, the pack records CN-1 and CN-3 refusing."""
        pack = EvidencePack.build(plan(), Sale("GB"), approval=approval())
        assert {f.rule for f in pack.refusals} == {"CN-1", "CN-3"}

    def test_json_round_trip(self) -> None:
        """to_json and from_json give back the same pack; the JSON is stable (sorted keys)."""
        p = plan()
        pack = EvidencePack.build(p, Sale("GB"), approval=approval(), signing=signing(p))
        again = EvidencePack.from_json(pack.to_json())
        assert again == pack
        assert again.to_json() == pack.to_json()
        assert pack.sha256 == hashlib.sha256(pack.to_json().encode()).hexdigest()
        data = json.loads(pack.to_json())
        assert data["first_payment"] == {"reference": "pi_123", "provider": "stripe", "sca": "authenticated"}
        assert data["approval"]["at"] == "2027-01-04T10:30:00+00:00"

    @pytest.mark.parametrize(
        ("text", "message"),
        [("nope", "invalid JSON"), ("[]", "format 1"), ('{"format": 2}', "format 1"), ('{"format": 1}', "missing field")],
    )
    def test_bad_json(self, text: str, message: str) -> None:
        """A document that is not a pack is refused, saying why."""
        with pytest.raises(SerializationError, match=message):
            EvidencePack.from_json(text)

    def test_html_is_printable_and_escaped(self) -> None:
        """The HTML page shows the consent, the payment and the rules, with every value escaped."""
        p = plan()
        page = EvidencePack.build(p, Sale("GB"), approval=approval(), signing=signing(p)).to_html()
        assert page.startswith("<!DOCTYPE html>")
        assert "ending 4242" in page
        assert "pi_123 (stripe)" in page
        assert "UK-3@1" in page
        assert "Mozilla/5.0 &lt;script&gt;" in page
        assert "<script>" not in page
        assert "Not legal advice" in page

    def test_bad_values(self) -> None:
        """A naive approval time or a bad last four is refused."""
        with pytest.raises(InvalidPlanError, match="timezone-aware"):
            Approval("a", dt.datetime(2027, 1, 4))
        with pytest.raises(InvalidPlanError, match="last four digits"):
            StoredCredentialConsent("42424", "use", "notice")
        with pytest.raises(InvalidPlanError, match="expected approval as an Approval"):
            EvidencePack.build(plan(), Sale("GB"), approval="yes")  # type: ignore[arg-type]


class TestAgreementNotices:
    def test_the_agreement_states_the_disclosures(self) -> None:
        """The findings' notices appear under their heading, after the cancellation terms, in every format."""
        from payplan.guardrails import check

        p = plan()
        found = check(p, Sale("GB", card_currency="EUR"))
        md = render_agreement(p, notices=found)
        assert "## Your rights and notices" in md
        assert "You may cancel this booking within 14 days of the day it was made (until 2027-01-18)" in md
        assert "By paying the first payment now you approve the whole schedule above" in md
        assert "Your card is in EUR and this plan is in GBP" in md
        assert md.index("## Cancellation") < md.index("## Your rights and notices") < md.index("## Release")
        html = render_agreement(p, notices=found, format="html")
        assert "<h2>Your rights and notices</h2>" in html
        assert "Ihre Rechte und Hinweise" in render_agreement(p, notices=found, locale="de_DE", format="txt")

    def test_without_notices_the_agreement_is_unchanged(self) -> None:
        """No findings, or findings without notices, render the agreement as before."""
        from payplan.guardrails import check

        p = plan()
        assert render_agreement(p, notices=check(p, Sale("GB", consumer=False, payment_method="other"))) == render_agreement(p)

    def test_a_template_without_notices_is_refused_when_there_are_some(self) -> None:
        """A custom template that leaves out $notices cannot drop the disclosures silently."""
        from payplan.guardrails import check

        p = plan()
        with pytest.raises(InvalidPlanError, match=r"expected the template to place \$notices.*UK-3"):
            render_agreement(p, notices=check(p, Sale("GB")), template="$schedule")
        assert "14 days" in render_agreement(p, notices=check(p, Sale("GB")), template="$notices")
        assert render_agreement(p, template="$schedule $notices").endswith(" ")

    def test_bad_notices(self) -> None:
        """Notices that are not findings are refused."""
        with pytest.raises(InvalidPlanError, match=r"expected notices as payplan\.guardrails\.Finding"):
            render_agreement(plan(), notices=["cancel any time"])  # type: ignore[list-item]
