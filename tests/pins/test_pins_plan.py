"""Plan constructors, line by line, and their refusals word for word (#26 item 1: mutants `make mutation` found alive).

Each test compares every line of a plan (number, kind, due date, amount,
label, days before the session), its terms and who it is for, so a dropped
argument or a changed label fails. Written against the mutants of
``payplan._plan`` the suite let live, and checked to fail on them.
"""

from __future__ import annotations

import datetime as dt
import re

import attrs
import pytest

from payplan import (
    BeforeSession,
    Currency,
    DepositRule,
    ExplicitDates,
    InstallmentKind,
    InvalidMoneyError,
    InvalidPlanError,
    LateFeePolicy,
    LateFeeStep,
    Money,
    PaymentPlan,
    Remainder,
    ScheduleDoesNotFitError,
    Terms,
)
from payplan._plan import Milestone

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def lines(plan: PaymentPlan) -> list[tuple[int, str, dt.date, Money, str | None, int | None]]:
    return [
        (i.number, i.kind.value, i.due, i.amount, i.label, i.days_before_session) for i in plan.installments
    ]


def progressive(milestones: list[Milestone], **kwargs: object) -> PaymentPlan:
    """$1000, 20% upfront on 2027-01-01, session 2027-03-01."""
    return PaymentPlan.progressive(
        "g",
        usd("1000"),
        upfront=DepositRule.percent(20),
        milestones=milestones,
        booked=D(2027, 1, 1),
        session=D(2027, 3, 1),
        **kwargs,  # type: ignore[arg-type]
    )


class TestPayInFull:
    def test_one_line_on_the_due_date_with_every_argument_kept(self) -> None:
        p = PaymentPlan.pay_in_full(
            "f",
            usd("500"),
            booked=D(2027, 1, 1),
            session=D(2027, 3, 1),
            due=D(2027, 2, 1),
            final_due_days_before=10,
            tier="gold",
            client="c1",
        )
        assert lines(p) == [(1, "balance", D(2027, 2, 1), usd("500"), None, None)]
        t = p.terms
        assert (t.deposit, t.installments, t.dates, t.final_due_days_before) == (
            DepositRule.none(),
            1,
            ExplicitDates((D(2027, 2, 1),)),
            10,
        )
        assert (p.tier, p.client, p.kind.value) == ("gold", "c1", "pay_in_full")


class TestProgressive:
    def test_upfront_then_fixed_amounts_first_then_the_weights_share_the_rest(self) -> None:
        """$200 upfront; 'Final' is a fixed $100 seven days before the session; 'Draft' (weight 1) takes the other $700."""
        p = progressive(
            [
                Milestone("Draft", percent=1, due=D(2027, 2, 1)),
                Milestone("Final", amount=usd("100"), days_before_session=7),
            ],
            final_due_days_before=3,
            remainder="last",
            tier="t",
            client="c",
        )
        assert lines(p) == [
            (1, "deposit", D(2027, 1, 1), usd("200"), "Upfront", None),
            (2, "installment", D(2027, 2, 1), usd("700"), "Draft", None),
            (3, "balance", D(2027, 2, 22), usd("100"), "Final", 7),
        ]
        t = p.terms
        assert (t.deposit, t.installments, t.dates, t.final_due_days_before, t.remainder) == (
            DepositRule.percent(20),
            2,
            ExplicitDates((D(2027, 2, 1), D(2027, 2, 22))),
            3,
            Remainder.LAST,
        )
        assert (p.tier, p.client, p.kind.value) == ("t", "c", "progressive")

    def test_weights_split_with_the_plans_remainder_rule(self) -> None:
        """$800 by weights 1:1:1: the two cents left over go to the earliest parts (FIRST) or the latest (LAST)."""
        ms = [Milestone(n, percent=1, due=D(2027, 2, d)) for n, d in (("a", 1), ("b", 2), ("c", 3))]
        assert [a for *_, a, _, _ in lines(progressive(ms))][1:] == [
            usd("266.67"),
            usd("266.67"),
            usd("266.66"),
        ]
        assert [a for *_, a, _, _ in lines(progressive(ms, remainder=Remainder.LAST))][1:] == [
            usd("266.66"),
            usd("266.67"),
            usd("266.67"),
        ]

    def test_milestones_all_before_the_session_are_a_before_session_rule(self) -> None:
        p = progressive(
            [
                Milestone("A", percent=1, days_before_session=10),
                Milestone("B", percent=1, days_before_session=3),
            ]
        )
        assert p.terms.dates == BeforeSession((10, 3))
        on_the_day = progressive([Milestone("A", percent=1, days_before_session=0)])
        assert lines(on_the_day)[-1] == (2, "balance", D(2027, 3, 1), usd("800"), "A", 0)
        assert on_the_day.terms.dates == BeforeSession((0,))

    def test_a_milestone_before_the_first_day_of_the_calendar_is_refused_naming_it(self) -> None:
        message = "milestone 'A' (5 days before the session) would fall before 0001-01-01, the first day of the calendar"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            PaymentPlan.progressive(
                "g",
                usd("1000"),
                upfront=DepositRule.none(),
                milestones=[Milestone("A", percent=1, days_before_session=5)],
                booked=D(1, 1, 1),
                session=D(1, 1, 3),
            )

    def test_a_milestone_on_the_cutoff_fits_and_a_day_later_does_not(self) -> None:
        """final_due_days_before=1 puts the cutoff on 2027-02-28: a milestone that day fits, 03-01 does not."""
        assert lines(progressive([Milestone("A", percent=1, due=D(2027, 2, 28))], final_due_days_before=1))[
            -1
        ][2] == D(2027, 2, 28)
        with pytest.raises(
            ScheduleDoesNotFitError,
            match=re.escape(
                "milestone 'A' would fall due 2027-03-01, after the latest possible due date 2027-02-28"
            ),
        ) as caught:
            progressive([Milestone("A", percent=1, due=D(2027, 3, 1))], final_due_days_before=1)
        assert caught.value.latest_due == D(2027, 2, 28)

    def test_fixed_amounts_that_leave_nothing_for_the_weights_are_refused(self) -> None:
        """$800 is left after the upfront part: fixed amounts of $800 leave the weighted milestone nothing."""
        with pytest.raises(
            InvalidPlanError,
            match=r"^milestone amounts add up to 800\.00 USD, more than the 800\.00 USD left after the upfront part$",
        ):
            progressive(
                [
                    Milestone("A", amount=usd("800"), due=D(2027, 2, 1)),
                    Milestone("B", percent=1, due=D(2027, 2, 2)),
                ]
            )
        assert lines(progressive([Milestone("A", amount=usd("800"), due=D(2027, 2, 1))]))[-1][3] == usd("800")
        with pytest.raises(
            InvalidPlanError,
            match=r"^milestone amounts add up to 900\.00 USD, more than the 800\.00 USD left",
        ):
            progressive([Milestone("A", amount=usd("900"), due=D(2027, 2, 1))])

    def test_no_milestone_is_refused(self) -> None:
        with pytest.raises(InvalidPlanError, match=r"^expected at least one milestone, got none$"):
            progressive([])


class TestMilestone:
    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            (
                {"percent": "x", "due": D(2027, 1, 1)},
                InvalidMoneyError,
                "expected a milestone percent as a decimal number, got 'x'",
            ),
            (
                {"percent": 0, "due": D(2027, 1, 1)},
                InvalidPlanError,
                "milestone 'M': expected a percent above zero, got 0",
            ),
            (
                {"amount": usd("0"), "due": D(2027, 1, 1)},
                InvalidPlanError,
                "milestone 'M': expected an amount above zero, got Money('0.00', 'USD')",
            ),
            (
                {"amount": 5, "due": D(2027, 1, 1)},
                InvalidPlanError,
                "milestone 'M': expected an amount above zero, got 5",
            ),
            (
                {"amount": usd("1"), "days_before_session": -1},
                InvalidPlanError,
                "milestone 'M': expected days_before_session as whole days of 0 or more, got -1",
            ),
            (
                {"amount": usd("1"), "days_before_session": 1.0},
                InvalidPlanError,
                "milestone 'M': expected days_before_session as whole days of 0 or more, got 1.0",
            ),
            (
                {"amount": usd("1")},
                InvalidPlanError,
                "milestone 'M': expected exactly one of due and days_before_session",
            ),
        ],
    )
    def test_refusals(self, kwargs: dict[str, object], error: type[Exception], message: str) -> None:
        with pytest.raises(error, match=f"^{re.escape(message)}$"):
            Milestone("M", **kwargs)  # type: ignore[arg-type]

    def test_the_smallest_accepted(self) -> None:
        m = Milestone("M", amount=usd("0.01"), days_before_session=0)
        assert (m.amount, m.days_before_session) == (usd("0.01"), 0)
        assert Milestone("M", percent="0.01", due=D(2027, 1, 1)).percent is not None


class TestPayAsYouGo:
    def test_a_line_per_use_labelled_with_its_day(self) -> None:
        p = PaymentPlan.pay_as_you_go(
            "y", usd("30"), [D(2027, 1, 5), D(2027, 1, 12)], booked=D(2027, 1, 1), tier="t", client="c"
        )
        assert lines(p) == [
            (1, "installment", D(2027, 1, 5), usd("30"), "Use on 2027-01-05", None),
            (2, "installment", D(2027, 1, 12), usd("30"), "Use on 2027-01-12", None),
        ]
        t = p.terms
        assert (t.deposit, t.installments, t.dates) == (
            DepositRule.none(),
            2,
            ExplicitDates((D(2027, 1, 5), D(2027, 1, 12))),
        )
        assert (p.session, p.tier, p.client, p.kind.value) == (D(2027, 1, 12), "t", "c", "pay_as_you_go")
        more = p.add_use(D(2027, 1, 19))
        assert lines(more)[-1] == (3, "installment", D(2027, 1, 19), usd("30"), "Use on 2027-01-19", None)
        assert (more.tier, more.client, more.version, more.timezone) == ("t", "c", 2, p.timezone)

    def test_a_use_added_keeps_the_plans_timezone(self) -> None:
        p = PaymentPlan.pay_as_you_go(
            "y", usd("30"), [D(2027, 1, 5)], booked=D(2027, 1, 1), timezone="Europe/Paris"
        )
        assert p.add_use(D(2027, 1, 12)).timezone == "Europe/Paris"

    def test_a_penny_per_use_is_a_price(self) -> None:
        assert PaymentPlan.pay_as_you_go(
            "y", usd("0.01"), [D(2027, 1, 2)], booked=D(2027, 1, 1)
        ).installments[0].amount == usd("0.01")

    @pytest.mark.parametrize(
        ("price", "uses", "message"),
        [
            (usd("30"), [], "expected at least one use date, got none"),
            (
                usd("30"),
                ["2027-01-02"],
                "expected booked and use dates as datetime.date, got str '2027-01-02'",
            ),
            (usd("0"), [D(2027, 1, 2)], "expected a price per use above zero, got 0.00 USD"),
        ],
    )
    def test_refusals(self, price: Money, uses: list[object], message: str) -> None:
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            PaymentPlan.pay_as_you_go("y", price, uses, booked=D(2027, 1, 1))  # type: ignore[arg-type]

    def test_adding_a_use_to_another_kind_of_plan_is_refused_naming_it(self) -> None:
        p = PaymentPlan.pay_in_full("f", usd("5"), booked=D(2027, 1, 1), session=D(2027, 2, 1))
        with pytest.raises(
            InvalidPlanError, match=r"^expected a pay-as-you-go plan, got a pay_in_full plan$"
        ):
            p.add_use(D(2027, 1, 3))


class TestCustom:
    def test_no_part_is_refused(self) -> None:
        with pytest.raises(
            InvalidPlanError, match=r"^expected at least one \(date, amount\) part, got none$"
        ):
            PaymentPlan.custom("c", [], booked=D(2027, 1, 1), session=D(2027, 3, 1))


def custom(parts: list[tuple[dt.date, str]], **kwargs: object) -> PaymentPlan:
    """A custom plan booked 2027-01-01 for a session on 2027-03-01."""
    return PaymentPlan.custom(
        "c",
        [(d, usd(a)) for d, a in parts],
        booked=D(2027, 1, 1),
        session=D(2027, 3, 1),
        **kwargs,  # type: ignore[arg-type]
    )


class TestCustomParts:
    def test_the_first_part_is_the_deposit_and_every_argument_is_kept(self) -> None:
        p = custom(
            [(D(2027, 1, 1), "100"), (D(2027, 2, 1), "150"), (D(2027, 2, 20), "50")],
            final_due_days_before=5,
            timezone="Europe/Paris",
            tier="t",
            client="cl",
        )
        assert lines(p) == [
            (1, "deposit", D(2027, 1, 1), usd("100"), None, None),
            (2, "installment", D(2027, 2, 1), usd("150"), None, None),
            (3, "installment", D(2027, 2, 20), usd("50"), None, None),
        ]
        t = p.terms
        assert (t.deposit, t.installments, t.dates, t.final_due_days_before) == (
            DepositRule.fixed(usd("100")),
            2,
            ExplicitDates((D(2027, 2, 1), D(2027, 2, 20))),
            5,
        )
        assert (p.fee, p.timezone, p.tier, p.client, p.kind.value) == (
            usd("300"),
            "Europe/Paris",
            "t",
            "cl",
            "custom",
        )

    def test_two_parts_are_a_deposit_and_one_installment(self) -> None:
        p = custom([(D(2027, 1, 1), "100"), (D(2027, 2, 1), "150")])
        assert [i.kind.value for i in p.installments] == ["deposit", "installment"]
        assert (p.terms.deposit, p.terms.installments, p.terms.dates) == (
            DepositRule.fixed(usd("100")),
            1,
            ExplicitDates((D(2027, 2, 1),)),
        )

    def test_a_single_part_is_no_deposit(self) -> None:
        p = custom([(D(2027, 2, 1), "150")])
        assert lines(p) == [(1, "installment", D(2027, 2, 1), usd("150"), None, None)]
        assert (p.terms.deposit, p.terms.installments, p.terms.dates) == (
            DepositRule.none(),
            1,
            ExplicitDates((D(2027, 2, 1),)),
        )

    def test_without_a_deposit_every_part_is_an_installment(self) -> None:
        p = custom([(D(2027, 1, 1), "100"), (D(2027, 2, 1), "150")], first_is_deposit=False)
        assert [i.kind.value for i in p.installments] == ["installment", "installment"]
        assert (p.terms.deposit, p.terms.installments, p.terms.dates) == (
            DepositRule.none(),
            2,
            ExplicitDates((D(2027, 1, 1), D(2027, 2, 1))),
        )

    def test_a_part_on_the_cutoff_fits_and_a_day_later_is_refused_naming_the_cutoff(self) -> None:
        """final_due_days_before=1 puts the cutoff on 2027-02-28."""
        assert custom([(D(2027, 2, 28), "10")], final_due_days_before=1).installments[-1].due == D(
            2027, 2, 28
        )
        message = "the last part would fall due 2027-03-01, after the latest possible due date 2027-02-28"
        with pytest.raises(ScheduleDoesNotFitError, match=f"^{re.escape(message)}$") as caught:
            custom([(D(2027, 1, 1), "10"), (D(2027, 3, 1), "10")], final_due_days_before=1)
        assert caught.value.latest_due == D(2027, 2, 28)

    def test_parts_in_two_currencies_are_refused_naming_both(self) -> None:
        with pytest.raises(InvalidPlanError, match=r"^expected every part in USD, got 5\.00 EUR$"):
            PaymentPlan.custom(
                "c",
                [(D(2027, 1, 1), usd("5")), (D(2027, 2, 1), Money.of("5", "EUR"))],
                booked=D(2027, 1, 1),
                session=D(2027, 3, 1),
            )


class TestLines:
    def test_an_installment_by_number_and_the_numbers_refused(self) -> None:
        p = custom([(D(2027, 1, 1), "100"), (D(2027, 2, 1), "150")])
        assert (p.installment(1).amount, p.installment(2).amount) == (usd("100"), usd("150"))
        for number in (0, 3, True, 1.0, "1"):
            message = f"expected an installment number from 1 to 2, got {number!r}"
            with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
                p.installment(number)  # type: ignore[arg-type]

    def test_a_line_key_of_forty_characters_is_kept_and_of_forty_one_refused(self) -> None:
        p = custom([(D(2027, 1, 1), "100"), (D(2027, 2, 1), "150")])
        keyed = attrs.evolve(
            p, installments=(p.installments[0], attrs.evolve(p.installments[1], key="k" * 40))
        )
        assert keyed.installments[1].line_id == "k" * 40
        message = (
            f"expected installment 2's key as 1 to 40 printable characters without ':', got {'k' * 41!r}"
        )
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            attrs.evolve(p, installments=(p.installments[0], attrs.evolve(p.installments[1], key="k" * 41)))


# A day that is not a datetime.date, and the refusal naming its field.
NOT_A_DATE = [
    (
        "booked",
        dt.datetime(2027, 1, 1),
        "expected booked as a datetime.date, got datetime datetime.datetime(2027, 1, 1, 0, 0)",
    ),
    ("session", "2027-02-01", "expected session as a datetime.date, got str '2027-02-01'"),
]


class TestPlanFields:
    def test_a_plan_id_of_200_printable_characters_is_kept_and_201_or_unprintable_refused(self) -> None:
        p = PaymentPlan.pay_in_full("f", usd("5"), booked=D(2027, 1, 1), session=D(2027, 2, 1))
        assert attrs.evolve(p, id="i" * 200).id == "i" * 200
        for bad in ("i" * 201, "tab\there", "", 7):
            message = f"expected a plan id of 1 to 200 printable characters, got {bad!r}"
            with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
                attrs.evolve(p, id=bad)

    @pytest.mark.parametrize(("field", "value", "message"), NOT_A_DATE)
    def test_a_day_that_is_not_a_date_is_refused_naming_the_field(
        self, field: str, value: object, message: str
    ) -> None:
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            PaymentPlan.custom(
                "c",
                [(D(2027, 1, 1), usd("5"))],
                **{"booked": D(2027, 1, 1), "session": D(2027, 2, 1), field: value},  # type: ignore[arg-type]
            )

    @pytest.mark.parametrize(("field", "value", "message"), NOT_A_DATE)
    def test_a_day_evolved_into_a_plan_that_is_not_a_date_is_refused_naming_the_field(
        self, field: str, value: object, message: str
    ) -> None:
        """attrs.evolve (the way amendments build plans) raised TypeError: the rules across fields, then the
        installments' validator and run before the dates' own, compared the datetime or string with a date."""
        p = PaymentPlan.pay_in_full("f", usd("5"), booked=D(2027, 1, 1), session=D(2027, 2, 1))
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            attrs.evolve(p, **{field: value})


class TestCutoff:
    def test_the_last_day_before_the_calendar_begins_is_a_cutoff_and_a_day_more_is_refused(self) -> None:
        """A session on 0001-01-03 and 2 days before it: the cutoff is 0001-01-01; 3 days would be before the calendar."""
        kwargs = {"booked": D(1, 1, 1), "session": D(1, 1, 3)}
        p = PaymentPlan.custom("c", [(D(1, 1, 1), usd("5"))], final_due_days_before=2, **kwargs)  # type: ignore[arg-type]
        assert p.installments[0].due == D(1, 1, 1)
        message = "expected final_due_days_before of at most 2 days before the session 0001-01-03, got 3"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            PaymentPlan.custom("c", [(D(1, 1, 1), usd("5"))], final_due_days_before=3, **kwargs)  # type: ignore[arg-type]

    @pytest.mark.parametrize("days", [-1, 1.0, True])
    def test_days_before_that_are_not_whole_days_are_refused(self, days: object) -> None:
        message = f"expected final_due_days_before as whole days of 0 or more, got {days!r}"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            custom([(D(2027, 1, 1), "5")], final_due_days_before=days)


class TestWithDeposit:
    def test_terms_given_whole_then_fields_given_one_by_one_override_them(self) -> None:
        """$1000, Terms of 4 installments, overridden to 2 from 2027-02-15 with a $400 deposit."""
        p = PaymentPlan.with_deposit(
            "d",
            usd("1000"),
            booked=D(2027, 1, 1),
            session=D(2027, 6, 1),
            terms=Terms(installments=4),
            installments=2,
            first_due=D(2027, 2, 15),
            deposit=DepositRule.fixed(usd("400")),
            tier="t",
            client="c",
        )
        assert [(i.kind.value, i.due, i.amount) for i in p.installments] == [
            ("deposit", D(2027, 1, 1), usd("400")),
            ("installment", D(2027, 2, 15), usd("300")),
            ("installment", D(2027, 3, 15), usd("300")),
        ]
        assert (p.terms.installments, p.terms.first_due, p.tier, p.client, p.kind.value) == (
            2,
            D(2027, 2, 15),
            "t",
            "c",
            "installments",
        )
        assert PaymentPlan.with_deposit(
            "d", usd("1000"), booked=D(2027, 1, 1), session=D(2027, 6, 1), terms=Terms(installments=4)
        ).terms == Terms(installments=4)

    def test_a_fee_of_a_cent_is_a_plan_and_terms_that_are_not_terms_are_refused(self) -> None:
        p = PaymentPlan.with_deposit("d", usd("0.01"), booked=D(2027, 1, 1), session=D(2027, 6, 1))
        assert [i.amount for i in p.installments] == [usd("0.01")]
        with pytest.raises(InvalidPlanError, match=r"^expected terms as Terms, got str 'x'$"):
            PaymentPlan.with_deposit("d", usd("1"), booked=D(2027, 1, 1), session=D(2027, 6, 1), terms="x")  # type: ignore[arg-type]

    def test_a_fee_of_zero_or_not_money_is_refused(self) -> None:
        for fee in (usd("0"), 1000):
            with pytest.raises(
                InvalidPlanError, match=f"^{re.escape(f'expected a fee above zero, got {fee!r}')}$"
            ):
                PaymentPlan.with_deposit("d", fee, booked=D(2027, 1, 1), session=D(2027, 6, 1))  # type: ignore[arg-type]


class TestWithDepositEdges:
    def deposit_only(self, booked: dt.date, session: dt.date, days: int = 0) -> PaymentPlan:
        """$500, all of it the deposit due at booking: no installment."""
        return PaymentPlan.with_deposit(
            "d",
            usd("500"),
            booked=booked,
            session=session,
            deposit=DepositRule.fixed(usd("500")),
            installments=0,
            final_due_days_before=days,
        )

    def test_no_installment_for_a_balance_is_refused_naming_it(self) -> None:
        message = "expected at least one installment for the balance of 600.00 USD, got 0"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            PaymentPlan.with_deposit(
                "d",
                usd("1000"),
                booked=D(2027, 1, 1),
                session=D(2027, 6, 1),
                deposit=DepositRule.fixed(usd("400")),
                installments=0,
            )

    def test_a_session_on_the_booking_day_is_a_plan_and_a_day_before_it_is_refused(self) -> None:
        assert [i.due for i in self.deposit_only(D(2027, 1, 10), D(2027, 1, 10)).installments] == [
            D(2027, 1, 10)
        ]
        message = "expected the session on or after the booking 2027-01-10, got 2027-01-09"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            self.deposit_only(D(2027, 1, 10), D(2027, 1, 9))

    def test_booked_on_the_cutoff_fits_and_a_day_later_does_not(self) -> None:
        """Session 2027-01-11, due 1 day before: the cutoff is 2027-01-10."""
        assert self.deposit_only(D(2027, 1, 10), D(2027, 1, 11), days=1).installments[0].due == D(2027, 1, 10)
        message = (
            "booked 2027-01-11, after the latest possible due date 2027-01-10: nothing can fall due in time"
        )
        with pytest.raises(ScheduleDoesNotFitError, match=f"^{re.escape(message)}$") as caught:
            self.deposit_only(D(2027, 1, 11), D(2027, 1, 11), days=1)
        assert caught.value.latest_due == D(2027, 1, 10)


class TestFinanced:
    """$1000 at 12% APR, booked 2027-01-01: the balance amortized over monthly installments."""

    def financed(self, **kwargs: object) -> PaymentPlan:
        fee = kwargs.pop("fee", usd("1000"))
        session = kwargs.pop("session", D(2027, 12, 1))
        return PaymentPlan.with_deposit("a", fee, booked=D(2027, 1, 1), session=session, apr=12, **kwargs)  # type: ignore[arg-type]

    def test_a_first_due_date_starts_the_cadence_there(self) -> None:
        p = self.financed(installments=3, first_due=D(2027, 1, 15))
        assert [(i.due, i.amount) for i in p.installments] == [
            (D(2027, 1, 15), usd("340.02")),
            (D(2027, 2, 15), usd("340.02")),
            (D(2027, 3, 15), usd("340.03")),
        ]
        assert p.finance_charge == usd("20.07")
        assert ([i.kind.value for i in p.installments], p.kind.value) == (["installment"] * 3, "installments")

    def test_without_a_cadence_there_is_no_period_to_charge_interest_for(self) -> None:
        message = "expected a regular cadence for a financed plan (the APR needs a period), got ExplicitDates"
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            self.financed(installments=2, dates=ExplicitDates((D(2027, 2, 1), D(2027, 3, 1))))

    def test_a_financed_plan_is_never_compressed(self) -> None:
        message = (
            "a financed plan (APR 12%) cannot be compressed: its interest is charged per monthly period, and 3 "
            "installment(s) compressed before the latest possible due date 2027-03-01 would be charged interest "
            "for periods that are not financed; use fewer installments, an earlier start, or no APR"
        )
        with pytest.raises(ScheduleDoesNotFitError, match=f"^{re.escape(message)}$") as caught:
            self.financed(installments=3, session=D(2027, 3, 1), compress=True)
        assert caught.value.latest_due == D(2027, 3, 1)

    def test_a_cent_a_month_is_financed_and_less_is_refused(self) -> None:
        assert [i.amount for i in self.financed(installments=2, fee=usd("0.02")).installments] == [
            usd("0.01")
        ] * 2
        with pytest.raises(
            InvalidPlanError,
            match=r"^a balance of 0\.01 USD cannot be financed over 2 positive installment\(s\)$",
        ):
            self.financed(installments=2, fee=usd("0.01"))


class TestLateFeesInThePlansCurrency:
    """Flat late fees and the cap are money of the plan: in another currency the plan is refused."""

    @staticmethod
    def plan(policy: LateFeePolicy) -> PaymentPlan:
        return PaymentPlan.with_deposit(
            "p", usd("300.00"), deposit=DepositRule.none(), installments=3, dates="monthly",
            booked=dt.date(2027, 1, 1), session=dt.date(2027, 6, 1), terms=Terms(late_fees=policy),
        )

    def test_a_flat_step_in_another_currency_is_refused_naming_the_step(self) -> None:
        policy = LateFeePolicy(steps=(LateFeeStep.flat(5, usd("10.00")), LateFeeStep.flat(15, Money.of("10.00", "EUR"))))
        with pytest.raises(InvalidPlanError, match=re.escape("expected late-fee step 2's amount in USD, got 10.00 EUR")):
            self.plan(policy)

    def test_a_cap_in_another_currency_is_refused(self) -> None:
        policy = LateFeePolicy(steps=(LateFeeStep.flat(5, usd("10.00")),), cap=Money.of("500", "JPY"))
        with pytest.raises(InvalidPlanError, match=re.escape("expected the late-fee cap in USD, got 500 JPY")):
            self.plan(policy)

    def test_percent_steps_and_a_cap_in_the_plans_currency_are_kept(self) -> None:
        policy = LateFeePolicy(steps=(LateFeeStep.flat(5, usd("10.00")), LateFeeStep.percent_of_overdue(15, 5)), cap=usd("12.00"))
        assert self.plan(policy).terms.late_fees == policy


def two_parts() -> PaymentPlan:
    """$400 deposit on the booking day 2027-01-01, $600 on 2027-02-01; session 2027-03-01."""
    return PaymentPlan.custom(
        "c", [(D(2027, 1, 1), usd("400")), (D(2027, 2, 1), usd("600"))], booked=D(2027, 1, 1), session=D(2027, 3, 1)
    )


def _lines(**changes: object) -> dict[str, object]:
    """The plan's two lines with *changes* applied to them (``first=...``, ``second=...`` as evolve keywords)."""
    first, second = two_parts().installments
    return {"installments": (
        attrs.evolve(first, **changes.get("first", {})),  # type: ignore[arg-type]
        attrs.evolve(second, **changes.get("second", {})),  # type: ignore[arg-type]
    )}


ACROSS_FIELDS_REFUSED = [
    ({"fee": usd("0")}, "expected a fee above zero, got Money('0.00', 'USD')"),
    ({"fee": 1000}, "expected a fee above zero, got 1000"),
    ({"session": D(2026, 12, 31)}, "expected the session on or after the booking 2027-01-01, got 2026-12-31"),
    ({"version": 0}, "expected a plan version of 1 or more, got 0"),
    ({"version": "2"}, "expected a plan version of 1 or more, got '2'"),
    ({"version": True}, "expected a plan version of 1 or more, got True"),
    ({"finance_charge": usd("-0.01")}, "expected a finance charge of zero or more in USD, got -0.01 USD"),
    ({"finance_charge": Money.of("0", "EUR")}, "expected a finance charge of zero or more in USD, got 0.00 EUR"),
    ({"finance_charge": usd("10")}, "installments add up to 1000.00 USD, expected exactly 1010.00 USD"),
    ({"installments": ()}, "expected at least one installment, got none"),
    (_lines(first={"number": 2}), "expected installment number 1, got 2"),
    (_lines(second={"amount": Money.of("600", "EUR")}), "expected installment 2 in USD, got 600.00 EUR"),
    (_lines(first={"amount": usd("1000")}, second={"amount": usd("0")}), "expected installment 2 above zero, got 0.00 USD"),
    (
        _lines(first={"amount": usd("1100")}, second={"amount": usd("-100")}),
        "expected installment 2 above zero, got -100.00 USD",
    ),
    (
        _lines(first={"due": D(2026, 12, 31)}),
        "installment 1 is due 2026-12-31, before the booking (2027-01-01); due dates must not go backwards",
    ),
    (
        _lines(second={"due": D(2026, 12, 31)}),
        "installment 2 is due 2026-12-31, before installment 1 (2027-01-01); due dates must not go backwards",
    ),
    (_lines(second={"kind": InstallmentKind.DEPOSIT}), "expected the deposit first, got one at position 2"),
    (_lines(second={"amount": usd("599.99")}), "installments add up to 999.99 USD, expected exactly 1000.00 USD"),
    (_lines(second={"key": "1"}), "expected each line once, got two lines with the id '1'"),
    (_lines(first={"key": "a"}, second={"key": "a"}), "expected each line once, got two lines with the id 'a'"),
    (
        {"session": D(2027, 1, 31)},
        "the last payment is due 2027-02-01, after the cutoff 2027-01-31 (0 days before the session)",
    ),
    (
        {"session": D(2027, 2, 10), "terms": Terms(final_due_days_before=10)},
        "the last payment is due 2027-02-01, after the cutoff 2027-01-31 (10 days before the session)",
    ),
    (
        {
            "booked": D(1, 1, 1), "session": D(1, 1, 5), "terms": Terms(final_due_days_before=10),
            **_lines(first={"due": D(1, 1, 1)}, second={"due": D(1, 1, 2)}),
        },
        "the last payment is due 0001-01-02, after the cutoff before 0001-01-01 (10 days before the session)",
    ),
    (
        {
            "booked": D(1, 1, 1), "session": D(1, 1, 11), "terms": Terms(final_due_days_before=10),
            **_lines(first={"due": D(1, 1, 1)}, second={"due": D(1, 1, 2)}),
        },
        "the last payment is due 0001-01-02, after the cutoff 0001-01-01 (10 days before the session)",
    ),
    (
        {"terms": Terms(late_fees=LateFeePolicy((LateFeeStep.flat(1, usd("5")),), cap=Money.of("5", "EUR")))},
        "expected the late-fee cap in USD, got 5.00 EUR",
    ),
    (
        {"terms": Terms(late_fees=LateFeePolicy((LateFeeStep.flat(1, Money.of("5", "EUR")),)))},
        "expected late-fee step 1's amount in USD, got 5.00 EUR",
    ),
]


class TestRulesAcrossFields:
    """PaymentPlan's rules across fields (``__attrs_post_init__``), built directly as evolve and the store's
    validating reader build plans: each refusal word for word, and the edges each rule lets through.

    Until they moved out of the installments' validator, mutmut did not mutate them (it leaves decorated
    functions alone): the first run that did found their words unpinned, and these pin them.
    """

    @pytest.mark.parametrize(("changes", "message"), ACROSS_FIELDS_REFUSED)
    def test_refused(self, changes: dict[str, object], message: str) -> None:
        with pytest.raises(InvalidPlanError, match=f"^{re.escape(message)}$"):
            attrs.evolve(two_parts(), **changes)  # type: ignore[arg-type]

    def test_the_edges_accepted(self) -> None:
        """A currency equal to the fee's but another object, a line due the day before it, the last due on the
        cutoff (10 days before the session, and near the calendar's first day), a version of 2."""
        plan = two_parts()
        assert attrs.evolve(plan, **_lines(second={"amount": Money(60000, Currency("USD", 2))})) == plan
        same_day = attrs.evolve(plan, **_lines(second={"due": D(2027, 1, 1)}))
        assert [i.due for i in same_day.installments] == [D(2027, 1, 1), D(2027, 1, 1)]
        on_cutoff = attrs.evolve(plan, session=D(2027, 2, 11), terms=Terms(final_due_days_before=10))
        assert on_cutoff.cutoff == on_cutoff.installments[-1].due == D(2027, 2, 1)
        early = attrs.evolve(
            plan, booked=D(1, 1, 1), session=D(1, 1, 12), terms=Terms(final_due_days_before=10),
            **_lines(first={"due": D(1, 1, 1)}, second={"due": D(1, 1, 2)}),
        )
        assert early.cutoff == D(1, 1, 2)
        assert attrs.evolve(plan, version=2).version == 2
        assert attrs.evolve(plan, finance_charge=usd("0")).total == usd("1000")
