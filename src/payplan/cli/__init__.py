"""The ``payplan`` command.

Each subcommand lives in its own module with a ``register(subparsers)``
function; :data:`COMMANDS` lists them. Every error payplan raises on purpose
ends the command with exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..exceptions import PayplanError

#: The subcommands, in the order ``payplan --help`` lists them: name, module, and the one-line
#: help the module registers (listed here so that a command imports only its own module).
SUBCOMMANDS: tuple[tuple[str, str, str], ...] = (
    ("quote", "_quote", "preview a payment plan"),
    ("status", "_status", "where a saved plan stands on a date"),
    ("cancel", "_status", "settle a cancellation of a saved plan"),
    ("agreement", "_documents", "render the payment agreement of a saved plan"),
    ("statement", "_documents", "render a statement of a saved plan on a date"),
    ("ics", "_documents", "write a saved plan's due dates as an iCalendar feed"),
    ("check", "_check", "check a saved plan against the rules where it is sold"),
    ("demo", "_demo", "the whole story of one booking on the sandbox provider (no network, no keys)"),
    ("db", "_db", "the store's database schema: upgrade it, or show its revision"),
    ("run", "_run", "the daily collections run over a store"),
    ("import", "_run", "load a saved plan and its payments into a store"),
)

#: Subcommand modules, in the order ``payplan --help`` lists them.
COMMANDS = tuple(dict.fromkeys(module for _, module, _ in SUBCOMMANDS))


class UsageError(PayplanError):
    """Bad command-line input.

    .. versionadded:: 0.1.0
    """


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # main() names the program once ("payplan: error: ..."); a subcommand's
        # parser adds only its own name ("quote: argument --fee: ...").
        command = self.prog.removeprefix("payplan").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``payplan`` argument parser with every subcommand registered.

    With *argv*, only the module of the subcommand it names is imported and
    registered: the others are listed by name and help (for ``payplan
    --help``) and parse nothing.
    """
    parser = _Parser(
        prog="payplan",
        description="Pre-session payment plans: quote, track and collect them.",
    )
    subs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    wanted = None if argv is None else _module_of(argv)
    for name, module, text in SUBCOMMANDS:
        if name in subs.choices:  # registered with its module's other subcommands
            continue
        if argv is None or module == wanted:
            importlib.import_module(f"{__name__}.{module}").register(subs)
        else:
            subs.add_parser(name, help=text)
    return parser


def _module_of(argv: Sequence[str]) -> str | None:
    """The module of the subcommand *argv* names (its first word that is not an option), if any."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return next((module for name, module, _ in SUBCOMMANDS if name == first), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``payplan`` command; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    try:
        args = parser.parse_args(words)
        status: int = args.run(args)
    except PayplanError as exc:
        print(f"payplan: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - `payplan ... | head`
        return 0
    return status


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
