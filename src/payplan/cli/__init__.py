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

#: Subcommand modules, in the order ``payplan --help`` lists them.
COMMANDS = ("_quote", "_status", "_documents", "_check", "_demo", "_db", "_run")


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


def build_parser() -> argparse.ArgumentParser:
    """The ``payplan`` argument parser with every subcommand registered."""
    parser = _Parser(
        prog="payplan",
        description="Pre-session payment plans: quote, track and collect them.",
    )
    subs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``payplan`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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
