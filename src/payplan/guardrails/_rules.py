"""Reading the rules file (``rules.toml``, shipped in the package) into a :class:`RuleSet`.

The file is read on first use, never when ``payplan`` is imported, and
checked as it is read: every rule has its id, version, jurisdiction,
sources and outcomes, and only an outcome on a primary basis may refuse.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ..exceptions import InvalidPlanError
from ._model import Basis, Contract, Outcome, PaymentMethod, Rule, RuleSet, Severity

__all__ = ["load_rules", "rules"]

_RULE_KEYS = {
    "id", "version", "jurisdiction", "applies_in", "title", "basis", "sources", "thresholds", "outcomes",
    "consumer_only", "contracts", "payment_methods",
}
_OUTCOME_KEYS = {"severity", "basis", "says", "remedy", "notice"}


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidPlanError(f"{where}: expected text, got {value!r}")
    return value


def _texts(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidPlanError(f"{where}: expected a non-empty array of text, got {value!r}")
    return tuple(_text(v, where) for v in value)


def _choice(kind: Any, value: Any, where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InvalidPlanError(
            f"{where}: expected one of {', '.join(repr(k.value) for k in kind)}, got {value!r}"
        ) from None


def _outcome(key: str, data: Any, basis: Basis, where: str) -> Outcome:
    if not isinstance(data, Mapping):
        raise InvalidPlanError(f"{where}: expected a table, got {data!r}")
    unknown = set(data) - _OUTCOME_KEYS
    if unknown:
        raise InvalidPlanError(f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(_OUTCOME_KEYS)}")
    severity = _choice(Severity, data.get("severity"), f"{where}.severity")
    own = _choice(Basis, data["basis"], f"{where}.basis") if "basis" in data else basis
    if severity is Severity.REFUSE and own is not Basis.PRIMARY:
        raise InvalidPlanError(
            f"{where}: a rule on a {own.value} basis may warn or disclose, never refuse; "
            "check its primary text first, or lower the severity"
        )
    notice = data.get("notice")
    return Outcome(
        key, severity, own, _text(data.get("says"), f"{where}.says"), _text(data.get("remedy"), f"{where}.remedy"),
        None if notice is None else _text(notice, f"{where}.notice"),
    )


def _rule(data: Any, n: int, places: set[str]) -> Rule:
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise InvalidPlanError(f"[[rule]] #{n}: expected a table with an id")
    where = f"rule {data['id']!r}"
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise InvalidPlanError(f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(_RULE_KEYS)}")
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise InvalidPlanError(f"{where}.version: expected a whole number of 1 or more, got {version!r}")
    basis = _choice(Basis, data.get("basis"), f"{where}.basis")
    applies = _texts(data.get("applies_in"), f"{where}.applies_in")
    for place in applies:
        if place not in places:
            raise InvalidPlanError(f"{where}.applies_in: expected an ISO code, a group or '*', got {place!r}")
    for url in _texts(data.get("sources"), f"{where}.sources"):
        if not url.startswith(("https://", "http://")):
            raise InvalidPlanError(f"{where}.sources: expected URLs, got {url!r}")
    thresholds = data.get("thresholds", {})
    if not isinstance(thresholds, Mapping):
        raise InvalidPlanError(f"{where}.thresholds: expected a table, got {thresholds!r}")
    raw = data.get("outcomes")
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidPlanError(f"{where}.outcomes: expected one or more outcome tables, got {raw!r}")
    outcomes = {k: _outcome(k, v, basis, f"{where}.outcomes.{k}") for k, v in raw.items()}
    consumer_only = data.get("consumer_only", False)
    if type(consumer_only) is not bool:
        raise InvalidPlanError(f"{where}.consumer_only: expected true or false, got {consumer_only!r}")
    return Rule(
        data["id"],
        version,
        _text(data.get("jurisdiction"), f"{where}.jurisdiction"),
        applies,
        _text(data.get("title"), f"{where}.title"),
        basis,
        _texts(data.get("sources"), f"{where}.sources"),
        thresholds,
        outcomes,
        consumer_only,
        frozenset(_choice(Contract, c, f"{where}.contracts") for c in data.get("contracts", [])),
        frozenset(_choice(PaymentMethod, m, f"{where}.payment_methods") for m in data.get("payment_methods", [])),
    )


def load_rules(text: str) -> RuleSet:
    """A :class:`RuleSet` from the TOML text of a rules file (the format of the shipped ``rules.toml``).

    Raises:
        InvalidPlanError: malformed TOML, a rule without its id, version,
            jurisdiction, sources or outcomes, two rules with one id, or an
            outcome that refuses on a secondary or uncertain basis.

    .. versionadded:: 0.2.0
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPlanError(f"expected a TOML rules file, got invalid TOML: {exc}") from None
    head = data.get("ruleset")
    if not isinstance(head, Mapping) or not isinstance(head.get("version"), str):
        raise InvalidPlanError("expected [ruleset] with a version, got none")
    raw_groups = data.get("groups", {})
    if not isinstance(raw_groups, Mapping):
        raise InvalidPlanError(f"[groups]: expected a table, got {raw_groups!r}")
    groups = {name: frozenset(_texts(v, f"[groups].{name}")) for name, v in raw_groups.items()}
    places = set(groups) | {"*"}
    import pycountry  # only when rules are read

    places |= {c.alpha_2 for c in pycountry.countries}
    raw = data.get("rule")
    if not isinstance(raw, list) or not raw:
        raise InvalidPlanError("expected one or more [[rule]] tables, got none")
    found: list[Rule] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw, 1):
        if isinstance(entry, Mapping):
            for place in entry.get("applies_in", []) if isinstance(entry.get("applies_in"), list) else []:
                if isinstance(place, str) and "-" in place and pycountry.subdivisions.get(code=place) is not None:  # type: ignore[no-untyped-call]
                    places.add(place)
        rule = _rule(entry, n, places)
        if rule.id in seen:
            raise InvalidPlanError(f"expected each rule id once, got {rule.id!r} twice")
        seen.add(rule.id)
        found.append(rule)
    return RuleSet(head["version"], found, groups)


@functools.cache
def rules() -> RuleSet:
    """The rules payplan ships (``payplan/guardrails/rules.toml``), read once, on first use.

    .. versionadded:: 0.2.0
    """
    text = resources.files(__package__).joinpath("rules.toml").read_text(encoding="utf-8")
    return load_rules(text)
