"""Reading provider payloads field by field: a signature says who sent it, not that it is well-formed.

Every adapter reads webhook bodies and API answers through :class:`Fields`,
which checks the type (and, for numbers and times, the range) of each value
it hands out and raises :class:`~payplan.ProviderRequestError` naming the
field, what was expected and what arrived. No ``AttributeError``,
``TypeError`` or ``OverflowError`` from a malformed payload reaches the
caller, and a float amount is never truncated into a whole one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..exceptions import ProviderRequestError

__all__ = ["Fields", "MAX_AMOUNT", "MAX_TIMESTAMP"]

#: Larger than any real payment in minor units (10**15 cents is ten trillion dollars).
MAX_AMOUNT: Final = 10**15
#: 9999-12-31T23:59:59Z: datetime cannot represent anything later.
MAX_TIMESTAMP: Final = 253_402_300_799

_MISSING: Final = object()


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Fields:
    """Typed reads from one provider payload; every failure names the field.

    Args:
        provider: The provider's name (the error's ``provider``).
        what: What is being read ("a Stripe refund.created event"), for the message.
    """

    def __init__(self, provider: str, what: str) -> None:
        self.provider = provider
        self.what = what

    def error(self, path: str, expected: str, got: object = _MISSING) -> ProviderRequestError:
        """The error for field *path*: *expected*, and what arrived."""
        arrived = "nothing" if got is _MISSING else f"{type(got).__name__} {_show(got)}"
        return ProviderRequestError(
            f"{self.what}: expected {path} as {expected}, got {arrived}", provider=self.provider
        )

    @staticmethod
    def _get(node: Mapping[str, Any], key: str) -> object:
        return node.get(key, _MISSING)

    def mapping(self, node: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> Mapping[str, Any]:
        """The object at *key*; an absent or null optional one reads as empty."""
        value = self._get(node, key)
        if (value is _MISSING or value is None) and optional:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(path, "an object", value)
        return value

    def items(self, node: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> Sequence[Mapping[str, Any]]:
        """The list of objects at *key*; an absent or null optional one reads as empty."""
        value = self._get(node, key)
        if (value is _MISSING or value is None) and optional:
            return ()
        if not isinstance(value, list):
            raise self.error(path, "a list of objects", value)
        for n, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.error(f"{path}[{n}]", "an object", item)
        return value

    def text(self, node: Mapping[str, Any], key: str, path: str) -> str:
        """The non-empty string at *key*."""
        value = self._get(node, key)
        if not isinstance(value, str) or not value:
            raise self.error(path, "a non-empty string", value)
        return value

    def optional_text(self, node: Mapping[str, Any], key: str, path: str) -> str | None:
        """The string at *key*, or None when it is absent, null or empty."""
        value = self._get(node, key)
        if value is _MISSING or value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(path, "a string or null", value)
        return value

    def ident(self, node: Mapping[str, Any], key: str, path: str) -> str | None:
        """An id that may be given as a string or as an expanded object with an ``id``."""
        value = self._get(node, key)
        if value is _MISSING or value is None or value == "":
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            return self.text(value, "id", f"{path}.id")
        raise self.error(path, "an id string, an object with an id, or null", value)

    def integer(
        self, node: Mapping[str, Any], key: str, path: str, *, minimum: int = 0, maximum: int = MAX_AMOUNT
    ) -> int:
        """The whole number at *key*, from *minimum* to *maximum* (a float or a bool is refused)."""
        value = self._get(node, key)
        if type(value) is not int:
            raise self.error(path, f"a whole number from {minimum} to {maximum}", value)
        if not minimum <= value <= maximum:
            raise self.error(path, f"a whole number from {minimum} to {maximum}", value)
        return value

    def optional_integer(
        self, node: Mapping[str, Any], key: str, path: str, *, minimum: int = 0, maximum: int = MAX_AMOUNT
    ) -> int | None:
        """The whole number at *key*, or None when absent or null."""
        value = self._get(node, key)
        if value is _MISSING or value is None:
            return None
        return self.integer(node, key, path, minimum=minimum, maximum=maximum)

    def timestamp(self, node: Mapping[str, Any], key: str, path: str) -> dt.datetime:
        """The Unix time at *key* (a whole number of seconds up to year 9999), as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.integer(node, key, path, maximum=MAX_TIMESTAMP), dt.UTC)

    def rfc3339(self, node: Mapping[str, Any], key: str, path: str) -> dt.datetime:
        """The RFC 3339 time at *key*, as an aware datetime (UTC when it names no offset)."""
        value = self._get(node, key)
        if not isinstance(value, str):
            raise self.error(path, "an RFC 3339 time", value)
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise self.error(path, "an RFC 3339 time", value) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        try:
            when.astimezone(dt.UTC)
            when.timestamp()
        except (OverflowError, ValueError):
            raise self.error(path, "an RFC 3339 time from year 1 to 9999", value) from None
        return when

    def metadata(self, node: Mapping[str, Any], key: str, path: str) -> Mapping[str, str]:
        """A string-to-string metadata object; absent or null reads as empty."""
        meta = self.mapping(node, key, path, optional=True)
        for k, v in meta.items():
            if not isinstance(v, str):
                raise self.error(f"{path}.{k}", "a string", v)
        return meta
