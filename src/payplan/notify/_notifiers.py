"""Notifiers: the protocol, the SMTP sender, an in-memory one for tests, and routing by channel."""

from __future__ import annotations

import smtplib
import ssl
import threading
from collections import Counter
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol, runtime_checkable

from ..exceptions import NotificationError
from ._compose import Message, language_of

__all__ = ["ChannelNotifier", "InMemoryNotifier", "Notifier", "SmtpNotifier"]


@runtime_checkable
class Notifier(Protocol):
    """Hands a :class:`Message` to a channel (e-mail, SMS, a chat app...).

    ``send`` returns once the channel accepted the message and raises
    :class:`~payplan.NotificationError` when it did not. The same message
    may be sent again after a crash: a notifier passes :attr:`Message.id`
    on where the channel can deduplicate (the SMTP notifier as the
    ``Message-ID`` header).

    .. versionadded:: 0.1.0
    """

    def send(self, message: Message) -> None:
        """Send *message*; raise :class:`~payplan.NotificationError` if the channel refused it."""
        ...


class InMemoryNotifier:
    """Keeps every message it is given, in order, for tests and the demo (thread-safe).

    .. versionadded:: 0.1.0
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[Message] = []

    def send(self, message: Message) -> None:
        """Keep *message*."""
        with self._lock:
            self._sent.append(message)

    @property
    def sent(self) -> tuple[Message, ...]:
        """Every message sent, in order."""
        with self._lock:
            return tuple(self._sent)

    def duplicates(self) -> dict[str, int]:
        """Message ids sent more than once, with how often."""
        counts = Counter(m.id for m in self.sent)
        return {k: n for k, n in counts.items() if n > 1}

    def clear(self) -> None:
        """Forget what was sent."""
        with self._lock:
            self._sent.clear()


class SmtpNotifier:
    """Sends e-mail through an SMTP server with the standard library's :mod:`smtplib`.

    Each message carries a ``Message-ID`` derived from its stable id, so a
    message resent after a crash is the same message to the mail system,
    and a ``Content-Language`` from its locale. One connection per
    message: simple and safe across workers; the server's own queue does
    the rest.

    Args:
        host: The SMTP server.
        port: Its port.
        sender: The ``From`` address.
        domain: The right-hand side of the ``Message-ID`` (your sending domain).
        starttls: Upgrade the connection with STARTTLS (with certificate checks).
        username: Log in with this user (after STARTTLS, when asked).
        password: And this password; never shown in ``repr`` or errors.
        timeout: Seconds to wait for the server.
        reply_to: A ``Reply-To`` address, if replies go elsewhere.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 25,
        *,
        sender: str,
        domain: str = "payplan.invalid",
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        reply_to: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.domain = domain
        self.starttls = starttls
        self.username = username
        self._password = password
        self.timeout = timeout
        self.reply_to = reply_to

    def __repr__(self) -> str:
        return f"SmtpNotifier(host={self.host!r}, port={self.port!r}, sender={self.sender!r})"

    def email(self, message: Message) -> EmailMessage:
        """The e-mail *message* becomes (headers and text), without sending it."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Message-ID"] = message.message_id(self.domain)
        mail["X-Payplan-Message"] = message.id
        if self.reply_to:
            mail["Reply-To"] = self.reply_to
        mail.set_content(message.body)
        # after set_content, which replaces every Content-* header
        mail["Content-Language"] = language_of(message.locale)
        return mail

    def send(self, message: Message) -> None:
        """Send *message* as an e-mail.

        Raises:
            NotificationError: the server could not be reached or refused it
                (``retryable`` for connection failures and 4xx answers).
        """
        if message.channel != "email":
            raise NotificationError(f"expected a message for the email channel, got {message.channel!r}")
        mail = self.email(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise NotificationError(
                f"the SMTP server {self.host}:{self.port} refused message {message.id}: {exc.smtp_code}",
                retryable=400 <= exc.smtp_code < 500,
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise NotificationError(
                f"the SMTP server {self.host}:{self.port} refused the recipient of message {message.id}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotificationError(
                f"expected the SMTP server at {self.host}:{self.port} to accept message {message.id}, "
                f"got {type(exc).__name__}: {exc}",
                retryable=True,
            ) from None


class ChannelNotifier:
    """Sends each message through the notifier of its channel (the client's preferred one).

    ``ChannelNotifier({"email": SmtpNotifier(...), "sms": MySmsNotifier()})``.

    .. versionadded:: 0.1.0
    """

    def __init__(self, notifiers: Mapping[str, Notifier]) -> None:
        if not notifiers:
            raise NotificationError("expected at least one channel's notifier, got none")
        self.notifiers = dict(notifiers)

    def send(self, message: Message) -> None:
        """Send *message* through its channel's notifier.

        Raises:
            NotificationError: no notifier for the message's channel.
        """
        notifier = self.notifiers.get(message.channel)
        if notifier is None:
            raise NotificationError(
                f"expected a notifier for channel {message.channel!r} (message {message.id}), "
                f"got notifiers for {sorted(self.notifiers)}"
            )
        notifier.send(message)
