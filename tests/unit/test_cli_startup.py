"""The `payplan` command loads only the module of the subcommand asked for, and lists every subcommand."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from payplan.cli import COMMANDS, SUBCOMMANDS, build_parser

QUOTE = ["quote", "--fee", "2000.00", "--currency", "USD", "--deposit", "25%", "--deposit-min", "500.00",
         "--installments", "3", "--cadence", "monthly", "--booked", "2026-12-01", "--session", "2027-04-15",
         "--format", "json"]


def _choices(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    """Each subcommand's one-line help, in the order ``payplan --help`` lists them."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {c.dest: c.help for c in action._choices_actions}


def _loaded(*argv: str) -> set[str]:
    code = (
        "import sys, runpy; sys.argv = ['payplan', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('payplan', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    err = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True).stderr
    line = next(x for x in err.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


class TestStartup:
    def test_the_table_is_what_the_modules_register(self) -> None:
        """The names and help `payplan --help` lists without loading the modules are the ones they register."""
        full = _choices(build_parser())
        assert full == {name: text for name, _, text in SUBCOMMANDS}
        assert COMMANDS == ("_quote", "_status", "_documents", "_check", "_demo", "_db", "_run")

    @pytest.mark.parametrize(("name", "module", "text"), SUBCOMMANDS)
    def test_a_subcommand_parses_as_with_every_module_loaded(self, name: str, module: str, text: str) -> None:
        """Loading only the subcommand's module lists the same subcommands, and its own parser is the full one's."""
        lazy = build_parser([name, "--help"])
        assert _choices(lazy) == _choices(build_parser())
        full_sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
        lazy_sub = next(a for a in lazy._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
        assert lazy_sub.format_help() == full_sub.format_help()

    def test_quote_loads_no_store_reports_documents_or_catalog(self) -> None:
        """`payplan quote` imports the schedule's modules only: no store, reports, documents, catalog or serializer."""
        loaded = _loaded(*QUOTE)
        assert "payplan.cli._quote" in loaded
        other = {f"payplan.cli.{m}" for m in COMMANDS if m != "_quote"}
        heavy = {"payplan._reports", "payplan._documents", "payplan._catalog", "payplan.serialization", "payplan.store",
                 "payplan.providers", "sqlalchemy", "babel", "uuid"}
        assert loaded & (other | heavy) == set()

    def test_help_loads_no_subcommand(self) -> None:
        """`payplan --help` lists every subcommand without importing any of their modules."""
        loaded = _loaded("--help")
        assert not {m for m in loaded if m.startswith("payplan.cli._")}
        assert "payplan._plan" not in loaded
