"""Django's e-mail backend as a payplan :class:`~payplan.notify.Notifier`.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import Any

from ..exceptions import NotificationError
from ..notify import Message, language_of

__all__ = ["DjangoEmailNotifier"]


class DjangoEmailNotifier:
    """Sends payplan's reminders and notices through the site's ``EMAIL_BACKEND``.

    Whatever the site already sends e-mail with (SMTP, a provider's API
    backend such as django-anymail's, the console in development, ``locmem``
    in tests) carries payplan's messages too. Each e-mail has a stable
    ``Message-ID`` derived from the message's id, so a message resent after
    a crash is the same message to the mail system, and a
    ``Content-Language`` from its locale.

    Args:
        sender: The ``From`` address (default: ``settings.DEFAULT_FROM_EMAIL``).
        domain: The right-hand side of the ``Message-ID`` (your sending domain).
        connection: A backend connection (default: ``get_connection()``, opened per message).

    .. versionadded:: 0.3.0
    """

    def __init__(self, sender: str | None = None, *, domain: str = "payplan.invalid", connection: Any = None) -> None:
        self.sender = sender
        self.domain = domain
        self.connection = connection

    def __repr__(self) -> str:
        return f"DjangoEmailNotifier(sender={self.sender!r}, domain={self.domain!r})"

    def send(self, message: Message) -> None:
        """Send *message* as an e-mail through Django's backend.

        Raises:
            NotificationError: a message for another channel, a message
                without an address, or the backend refused it (retryable:
                the backend's error is kept as the cause).
        """
        from django.core.mail import EmailMessage

        if message.channel != "email":
            raise NotificationError(f"expected a message for the email channel, got {message.channel!r}")
        if not message.to:
            raise NotificationError(f"expected an e-mail address for message {message.id}, got none")
        mail = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=self.sender,
            to=[message.to],
            connection=self.connection,
            headers={
                "Message-ID": message.message_id(self.domain),
                "X-Payplan-Message": message.id,
                "Content-Language": language_of(message.locale),
            },
        )
        try:
            sent = mail.send(fail_silently=False)
        except Exception as exc:  # any backend's own error: SMTP, an HTTP API, a file
            raise NotificationError(
                f"expected Django's e-mail backend to accept message {message.id}, got {type(exc).__name__}: {exc}",
                retryable=True,
            ) from exc
        if sent != 1:
            raise NotificationError(f"expected Django's e-mail backend to send message {message.id}, it sent {sent}")
