"""Write the mutation report of the money core from mutmut's results (``make mutation``).

Reads what ``mutmut run`` left in ``mutants/`` (through ``mutmut results --all
true`` and ``mutmut show``), the judgements in ``tests/mutation/equivalent/*.toml``
(a mutant that behaves exactly as the original, with the reason), and writes
``tests/mutation/report.md``: the score, each surviving mutant with its diff,
and each one judged equivalent with why.

The score is killed / (mutants - equivalent): a timeout counts as killed (the
mutant made the tests hang, which a run would notice), a mutant no test
reaches counts as surviving.

Usage: ``python scripts/mutation_report.py [--mutmut PATH] [--minutes N]``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent"
REPORT = ROOT / "tests" / "mutation" / "report.md"
KILLED = {"killed", "timeout", "caught by type check"}
NOT_RUN = "not checked"
TARGET = 0.90


def results(mutmut: str) -> dict[str, str]:
    """Every mutant's name and status, as ``mutmut results --all true`` prints them."""
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True)
    found: dict[str, str] = {}
    for line in out.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            found[name] = status
    return found


def diff(mutmut: str, name: str) -> str:
    """The mutant's change, as ``mutmut show`` prints it (without its header line)."""
    out = subprocess.run([mutmut, "show", name], cwd=ROOT, capture_output=True, text=True, check=False)
    return "\n".join(line for line in out.stdout.splitlines() if not line.startswith("# ")).strip()


def differ(mutmut: str) -> Callable[[str], str]:
    """``diff`` in this process when mutmut is importable here (one parse per file, not one process per mutant)."""
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
    except ImportError:
        return lambda name: diff(mutmut, name)

    def in_process(name: str) -> str:
        try:
            text = get_diff_for_mutant(name)
        except Exception:  # a mutant mutmut cannot show in process: ask the command
            return diff(mutmut, name)
        return "\n".join(line for line in text.splitlines() if not line.startswith("# ")).strip()

    return in_process


def judgements() -> dict[str, dict[str, str]]:
    """Every ``tests/mutation/equivalent/<module>.toml`` merged, table by table.

    ``{"equivalent": {name: why it behaves as the original}, "alive": {name: why it is left alive}}``:
    a mutant left alive is a survivor (it counts against the score) whose note says what decision
    killing it waits for.
    """
    merged: dict[str, dict[str, str]] = {"equivalent": {}, "alive": {}}
    seen: set[str] = set()
    for path in sorted(EQUIVALENT.glob("*.toml")):
        for table, notes in tomllib.loads(path.read_text()).items():
            if table not in merged:
                raise SystemExit(f"mutation_report: {path.name} has a table [{table}]; expected [equivalent] or [alive]")
            for name, why in notes.items():
                if name in seen:
                    raise SystemExit(f"mutation_report: {name} is judged twice (again in {path.name})")
                seen.add(name)
                merged[table][name] = why
    return merged


def module_of(name: str) -> str:
    """``payplan._money.x_percent_of__mutmut_3`` -> ``payplan._money``."""
    return name.rsplit(".", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutmut", default=str(Path(sys.executable).with_name("mutmut")))
    parser.add_argument("--minutes", type=float, default=None, help="how long mutmut run took, for the report")
    parser.add_argument("--rerun", default=None, help="the MUTANTS patterns this mutmut run was limited to")
    args = parser.parse_args()
    os.chdir(ROOT)
    found = results(args.mutmut)
    show = differ(args.mutmut)
    if not found:
        print("mutation_report: no results: run `mutmut run` first", file=sys.stderr)
        return 2
    judged = judgements()
    equivalent = {name: why for name, why in judged["equivalent"].items() if name in found}
    # A judgement whose mutant is gone, or a mutant left alive that a test now kills.
    stale = sorted(
        (set(judged["equivalent"]) | set(judged["alive"])) - set(found)
        | {name for name in judged["alive"] if found.get(name) in KILLED}
    )
    survivors = sorted(n for n, s in found.items() if s not in KILLED | {NOT_RUN} and n not in equivalent)
    not_run = sorted(n for n, s in found.items() if s == NOT_RUN)
    killed = sum(1 for s in found.values() if s in KILLED)
    judged_ok = [n for n in equivalent if found[n] not in KILLED | {NOT_RUN}]
    counted = len(found) - len(judged_ok) - len(not_run)
    score = killed / counted if counted else 1.0
    by_status = collections.Counter(found.values())
    per_module: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for name, status in found.items():
        c = per_module[module_of(name)]
        c["mutants"] += 1
        if status == NOT_RUN:
            c["not run"] += 1
        elif status in KILLED:
            c["killed"] += 1
        elif name in equivalent:
            c["equivalent"] += 1
        else:
            c["left"] += 1

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    mutated = ", ".join(f"`{Path(p).stem}`" for p in config.get("only_mutate", []))
    selection = ", ".join(f"`{t}`" for t in config.get("pytest_add_cli_args_test_selection", []))
    lines = [
        "# Mutation report: the money core",
        "",
        f"Written by `make mutation` (mutmut, `scripts/mutation_report.py`) on {dt.date.today().isoformat()}.",
        f"Mutated: {mutated} (`_dunning`'s `charges_due` and `fee_charges_due` are the daily run's",
        f"guard: never above the live balance). Tests: {selection}.",
        "",
        f"**Score: {killed} of {counted} non-equivalent mutants run killed, {score:.1%}** (target {TARGET:.0%}).",
        "",
        f"{len(found)} mutants: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) + ";",
        f"{len(judged_ok)} judged equivalent below (each with why) and left out of the score.",
    ]
    full = ROOT / "mutants" / "payplan-full-run-minutes"
    if args.rerun:
        before = f"took {full.read_text().strip()} minutes" if full.exists() else "was made earlier"
        lines.append(
            f"The last whole `mutmut run` {before} of wall time on this machine (2 cores, `--max-children 2`); "
            f"the mutants matching `{args.rerun}` were then run again on the current code"
            + (f", in {args.minutes:.0f} minutes." if args.minutes is not None else ".")
        )
    elif args.minutes is not None:
        lines.append(f"`mutmut run` took {args.minutes:.0f} minutes of wall time on this machine (2 cores, `--max-children 2`).")
    if not_run:
        lines.append(
            f"**{len(not_run)} of the {len(found)} mutants were not run** (the run was stopped before them): the score"
            " is over the mutants run, and says nothing of the others."
        )
    lines += [
        "",
        "| module | mutants | not run | killed | judged equivalent | not killed | score (killed / non-equivalent run) |",
        "|---|---|---|---|---|---|---|",
    ]
    for module in sorted(per_module):
        c = per_module[module]
        denominator = c["mutants"] - c["equivalent"] - c["not run"]
        module_score = f"{c['killed'] / denominator:.1%}" if denominator else "-"
        lines.append(
            f"| `{module}` | {c['mutants']} | {c['not run']} | {c['killed']} | {c['equivalent']} | {c['left']} | {module_score} |"
        )
    lines += ["", f"## Surviving mutants ({len(survivors)})", ""]
    if not survivors:
        lines.append("None.")
    alive = judged["alive"]
    for name in survivors:
        note = [f"Left alive: {alive[name].strip()}", ""] if name in alive else []
        lines += [f"### `{name}` ({found[name]})", "", *note, "```diff", show(name), "```", ""]
    lines += ["", f"## Judged equivalent ({len(judged_ok)})", ""]
    if not judged_ok:
        lines.append("None.")
    for name in sorted(judged_ok):
        lines += [f"### `{name}`", "", equivalent[name].strip(), "", "```diff", show(name), "```", ""]
    if stale:
        lines += ["", "## Judgements for mutants that no longer exist (or left alive, now killed)", ""] + [f"- `{n}`" for n in stale]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines).rstrip() + "\n")
    print(f"mutation: {killed}/{counted} killed ({score:.1%}); {len(survivors)} surviving; report: {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
