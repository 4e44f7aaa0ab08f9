"""Notifications: reminders and dunning notices as a person would send them, and who sends them.

A :class:`Notifier` hands a :class:`Message` to a channel. Shipped:
:class:`SmtpNotifier` (e-mail through :mod:`smtplib`), :class:`InMemoryNotifier`
(tests, the demo) and :class:`ChannelNotifier` (each client's preferred
channel picks the notifier; SMS and others are the site's own notifiers).
:func:`compose` writes the message from a reminder or notice for a
:class:`Contact`: their name, their language, what they have paid so far,
and the site's own fields (payment link, card-update link, sign-off).

The daily run (:func:`payplan.engine.run_due`) records each message in the
store before it is sent and marks it sent after, so a crash resends at
most the message in flight, with the same ``Message-ID``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from ._compose import (
    DEFAULT_MESSAGE_TEMPLATES,
    Contact,
    Message,
    compose,
    language_of,
    notice_templates,
    reminder_templates,
    templates_for,
)
from ._notifiers import ChannelNotifier, InMemoryNotifier, Notifier, SmtpNotifier

__all__ = [
    "DEFAULT_MESSAGE_TEMPLATES",
    "ChannelNotifier",
    "Contact",
    "InMemoryNotifier",
    "Message",
    "Notifier",
    "SmtpNotifier",
    "compose",
    "language_of",
    "notice_templates",
    "reminder_templates",
    "templates_for",
]
