"""Notifications: messages a person would send, through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from payplan import (
    DepositRule,
    InvalidPlanError,
    Ledger,
    Money,
    NotificationError,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    Terms,
    dunning_notices,
    plan_status,
    reminders_due,
)
from payplan.notify import (
    ChannelNotifier,
    Contact,
    InMemoryNotifier,
    Message,
    Notifier,
    SmtpNotifier,
    compose,
    notice_templates,
    reminder_templates,
    templates_for,
)

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd (a test dependency) is missing")

D = dt.date


def usd(text: str) -> Money:
    return Money.of(text, "USD")


PLAN = PaymentPlan.with_deposit(
    "pack-a",
    usd("2000.00"),
    terms=Terms(deposit=DepositRule.percent_or_minimum(25, usd("500.00")), installments=3),
    booked=D(2026, 12, 1),
    session=D(2027, 4, 15),
    client="c-17",
)
LEDGER = Ledger.empty(PLAN).record(PaymentReceived("dep", D(2026, 12, 1), usd("500")))
ADA = Contact(
    "Ada Lovelace",
    email="ada@example.com",
    fields={"pay_url": "https://studio.example/pay/pack-a", "business": "Studio Lumen",
            "update_card_url": "https://studio.example/card"},
)


class _Collect:
    """An aiosmtpd handler that keeps what it received."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Collect, int]]:
    handler = _Collect()
    port = _free_port()
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _reminder(as_of: dt.date, contact: Contact = ADA) -> Message:
    texts = templates_for(contact.locale)
    (r,) = reminders_due(
        PLAN, LEDGER, as_of, templates=reminder_templates(texts), locale=contact.locale, client=contact.name
    )
    return compose(r, PLAN, plan_status(PLAN, LEDGER, as_of), contact, texts=texts)


class TestCompose:
    def test_a_reminder_reads_as_a_person_would_write_it(self) -> None:
        m = _reminder(D(2026, 12, 25))
        assert (m.to, m.channel, m.kind) == ("ada@example.com", "email", "before_due")
        assert m.subject == "Payment reminder: $500.00 due on 2027-01-01"
        assert m.body == (
            "Dear Ada Lovelace,\n\n"
            "Installment 2 of $500.00 is due on 2027-01-01 (in 7 days).\n\n"
            "So far you have paid $500.00 of $2,000.00 (1 of 4 payments). "
            "Thank you for paying every payment so far on time.\n"
            "Pay online: https://studio.example/pay/pack-a\n\n"
            "Kind regards,\nStudio Lumen\n"
        )

    def test_the_locale_picks_the_language_and_the_money_format(self) -> None:
        marie = Contact("Marie Curie", email="marie@example.fr", locale="fr_FR", fields={"business": "Studio"})
        m = _reminder(D(2026, 12, 25), marie)
        amount = usd("500").format("fr_FR")
        assert m.subject == f"Rappel de paiement : {amount} à régler le 2027-01-01"
        assert m.body.startswith(f"Bonjour Marie Curie,\n\nL'échéance 2 de {amount} est due le 2027-01-01")
        assert "Bien cordialement,\nStudio" in m.body

    def test_a_failed_payment_links_to_the_card_update(self) -> None:
        ledger = LEDGER.record(PaymentFailed("f1", D(2027, 1, 1), "card_declined", 2, usd("500")))
        texts = templates_for("en_US")
        (n,) = dunning_notices(PLAN, ledger, D(2027, 1, 1), templates=notice_templates(texts))
        m = compose(n, PLAN, plan_status(PLAN, ledger, D(2027, 1, 1)), ADA)
        assert m.subject == "Your payment of $500.00 did not go through"
        assert "your card was declined. We will try again on 2027-01-02" in m.body
        assert "Update your card: https://studio.example/card" in m.body

    def test_the_message_id_is_stable_and_per_message(self) -> None:
        a, b = _reminder(D(2026, 12, 25)), _reminder(D(2026, 12, 25))
        assert a.message_id("studio.example") == b.message_id("studio.example")
        assert a.message_id().endswith(".payplan@payplan.invalid>")
        assert _reminder(D(2026, 12, 31)).message_id() != a.message_id()

    def test_no_address_on_the_preferred_channel_is_a_clear_error(self) -> None:
        with pytest.raises(InvalidPlanError, match=r"expected an address for 'Bo' on their channel 'sms'"):
            _reminder(D(2026, 12, 25), Contact("Bo", email="bo@example.com", channel="sms"))

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"name": 7}, "expected name as text"),
            ({"name": "x", "fields": {"a": 1}}, "contact fields"),
            ({"name": "x", "card_expires": "2027-01"}, "card_expires"),
        ],
    )
    def test_bad_contacts_are_refused(self, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(InvalidPlanError, match=match):
            Contact(**kwargs)

    def test_unknown_template_names_are_refused(self) -> None:
        with pytest.raises(InvalidPlanError, match="message templates named"):
            templates_for("en_US", {"en": {"greting": "Hi"}})


class TestSmtp:
    def test_sends_through_a_real_smtp_server_with_headers(self, smtp_server: tuple[_Collect, int]) -> None:
        handler, port = smtp_server
        notifier = SmtpNotifier("127.0.0.1", port, sender="studio@example.com", domain="studio.example")
        assert isinstance(notifier, Notifier)
        m = _reminder(D(2026, 12, 25))
        notifier.send(m)
        (mail,) = handler.received
        assert mail["To"] == "ada@example.com"
        assert mail["From"] == "studio@example.com"
        assert mail["Subject"] == m.subject
        assert mail["Message-ID"] == m.message_id("studio.example")
        assert mail["Content-Language"] == "en"
        assert mail.get_content().replace("\r\n", "\n") == m.body
        assert handler.envelopes[0].rcpt_tos == ["ada@example.com"]

    def test_a_resend_carries_the_same_message_id(self, smtp_server: tuple[_Collect, int]) -> None:
        handler, port = smtp_server
        notifier = SmtpNotifier("127.0.0.1", port, sender="studio@example.com")
        m = _reminder(D(2026, 12, 25))
        notifier.send(m)
        notifier.send(m)
        assert len({mail["Message-ID"] for mail in handler.received}) == 1

    def test_french_text_survives_the_wire(self, smtp_server: tuple[_Collect, int]) -> None:
        handler, port = smtp_server
        marie = Contact("Marie Curie", email="marie@example.fr", locale="fr_FR")
        m = _reminder(D(2026, 12, 25), marie)
        SmtpNotifier("127.0.0.1", port, sender="s@example.com").send(m)
        (mail,) = handler.received
        assert mail["Subject"] == m.subject
        assert "L'échéance 2" in mail.get_content()
        assert mail["Content-Language"] == "fr"

    def test_no_server_is_a_retryable_notification_error(self) -> None:
        notifier = SmtpNotifier("127.0.0.1", _free_port(), sender="s@example.com", password="hunter2", timeout=2)
        with pytest.raises(NotificationError, match=r"expected the SMTP server at 127\.0\.0\.1") as info:
            notifier.send(_reminder(D(2026, 12, 25)))
        assert info.value.retryable
        assert "hunter2" not in repr(notifier) + str(info.value)


class TestRouting:
    def test_the_preferred_channel_picks_the_notifier(self) -> None:
        mail, sms = InMemoryNotifier(), InMemoryNotifier()
        router = ChannelNotifier({"email": mail, "sms": sms})
        router.send(_reminder(D(2026, 12, 25)))
        router.send(_reminder(D(2026, 12, 25), Contact("Bo", phone="+15550100", channel="sms")))
        assert [m.to for m in mail.sent] == ["ada@example.com"]
        assert [m.to for m in sms.sent] == ["+15550100"]

    def test_a_channel_without_a_notifier_is_refused(self) -> None:
        router = ChannelNotifier({"email": InMemoryNotifier()})
        with pytest.raises(NotificationError, match="notifier for channel 'sms'"):
            router.send(_reminder(D(2026, 12, 25), Contact("Bo", phone="+1555", channel="sms")))

    def test_in_memory_counts_duplicates(self) -> None:
        n = InMemoryNotifier()
        m = _reminder(D(2026, 12, 25))
        n.send(m)
        assert n.duplicates() == {}
        n.send(m)
        assert n.duplicates() == {m.id: 2}
