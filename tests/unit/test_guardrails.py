"""payplan.guardrails: every rule at its threshold, exactly at it and one past it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from attrs import evolve

from payplan import (
    CancellationPolicy,
    DepositRule,
    Incentive,
    IncentiveKind,
    InvalidPlanError,
    LateFeePolicy,
    LateFeeStep,
    Money,
    PaymentPlan,
)
from payplan.guardrails import (
    Basis,
    FirstPayment,
    Sale,
    Sca,
    Severity,
    Signing,
    StoredCredentialConsent,
    check,
    load_rules,
    rules,
)
from payplan.guardrails._check import CHECKS

BOOKED = dt.date(2027, 1, 4)
RULES_FILE = Path(__import__("payplan.guardrails", fromlist=["x"]).__file__).parent / "rules.toml"


def plan_of(amounts: list[str], *, cur: str = "USD", step: int = 30, booked: dt.date = BOOKED,
            session: dt.date | None = None, deposit: bool = True, last: dt.date | None = None) -> PaymentPlan:
    """A custom plan: the first amount at booking (the deposit), then one every *step* days."""
    dates = [booked + dt.timedelta(days=step * i) for i in range(len(amounts))]
    if last is not None:
        dates[-1] = last
    parts = [(d, Money.of(a, cur)) for d, a in zip(dates, amounts, strict=True)]
    return PaymentPlan.custom(
        "p", parts, booked=booked, session=session or dates[-1] + dt.timedelta(days=30), first_is_deposit=deposit
    )


def with_charge(plan: PaymentPlan, minor: int) -> PaymentPlan:
    """The same schedule, *minor* units of it a finance charge."""
    cur = plan.fee.currency
    return evolve(plan, fee=Money(plan.fee.minor - minor, cur), finance_charge=Money(minor, cur))


def with_terms(plan: PaymentPlan, **changes: object) -> PaymentPlan:
    return evolve(plan, terms=evolve(plan.terms, **changes))


def hits(findings: tuple, rule: str, outcome: str | None = None) -> list:
    return [f for f in findings if f.rule == rule and (outcome is None or f.outcome == outcome)]


class TestRulesFile:
    def test_every_required_rule_is_there_with_its_data(self) -> None:
        """The shipped rules carry each required id with a version, jurisdiction, thresholds, severity, remedy and source."""
        rs = rules()
        for rid in ("US-1", "US-2", "US-3", "US-4", "US-5", "US-7", "UK-1", "UK-3", "EU-1", "EU-2",
                    "AU-1", "CN-1", "CN-2", "CN-3", "CN-5"):
            rule = rs[rid]
            assert rule.version >= 1
            assert rule.jurisdiction
            assert rule.source.startswith("http")
            assert rule.outcomes
            assert all(o.remedy and o.says for o in rule.outcomes.values())
            assert rid in CHECKS

    def test_no_rule_on_a_secondary_basis_refuses(self) -> None:
        """In the shipped file, every refusing outcome rests on a primary source."""
        for rule in rules().rules:
            for o in rule.outcomes.values():
                assert o.severity is not Severity.REFUSE or o.basis is Basis.PRIMARY, (rule.id, o.key)

    @pytest.mark.parametrize("basis", ["secondary", "uncertain"])
    def test_loader_refuses_a_refusal_on_a_weak_basis(self, basis: str) -> None:
        """A rules file whose secondary or uncertain rule refuses is rejected when loaded."""
        text = RULES_FILE.read_text()
        bad = text.replace('[rule.outcomes.balloon]\nseverity = "warn"', '[rule.outcomes.balloon]\nseverity = "refuse"')
        assert bad != text
        with pytest.raises(InvalidPlanError, match=r"rule 'US-3'.*secondary basis may warn or disclose, never refuse"):
            load_rules(bad)
        # an outcome's own weaker basis counts too
        bad = text.replace(
            '[rule.outcomes.late_fee]\nseverity = "warn"\nbasis = "uncertain"',
            f'[rule.outcomes.late_fee]\nseverity = "refuse"\nbasis = "{basis}"', 1,
        )
        assert bad != text
        with pytest.raises(InvalidPlanError, match=f"{basis} basis may warn or disclose, never refuse"):
            load_rules(bad)

    def test_loader_names_a_missing_source(self) -> None:
        """A rule without sources is refused with its id."""
        text = RULES_FILE.read_text().replace(
            'sources = ["https://www.lawinsider.com/dictionary/payable-in-installments"]', "sources = []"
        )
        with pytest.raises(InvalidPlanError, match=r"rule 'US-3'.sources"):
            load_rules(text)

    def test_rules_are_not_read_when_payplan_is_imported(self) -> None:
        """`import payplan` loads neither the guardrails nor pycountry."""
        import subprocess
        import sys

        code = "import sys, payplan; print('payplan.guardrails' in sys.modules, 'pycountry' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.split() == ["False", "False"]


class TestSale:
    def test_codes(self) -> None:
        """ISO 3166 country and subdivision codes are read, case-insensitively."""
        assert Sale("us-ca").where == "US-CA"
        assert Sale("US-CA").country == "US"
        assert Sale("gb").where == "GB"

    @pytest.mark.parametrize("code", ["XX", "UK", "US-ZZ", "G", "GBR", "", "12"])
    def test_bad_codes(self, code: str) -> None:
        """A code that is not ISO 3166 is refused, naming it."""
        with pytest.raises(InvalidPlanError, match="ISO 3166"):
            Sale(code)

    def test_bad_facts(self) -> None:
        """Facts of the wrong type are refused with their name."""
        with pytest.raises(InvalidPlanError, match="consumer as true or false"):
            Sale("GB", consumer="yes")  # type: ignore[arg-type]
        with pytest.raises(InvalidPlanError, match="contract as one of"):
            Sale("GB", contract="online")
        with pytest.raises(InvalidPlanError, match="leisure-on-a-date exemption"):
            Sale("GB", leisure_exemption="  ")

    def test_round_trip(self) -> None:
        """A sale survives to_dict and from_mapping."""
        s = Sale("DE", contract="on_premises", leisure_exemption="a concert on 1 May", delivered=BOOKED)
        assert Sale.from_mapping(s.to_dict()) == s


class TestUS1:
    def test_four_installments_after_the_deposit_pass_five_warn(self) -> None:
        """At 4 installments after the deposit nothing; at 5 a warning naming 5 and 4."""
        at = plan_of(["100.00"] * 5)
        past = plan_of(["100.00"] * 6)
        assert hits(check(at, Sale("US")), "US-1") == []
        (f,) = hits(check(past, Sale("US")), "US-1")
        assert (f.severity, f.value, f.threshold) == (Severity.WARN, "5", "4")

    def test_the_deposit_is_not_counted(self) -> None:
        """Five payments without a deposit are five installments."""
        assert hits(check(plan_of(["100.00"] * 5, deposit=False), Sale("US")), "US-1", "installments")

    def test_a_client_who_may_stop_is_a_layaway(self) -> None:
        """Five installments the client may stop paying do not warn; US-2 records the reason."""
        found = check(plan_of(["100.00"] * 6), Sale("US", client_must_complete=False))
        assert hits(found, "US-1") == []
        assert [f.severity for f in hits(found, "US-2")] == [Severity.DISCLOSE]

    def test_one_cent_of_finance_charge_refuses(self) -> None:
        """No charge passes; one cent refuses whatever the count; licensed, it asks for disclosure."""
        plan = plan_of(["100.00"] * 3)
        assert hits(check(plan, Sale("US")), "US-1") == []
        (f,) = hits(check(with_charge(plan, 1), Sale("US")), "US-1")
        assert (f.severity, f.value) == (Severity.REFUSE, "0.01 USD")
        (f,) = hits(check(with_charge(plan, 1), Sale("US", credit_licensed=True)), "US-1")
        assert f.severity is Severity.DISCLOSE

    def test_business_clients_are_not_covered(self) -> None:
        """US-1 protects consumers only."""
        assert hits(check(with_charge(plan_of(["100.00"] * 6), 1), Sale("US", consumer=False)), "US-1") == []


class TestUS3:
    def test_twice_passes_a_cent_more_warns(self) -> None:
        """A payment exactly twice the smallest passes; one cent more is a balloon."""
        assert hits(check(plan_of(["50.00", "100.00", "200.00"]), Sale("US")), "US-3") == []
        (f,) = hits(check(plan_of(["50.00", "100.00", "200.01"]), Sale("US")), "US-3")
        assert f.severity is Severity.WARN
        assert f.threshold == "2"
        assert f.value.startswith("3 (200.01 USD")


class TestUS4:
    def test_a_pay_in_full_discount_warns(self) -> None:
        """No discount passes; a discount of one cent warns."""
        plan = plan_of(["100.00"] * 3)
        zero = with_terms(plan, incentives=(Incentive(IncentiveKind.PAY_IN_FULL, amount=Money.of("0", "USD")),))
        cent = with_terms(plan, incentives=(Incentive(IncentiveKind.PAY_IN_FULL, amount=Money.of("0.01", "USD")),))
        assert hits(check(zero, Sale("US")), "US-4") == []
        (f,) = hits(check(cent, Sale("US")), "US-4")
        assert (f.severity, f.value) == (Severity.WARN, "0.01 USD")


class TestUS5:
    def fee(self, amount: str, days: int) -> PaymentPlan:
        return with_terms(plan_of(["100.00"] * 3), late_fees=LateFeePolicy((LateFeeStep.flat(days, Money.of(amount, "USD")),)))

    def test_ten_dollars_at_ten_days(self) -> None:
        """$10.00 once 10 days late passes in California; $10.01 warns; so does $10 at 9 days."""
        assert hits(check(self.fee("10.00", 10), Sale("US-CA")), "US-5") == []
        (f,) = hits(check(self.fee("10.01", 10), Sale("US-CA")), "US-5")
        assert f.severity is Severity.WARN
        assert "10.00 USD once 10 days late" in f.threshold
        (f,) = hits(check(self.fee("10.00", 9), Sale("US-CA")), "US-5")
        assert f.threshold == "no fee before 10 days late"

    def test_fifteen_dollars_at_fifteen_days(self) -> None:
        """$15.00 once 15 days late passes; $15.01 warns."""
        assert hits(check(self.fee("15.00", 15), Sale("US-CA")), "US-5") == []
        assert hits(check(self.fee("15.01", 15), Sale("US-CA")), "US-5", "late_fee_cap")

    def test_one_fee_per_installment(self) -> None:
        """One late-fee step passes; a second step warns."""
        two = with_terms(plan_of(["100.00"] * 3), late_fees=LateFeePolicy(
            (LateFeeStep.flat(10, Money.of("5", "USD")), LateFeeStep.flat(20, Money.of("5", "USD")))
        ))
        (f,) = hits(check(two, Sale("US-CA")), "US-5")
        assert (f.outcome, f.value, f.threshold) == ("late_fee_count", "2", "1")

    def test_only_in_california(self) -> None:
        """Elsewhere in the US the California cap does not apply."""
        assert hits(check(self.fee("50.00", 1), Sale("US-NY")), "US-5") == []


class TestUS7:
    def test_ach_needs_an_authorization(self) -> None:
        """Before signing an ACH plan discloses; signed without an authorization it refuses; with one it passes."""
        plan = plan_of(["100.00"] * 3)
        sale = Sale("US", payment_method="ach")
        assert [f.outcome for f in hits(check(plan, sale), "US-7")] == ["authorization_needed"]
        (f,) = hits(check(plan, sale, signing=Signing()), "US-7")
        assert f.severity is Severity.REFUSE
        assert hits(check(plan, sale, signing=Signing(ach_authorization="I authorize...")), "US-7") == []
        assert hits(check(plan, Sale("US")), "US-7") == []

    def test_late_fees_change_the_amount(self) -> None:
        """Late fees on an ACH plan ask for the 10-day notice."""
        plan = with_terms(plan_of(["100.00"] * 3), late_fees=LateFeePolicy.single(Money.of("5", "USD")))
        (f,) = hits(check(plan, Sale("US", payment_method="ach")), "US-7", "amount_change")
        assert (f.severity, f.threshold) == (Severity.DISCLOSE, "10")


class TestUK1:
    def test_twelve_installments_pass_thirteen_refuse(self) -> None:
        """12 installments after the deposit pass; 13 refuse."""
        at = plan_of(["10.00"] * 13, cur="GBP", step=28)
        past = plan_of(["10.00"] * 14, cur="GBP", step=26)
        assert hits(check(at, Sale("GB")), "UK-1") == []
        (f,) = hits(check(past, Sale("GB")), "UK-1")
        assert (f.severity, f.outcome, f.value, f.threshold) == (Severity.REFUSE, "installments", "13", "12")

    def test_twelve_months_pass_a_day_more_refuses(self) -> None:
        """A last payment exactly 12 months after the agreement passes; a day later refuses."""
        at = plan_of(["10.00"] * 3, cur="GBP", last=dt.date(2028, 1, 4))
        past = plan_of(["10.00"] * 3, cur="GBP", last=dt.date(2028, 1, 5))
        assert hits(check(at, Sale("GB")), "UK-1") == []
        (f,) = hits(check(past, Sale("GB")), "UK-1")
        assert (f.outcome, f.value, f.threshold) == ("span", "2028-01-05", "2028-01-04")
        assert "later than the 12 months" in f.message

    def test_one_penny_of_charge_refuses(self) -> None:
        """No charge passes; one penny refuses; FCA-authorised, it is a disclosure."""
        plan = plan_of(["10.00"] * 3, cur="GBP")
        (f,) = hits(check(with_charge(plan, 1), Sale("GB")), "UK-1")
        assert (f.severity, f.value) == (Severity.REFUSE, "0.01 GBP")
        (f,) = hits(check(with_charge(plan, 1), Sale("GB", credit_licensed=True)), "UK-1")
        assert f.severity is Severity.DISCLOSE

    def test_late_fees_warn(self) -> None:
        """A late fee only warns: whether it is a charge is uncertain."""
        plan = with_terms(plan_of(["10.00"] * 3, cur="GBP"), late_fees=LateFeePolicy.single(Money.of("5", "GBP")))
        (f,) = hits(check(plan, Sale("GB")), "UK-1")
        assert (f.severity, f.basis) == (Severity.WARN, Basis.UNCERTAIN)

    def test_scotland_is_in_the_uk(self) -> None:
        """A subdivision of GB is checked under the GB rules."""
        assert hits(check(plan_of(["10.00"] * 14, cur="GBP", step=26), Sale("GB-SCT")), "UK-1")


class TestWithdrawal:
    """UK-3 and EU-2: the 14-day cancellation right of a consumer booking made at a distance."""

    def kept(self, cur: str) -> PaymentPlan:
        return with_terms(plan_of(["100.00"] * 3, cur=cur), cancellation=CancellationPolicy(deposit_refundable=False))

    @pytest.mark.parametrize(("where", "cur", "rule"), [("GB", "GBP", "UK-3"), ("FR", "EUR", "EU-2"), ("NO", "NOK", "EU-2")])
    def test_a_kept_deposit_warns_and_the_right_is_disclosed(self, where: str, cur: str, rule: str) -> None:
        """A non-refundable deposit warns (the source is secondary: never a refusal); the right is stated."""
        found = hits(check(self.kept(cur), Sale(where)), rule)
        assert {f.outcome: f.severity for f in found} == {
            "right_to_cancel": Severity.DISCLOSE, "deposit_not_refundable": Severity.WARN,
        }
        notice = next(f.notice for f in found if f.outcome == "right_to_cancel")
        assert "until 2027-01-18" in notice

    def test_a_refundable_deposit_only_discloses(self) -> None:
        """A refundable deposit with no windows keeps nothing inside the period."""
        plan = with_terms(plan_of(["100.00"] * 3, cur="GBP"), cancellation=CancellationPolicy(deposit_refundable=True))
        assert [f.outcome for f in hits(check(plan, Sale("GB")), "UK-3")] == ["right_to_cancel"]

    def test_in_person_and_business_sales_have_no_right(self) -> None:
        """On the premises, or to a business, no withdrawal rule applies."""
        assert hits(check(self.kept("GBP"), Sale("GB", contract="on_premises")), "UK-3") == []
        assert hits(check(self.kept("GBP"), Sale("GB", consumer=False)), "UK-3") == []
        assert hits(check(self.kept("GBP"), Sale("GB", contract="off_premises")), "UK-3")

    def test_the_exemption_is_recorded_with_its_reason(self) -> None:
        """Claiming the leisure exemption replaces the right with a disclosure of the reason."""
        (f,) = hits(check(self.kept("GBP"), Sale("GB", leisure_exemption="a wedding on a fixed date")), "UK-3")
        assert f.outcome == "exemption_claimed"
        assert "a wedding on a fixed date" in (f.notice or "")

    @pytest.mark.parametrize(("where", "cur", "rule"), [("GB", "GBP", "UK-3"), ("ES", "EUR", "EU-2")])
    def test_a_session_on_day_fourteen_is_inside_day_fifteen_outside(self, where: str, cur: str, rule: str) -> None:
        """A session 14 days after booking needs the express request to start; 15 days after does not."""
        inside = plan_of(["100.00"], cur=cur, session=BOOKED + dt.timedelta(days=14))
        outside = plan_of(["100.00"], cur=cur, session=BOOKED + dt.timedelta(days=15))
        (f,) = hits(check(inside, Sale(where)), rule, "express_request")
        assert (f.value, f.threshold) == ("2027-01-18", "2027-01-18")
        assert hits(check(outside, Sale(where)), rule, "express_request") == []

    def test_signed_inside_the_window_without_the_express_request_warns(self) -> None:
        """At signing, a session inside the period without the client's express request warns; with it, nothing."""
        inside = plan_of(["100.00"], cur="GBP", session=BOOKED + dt.timedelta(days=3))
        (f,) = hits(check(inside, Sale("GB"), signing=Signing()), "UK-3", "express_request_missing")
        assert f.severity is Severity.WARN
        asked = Signing(express_request="Please start before the 14 days are over.")
        assert hits(check(inside, Sale("GB"), signing=asked), "UK-3", "express_request_missing") == []


class TestEU1:
    def test_fifty_days_after_delivery_pass_fifty_one_warn(self) -> None:
        """The last payment 50 days after delivery passes; 51 warns."""
        plan = plan_of(["100.00"] * 3, cur="EUR")
        last = plan.installments[-1].due
        assert hits(check(plan, Sale("DE", delivered=last - dt.timedelta(days=50))), "EU-1") == []
        (f,) = hits(check(plan, Sale("DE", delivered=last - dt.timedelta(days=51))), "EU-1")
        assert (f.severity, f.value, f.threshold) == (Severity.WARN, "51 days", "50 days")

    def test_a_large_online_seller_has_fourteen_days(self) -> None:
        """For a large online seller 14 days pass and 15 warn."""
        plan = plan_of(["100.00"] * 3, cur="EUR")
        last = plan.installments[-1].due
        big = {"large_online_seller": True}
        assert hits(check(plan, Sale("DE", delivered=last - dt.timedelta(days=14), **big)), "EU-1") == []
        assert hits(check(plan, Sale("DE", delivered=last - dt.timedelta(days=15), **big)), "EU-1")

    def test_third_party_and_charges_warn(self) -> None:
        """A third-party funder or one cent of charge warns (the source is secondary)."""
        plan = plan_of(["100.00"] * 3, cur="EUR")
        assert hits(check(plan, Sale("DE")), "EU-1") == []
        assert [f.severity for f in hits(check(plan, Sale("DE", third_party_funded=True)), "EU-1")] == [Severity.WARN]
        assert [f.value for f in hits(check(with_charge(plan, 1), Sale("DE")), "EU-1")] == ["0.01 EUR"]

    def test_not_outside_the_eu(self) -> None:
        """Norway (EEA, not EU) is outside the Directive as shipped."""
        assert hits(check(plan_of(["100.00"] * 3, cur="EUR"), Sale("NO", third_party_funded=True)), "EU-1") == []


class TestAU1:
    def test_one_cent_of_charge_refuses(self) -> None:
        """No charge passes; one cent over more than 62 days refuses."""
        plan = plan_of(["100.00"] * 4, cur="AUD")  # 90 days from booking to the last payment
        assert hits(check(plan, Sale("AU")), "AU-1") == []
        (f,) = hits(check(with_charge(plan, 1), Sale("AU")), "AU-1")
        assert (f.severity, f.value) == (Severity.REFUSE, "0.01 AUD")

    def test_sixty_two_days_are_short_term_sixty_three_are_not(self) -> None:
        """A small charge over 62 days may be exempt (disclose); over 63 days it refuses."""
        at = with_charge(plan_of(["100.00"] * 3, cur="AUD", last=BOOKED + dt.timedelta(days=62)), 1)
        past = with_charge(plan_of(["100.00"] * 3, cur="AUD", last=BOOKED + dt.timedelta(days=63)), 1)
        assert [f.outcome for f in hits(check(at, Sale("AU")), "AU-1")] == ["short_term"]
        assert [f.outcome for f in hits(check(past, Sale("AU")), "AU-1")] == ["charge"]

    def test_five_percent_of_the_credit(self) -> None:
        """Within 62 days, a charge of 5% of the credit is short-term; one cent more refuses."""
        # credit after the deposit: 200.00 less the charge; 5% of 190.48 is 9.524
        at = with_charge(plan_of(["100.00", "100.00", "100.00"], cur="AUD", step=20), 952)
        past = with_charge(plan_of(["100.00", "100.00", "100.00"], cur="AUD", step=20), 953)
        assert [f.outcome for f in hits(check(at, Sale("AU")), "AU-1")] == ["short_term"]
        assert [f.outcome for f in hits(check(past, Sale("AU")), "AU-1")] == ["charge"]

    def test_late_fees_warn(self) -> None:
        """A late fee alone warns."""
        plan = with_terms(plan_of(["100.00"] * 3, cur="AUD"), late_fees=LateFeePolicy.single(Money.of("5", "AUD")))
        assert [f.severity for f in hits(check(plan, Sale("AU")), "AU-1")] == [Severity.WARN]


class TestCards:
    sig = Signing(
        consent=StoredCredentialConsent("4242", "the later payments", "by e-mail", dt.date(2027, 6, 1)),
        first_payment=FirstPayment("ch_1", "stripe", Sca.AUTHENTICATED),
    )

    def test_one_payment_needs_no_stored_card(self) -> None:
        """A single payment is not a series: the card rules do not apply; two payments do."""
        assert [f for f in check(plan_of(["100.00"]), Sale("GB")) if f.rule.startswith("CN")] == []
        assert hits(check(plan_of(["100.00"] * 2), Sale("GB")), "CN-1", "consent_needed")

    def test_signed_without_consent_or_first_payment_refuses(self) -> None:
        """Signed with nothing recorded, CN-1 and CN-3 refuse; with both recorded and SCA passed, nothing."""
        plan = plan_of(["100.00"] * 3, cur="GBP")
        found = check(plan, Sale("GB"), signing=Signing())
        assert {(f.rule, f.severity) for f in found if f.rule.startswith("CN")} == {
            ("CN-1", Severity.REFUSE), ("CN-3", Severity.REFUSE),
        }
        assert [f for f in check(plan, Sale("GB"), signing=self.sig) if f.rule.startswith("CN")] == []

    def test_consent_elements(self) -> None:
        """A consent missing an element warns, naming it."""
        sig = evolve(self.sig, consent=StoredCredentialConsent("4242", "", "by e-mail", None))
        (f,) = hits(check(plan_of(["100.00"] * 3), Sale("US"), signing=sig), "CN-1")
        assert (f.severity, f.value) == (Severity.WARN, "how the card will be used, until when")

    def test_sca(self) -> None:
        """In the EEA/UK a first payment not authenticated refuses; not reported warns; in the US neither."""
        plan = plan_of(["100.00"] * 3, cur="EUR")
        failed = evolve(self.sig, first_payment=FirstPayment("ch_1", "stripe", "not_authenticated"))
        unknown = evolve(self.sig, first_payment=FirstPayment("ch_1", "stripe"))
        assert [f.severity for f in hits(check(plan, Sale("IE"), signing=failed), "CN-5")] == [Severity.REFUSE]
        assert [f.severity for f in hits(check(plan, Sale("IE"), signing=unknown), "CN-5")] == [Severity.WARN]
        assert hits(check(plan, Sale("US"), signing=failed), "CN-5") == []

    def test_cn2_charge_and_currency(self) -> None:
        """A finance charge of one cent warns; a card in another currency is disclosed."""
        plan = plan_of(["100.00"] * 3)
        assert hits(check(plan, Sale("US", card_currency="usd")), "CN-2") == []
        assert [f.severity for f in hits(check(with_charge(plan, 1), Sale("US")), "CN-2")] == [Severity.WARN]
        (f,) = hits(check(plan, Sale("US", card_currency="EUR")), "CN-2")
        assert f.notice == "Your card is in EUR and this plan is in USD: the amounts your card issuer charges may vary with the exchange rate."

    def test_cards_only(self) -> None:
        """Paid by bank transfer, the card rules do not apply."""
        assert [f for f in check(plan_of(["100.00"] * 3), Sale("US", payment_method="other")) if f.rule.startswith("CN")] == []


class TestCheckInput:
    def test_bad_arguments(self) -> None:
        """A plan or sale of the wrong type is named."""
        with pytest.raises(InvalidPlanError, match="expected a PaymentPlan"):
            check("plan", Sale("US"))  # type: ignore[arg-type]
        with pytest.raises(InvalidPlanError, match="expected a Sale"):
            check(plan_of(["1.00"]), "US")  # type: ignore[arg-type]

    def test_reference_plan_in_the_us(self) -> None:
        """Pack A of the product brief (deposit and 3 monthly) passes every refusing rule in the US."""
        plan = PaymentPlan.with_deposit(
            "a", Money.of("2000", "USD"), booked=BOOKED, session=dt.date(2027, 6, 1),
            deposit=DepositRule.percent_or_minimum(25, Money.of("500", "USD")), installments=3,
        )
        assert [f for f in check(plan, Sale("US-CA")) if f.severity is Severity.REFUSE] == []


class TestWhereSold:
    """Catalog tiers and clients' proposals are checked where the tier is sold."""

    TOML = '''
[catalog]
currency = "GBP"
sale = { where = "GB" }

[[tier]]
name = "Year pass"
fee = "1300.00"
deposit = "100.00"
cadence = "monthly"
installments = [6, 12]
'''

    def test_a_tier_a_rule_refuses_is_refused_at_load(self) -> None:
        """Offering 13 monthly installments in GB refuses the catalog, with the rule's words; 12 loads."""
        from payplan import Catalog, GuardrailError, OutOfBoundsError

        assert Catalog.from_toml(self.TOML)["Year pass"].sold_in == (Sale("GB"),)
        with pytest.raises(GuardrailError, match=r"tier 'Year pass', sold in GB: UK-1@1 refuses: 13 installments") as info:
            Catalog.from_toml(self.TOML.replace("[6, 12]", "[6, 12, 13]"))
        assert isinstance(info.value, OutOfBoundsError)
        assert info.value.bound == "rule"
        assert {f.outcome for f in info.value.findings} == {"installments", "span"}
        assert "396 days after booking" in str(info.value)

    def test_per_tier_sale_overrides_the_catalog(self) -> None:
        """A tier's own sale table replaces the catalog's: sold to businesses, 13 installments load."""
        from payplan import Catalog

        text = self.TOML.replace("[6, 12]", '[6, 12, 13]\nsale = { where = "GB", consumer = false }')
        assert Catalog.from_toml(text)["Year pass"].sold_in[0].consumer is False

    def test_bad_sale_table(self) -> None:
        """An unknown key or a bad code in a sale table is named."""
        from payplan import Catalog

        with pytest.raises(InvalidPlanError, match=r"\[catalog\].sale: unknown key\(s\) \['country'\]"):
            Catalog.from_toml(self.TOML.replace('{ where = "GB" }', '{ country = "GB" }'))
        with pytest.raises(InvalidPlanError, match=r"\[catalog\].sale: expected where as an ISO 3166"):
            Catalog.from_toml(self.TOML.replace('{ where = "GB" }', '{ where = "England" }'))

    def test_a_proposal_a_rule_refuses(self) -> None:
        """Twelve parts spread past 12 months are refused with UK-1's words; the same within 12 months pass."""
        from payplan import Catalog, GuardrailError, ProposedParts, propose

        tier = Catalog.from_toml(self.TOML)["Year pass"]
        session = dt.date(2029, 1, 1)

        def parts(step: int) -> ProposedParts:
            rest = [(BOOKED + dt.timedelta(days=step * i), Money.of("100", "GBP")) for i in range(1, 13)]
            return ProposedParts([(BOOKED, Money.of("100", "GBP")), *rest])

        assert propose(tier, "ok", parts(30), booked=BOOKED, session=session).installments[-1].due == dt.date(2027, 12, 30)
        with pytest.raises(GuardrailError, match=r"the proposal, sold in GB: UK-1@1 refuses: the last payment is due 2028-01-11") as info:
            propose(tier, "late", parts(31), booked=BOOKED, session=session)
        assert (info.value.got, info.value.nearest) == ("2028-01-11", "2028-01-04")


class TestCheckTier:
    """check_tier on each kind of date rule: a representative plan per count."""

    def test_before_session_dates(self) -> None:
        """A tier dated before the session is checked from a booking just before its first date: 3 payments pass in GB."""
        from payplan import BeforeSession, Terms, Tier
        from payplan.guardrails import check_tier

        tier = Tier("T", Money.of("900", "GBP"), Terms(deposit=DepositRule.percent(10), installments=3,
                                                        dates=BeforeSession((90, 60, 30))), (3,))
        assert [f for f in check_tier(tier, Sale("GB"), currency="GBP") if f.refuses] == []

    def test_explicit_dates(self) -> None:
        """A tier on explicit dates is checked over its dates: within 12 months passes, past them refuses."""
        from payplan import ExplicitDates, Terms, Tier
        from payplan.guardrails import check_tier

        def tier(last: dt.date) -> Tier:
            dates = ExplicitDates((dt.date(2027, 2, 1), dt.date(2027, 6, 1), last))
            return Tier("T", Money.of("900", "GBP"), Terms(deposit=DepositRule.percent(10), installments=3, dates=dates), (3,))

        assert [f for f in check_tier(tier(dt.date(2028, 2, 1)), Sale("GB")) if f.refuses] == []
        assert [f.outcome for f in check_tier(tier(dt.date(2028, 2, 2)), Sale("GB")) if f.refuses] == ["span"]

    def test_a_financed_tier_without_a_fee_is_refused_in_australia(self) -> None:
        """A tier with an APR and no fixed fee is checked at a nominal fee: AU-1 refuses it."""
        from payplan import Terms, Tier
        from payplan.guardrails import check_tier

        tier = Tier("Custom", None, Terms(deposit=DepositRule.percent(10), installments=6, apr=10), (6,))
        assert {(f.rule, f.outcome) for f in check_tier(tier, Sale("AU"), currency="AUD") if f.refuses} == {("AU-1", "charge")}
        with pytest.raises(InvalidPlanError, match="tier 'Custom', sold in AU: AU-1@1 refuses"):
            evolve(tier, sold_in=(Sale("AU"),))
