"""Worked examples for the payment agreement and the statement in every format and two locales."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from payplan import (
    CancellationPolicy,
    CancellationSettled,
    CancellationWindow,
    CreditApplied,
    DepositRule,
    ExtendDueDate,
    FeeWaived,
    Incentive,
    InvalidPlanError,
    LateFeeAssessed,
    LateFeePolicy,
    LateFeeStep,
    Ledger,
    LedgerError,
    Money,
    Parties,
    PaymentPlan,
    PaymentReceived,
    PlanHistory,
    Refund,
    Terms,
    render_agreement,
    render_statement,
    settle_cancellation,
)

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def pack_a(**extra: object) -> PaymentPlan:
    """Pack A with a late-fee ladder, cancellation windows and a pay-in-full discount."""
    terms = Terms(
        deposit=DepositRule.percent_or_minimum(25, usd("500")),
        installments=3,
        final_due_days_before=14,
        late_fees=LateFeePolicy(
            (LateFeeStep.flat(1, usd("25")), LateFeeStep.percent_of_overdue(15, "5")),
            grace_days=5,
            cap=usd("150"),
        ),
        cancellation=CancellationPolicy((CancellationWindow(30, 50), CancellationWindow(7, 100))),
        incentives=(Incentive.pay_in_full(percent=5),),
    )
    return PaymentPlan.with_deposit(
        "pack-a", usd("2000"), terms=terms, booked=D(2026, 12, 1), session=D(2027, 4, 15),
        tier="Session Pack A", **extra,  # type: ignore[arg-type]
    )


PARTIES = Parties("Studio North", "Jane Doe")


class TestAgreement:
    def test_markdown_states_every_term(self) -> None:
        """The en_US agreement states parties, fee, deposit, schedule, fees, windows and the release clause."""
        text = render_agreement(pack_a(), parties=PARTIES)
        assert text.startswith("# Payment agreement\n")
        assert "Studio North (the business) and Jane Doe (the client)" in text
        assert "Fee: $2,000.00." in text
        assert "A deposit of $500.00 is due on December 1, 2026 (25% of the fee, at least $500.00)." in text
        for row in (
            "| 1 | Deposit | Dec 1, 2026 | $500.00 |  |",
            "| 2 | Installment | Jan 1, 2027 | $500.00 |  |",
            "| 3 | Installment | Feb 1, 2027 | $500.00 |  |",
            "| 4 | Installment | Mar 1, 2027 | $500.00 |  |",
            "|  | Total |  | $2,000.00 |  |",
        ):
            assert row in text
        assert "no later than April 1, 2027, 14 days before the session" in text
        assert "grace period of 5 days" in text
        assert "- $25.00 once a payment is 6 days overdue" in text
        assert "- 5% of the overdue amount once a payment is 15 days overdue" in text
        assert "Late fees never exceed $150.00 in total." in text
        assert "- Cancelling within 30 days of the session: 50% of the fee is retained." in text
        assert "- Cancelling within 7 days of the session: 100% of the fee is retained." in text
        assert "A discount of 5% of the fee ($100.00) for paying in full by the booking date" in text
        assert "released only when the plan is paid in full" in text
        assert "This plan has not been amended." in text

    def test_schedule_rows_are_the_plans_installments(self) -> None:
        """Every schedule row is one installment of the plan, amount and date as the plan has them."""
        plan = PaymentPlan.with_deposit(
            "odd", usd("1000.00"), installments=7, booked=D(2027, 1, 31), session=D(2027, 12, 31),
        )
        text = render_agreement(plan, format="txt")
        amounts = re.findall(r"^\s*\d+\s+Installment\s+\S+ \d+, \d{4}\s+\$(\S+)", text, re.MULTILINE)
        assert amounts == [i.amount.to_decimal_string() for i in plan.installments]
        assert "Feb 28, 2027" in text  # month-end anchoring, as the plan computed it

    def test_german_wording_money_and_dates(self) -> None:
        """de_DE uses German wording, 2.000,00 $ and 1. Dezember 2026."""
        text = render_agreement(pack_a(), locale="de_DE", parties=PARTIES)
        assert text.startswith("# Zahlungsvereinbarung\n")
        text = text.replace("\xa0", " ")  # Babel puts a no-break space before the sign
        assert "Preis: 2.000,00 $." in text
        assert "Eine Anzahlung von 500,00 $ ist am 1. Dezember 2026 fällig (25 % des Preises, mindestens 500,00 $)." in text
        assert "| 2 | Rate | 01.01.2027 | 500,00 $ |  |" in text
        assert "- 25,00 $, sobald eine Zahlung 6 Tage überfällig ist" in text
        assert "Säumnisgebühren betragen insgesamt höchstens 150,00 $." in text

    def test_euro_plan_in_german(self) -> None:
        """A euro plan in de_DE formats as 1.234,50 €."""
        plan = PaymentPlan.pay_in_full("eur", Money.of("1234.50", "EUR"), booked=D(2027, 1, 1), session=D(2027, 2, 1))
        assert "1.234,50\xa0€" in render_agreement(plan, locale="de_DE")

    def test_html_escapes_every_value(self) -> None:
        """Names with markup are escaped in HTML and the page is a whole document."""
        text = render_agreement(pack_a(), format="html", parties=Parties("<b>Studio</b>", "Jo & Co"))
        assert text.startswith("<!DOCTYPE html>")
        assert "<b>Studio</b>" not in text
        assert html.escape("<b>Studio</b>") in text
        assert "Jo &amp; Co" in text
        assert '<td style="text-align:right">$500.00</td>' in text
        assert text.count("<section>") == 10

    def test_markdown_escapes_markup_in_names(self) -> None:
        """A client name with markup or a leading list marker cannot become Markdown structure."""
        text = render_agreement(pack_a(), parties=Parties("1. Studio", "<script>x</script> | y"))
        assert "<script>" not in text
        assert "\\<script\\>" in text

    def test_plain_text(self) -> None:
        """Plain text has underlined headings and an aligned schedule."""
        text = render_agreement(pack_a(), format="txt")
        assert text.startswith("Payment agreement\n=================\n")
        assert "Payment schedule\n----------------" in text
        assert re.search(r"^4  Installment  Mar 1, 2027 +\$500\.00$", text, re.MULTILINE)

    def test_amendment_history_is_listed(self) -> None:
        """An extension shows with its date, who, why and consent, and the schedule shows the new date."""
        h = PlanHistory.start(pack_a()).apply(
            ExtendDueDate(2, D(2027, 1, 15)), by="Sam", reason="travel", on=D(2026, 12, 10),
            consent=True, paid=usd("500"),
        )
        text = render_agreement(h.current, history=h.records)
        assert (
            "- December 10, 2026, version 1 to 2: installment 2 moved to January 15, 2027. "
            "By Sam; reason: travel; client consent: yes." in text
        )
        assert "| 2 | Installment | Jan 15, 2027 | $500.00 |  |" in text
        assert "has not been amended" in render_agreement(h.version(1), history=h.records)

    def test_site_template_replaces_the_layout(self) -> None:
        """A site template picks and orders the sections and can use the plain values."""
        text = render_agreement(
            pack_a(), format="txt", parties=PARTIES,
            template="Agreement for $client, total $total\n\n$schedule\n",
        )
        assert text.startswith("Agreement for Jane Doe, total $2,000.00\n\nPayment schedule\n")
        assert "Late payments" not in text

    def test_unknown_placeholder_is_refused(self) -> None:
        """A template placeholder that does not exist is an error naming it."""
        with pytest.raises(InvalidPlanError, match=r"\$nope"):
            render_agreement(pack_a(), template="$nope")

    def test_unknown_format_and_locale_are_refused(self) -> None:
        """Only md, html and txt, and known locales."""
        with pytest.raises(InvalidPlanError, match="md, html or txt"):
            render_agreement(pack_a(), format="pdf")  # type: ignore[arg-type]
        with pytest.raises(InvalidPlanError, match="locale"):
            render_agreement(pack_a(), locale="xx_YY")

    def test_cancellation_windows_are_what_settlement_retains(self) -> None:
        """'Within 30 days: 50%' and 'within 7 days: 100%' are what settle_cancellation retains on those days."""
        plan = pack_a()
        text = render_agreement(plan)
        windows = re.findall(r"Cancelling within (\d+) days of the session: (\d+)% of the fee", text)
        assert windows == [("30", "50"), ("7", "100")]
        ledger = Ledger.empty(plan).record(PaymentReceived("p1", D(2026, 12, 1), usd("2000")))
        for days, pct in windows:
            on = plan.session - dt.timedelta(days=int(days))
            settled = settle_cancellation(plan, ledger, on)
            assert settled.retained == Money(plan.fee.minor * int(pct) // 100, "USD")
            outside = settle_cancellation(plan, ledger, on - dt.timedelta(days=1))
            assert outside.retained < settled.retained

    def test_plan_without_policies(self) -> None:
        """Without a late-fee or cancellation policy the agreement says what happens instead."""
        plan = PaymentPlan.with_deposit("bare", usd("900"), installments=3, booked=D(2027, 1, 1), session=D(2027, 6, 1))
        text = render_agreement(plan)
        assert "No late fees are charged." in text
        assert "If the booking is cancelled, everything paid is refunded." in text
        assert "No deposit is due." in text


class TestStatement:
    def ledger(self, plan: PaymentPlan) -> Ledger:
        return Ledger.empty(plan).record_all(
            [
                PaymentReceived("p1", D(2026, 12, 1), usd("500")),
                PaymentReceived("p2", D(2027, 1, 20), usd("300")),
                LateFeeAssessed("f1", D(2027, 1, 22), usd("25"), installment=2),
                FeeWaived("w1", D(2027, 1, 23), usd("10"), reason="goodwill", fee_id="f1"),
                CreditApplied("c1", D(2027, 1, 24), usd("50"), reason="referral"),
                Refund.reversal("r1", D(2027, 1, 25), usd("20")),
                PaymentReceived("p3", D(2027, 3, 1), usd("100")),
            ]
        )

    def test_figures_to_the_cent(self) -> None:
        """Due $1500, paid $780 net, fees $25, waived $10, credit $50, balance $1185, $670 overdue."""
        plan = pack_a()
        text = render_statement(plan, self.ledger(plan), D(2027, 2, 5))
        assert "Plan pack-a, Session Pack A, as of February 5, 2027." in text
        assert "Status: overdue." in text
        assert "| 2 | Jan 1, 2027 | $500.00 | $330.00 | $170.00 | overdue by 35 days |" in text
        assert "| 3 | Feb 1, 2027 | $500.00 | $0.00 | $500.00 | overdue by 4 days |" in text
        assert "| 4 | Mar 1, 2027 | $500.00 | $0.00 | $500.00 | upcoming |" in text
        for row in (
            "| Due to date | $1,500.00 |",
            "| Paid (less refunds) | $780.00 |",
            "| Late fees | $25.00 |",
            "| Fees waived | -$10.00 |",
            "| Credits | -$50.00 |",
            "| Balance | $1,185.00 |",
            # $670 of installments past due, and the $15 of the late fee not waived.
            "| Overdue now | $685.00 |",
            "| Next payment | $500.00 due March 1, 2027 |",
        ):
            assert row in text
        # 2000 + 25 - 10 - (800 - 20) - 50 = 1185: the balance is the ledger's own.
        assert "Mar 1, 2027 | Payment received" not in text  # after as_of: left out

    def test_activity_lists_entries_up_to_as_of(self) -> None:
        """Activity lists each entry dated on or before the statement date, with its sign."""
        plan = pack_a()
        text = render_statement(plan, self.ledger(plan), D(2027, 2, 5))
        assert "| Jan 22, 2027 | Late fee (installment 2) | $25.00 |" in text
        assert "| Jan 25, 2027 | Refund | -$20.00 |" in text
        assert "| Jan 24, 2027 | Credit: referral | -$50.00 |" in text

    def test_german_statement(self) -> None:
        """The de_DE statement formats money and dates the German way."""
        plan = pack_a()
        text = render_statement(plan, self.ledger(plan), D(2027, 2, 5), locale="de_DE", format="txt")
        assert "Saldo" in text
        assert "1.185,00\xa0$" in text
        assert "Stand 5. Februar 2027" in text

    def test_paid_in_full(self) -> None:
        """Once everything is paid the statement says so and nothing is due next."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record(PaymentReceived("all", D(2026, 12, 1), usd("2000")))
        text = render_statement(plan, ledger, D(2026, 12, 2), format="html")
        assert "Status: paid in full." in text
        assert "<td>Next payment</td><td style=\"text-align:right\">nothing further is due</td>" in text

    def test_cancelled_plan(self) -> None:
        """After a cancellation nothing more is due: cancelled lines owe $0 and the balance is the settlement's."""
        plan = pack_a()
        ledger = Ledger.empty(plan).record_all([
            PaymentReceived("p1", D(2026, 12, 1), usd("500")),
            CancellationSettled("c1", D(2027, 1, 5), usd("500"), usd("0"), usd("0")),
        ])
        text = render_statement(plan, ledger, D(2027, 2, 5))
        assert "Status: cancelled." in text
        assert "| 2 | Jan 1, 2027 | $500.00 | $0.00 | $0.00 | cancelled |" in text
        assert "| Due to date | $500.00 |" in text
        assert "| Balance | $0.00 |" in text
        assert "| Next payment | nothing further is due |" in text
        assert "| Jan 5, 2027 | Cancelled: $500.00 retained |  |" in text

    def test_ledger_of_another_plan_is_refused(self) -> None:
        """A ledger recorded for another plan cannot make this plan's statement."""
        other = PaymentPlan.pay_in_full("other", usd("10"), booked=D(2027, 1, 1), session=D(2027, 1, 2))
        with pytest.raises(LedgerError):
            render_statement(pack_a(), Ledger.empty(other), D(2027, 1, 1))


class TestWording:
    def test_every_language_has_every_phrase(self) -> None:
        """English and German wording define the same phrases, so no document misses a sentence."""
        from payplan._documents import _WORDING

        keys = [set(words) for words in _WORDING.values()]
        assert all(k == keys[0] for k in keys)

    def test_one_day_is_singular(self) -> None:
        """A step one day overdue reads '1 day' in English and '1 Tag' in German."""
        terms = Terms(installments=3, late_fees=LateFeePolicy.single(usd("10")))
        plan = PaymentPlan.with_deposit("one", usd("900"), terms=terms, booked=D(2027, 1, 1), session=D(2027, 6, 1))
        assert "- $10.00 once a payment is 1 day overdue" in render_agreement(plan)
        assert "sobald eine Zahlung 1 Tag überfällig ist" in render_agreement(plan, locale="de_DE")
