"""Run the benchmarks and print one table: ``python -m benchmarks [--quick] [--only AREA] [--scale F]``.

Full mode (``make bench``) writes the table to ``benchmarks/RESULTS.md``
with the date, Python version and machine. Quick mode (``--quick``, run by
``make test``) uses small inputs and few repetitions, prints the same table
for a look, writes nothing, and asserts nothing about time: it exists so the
benchmarks cannot rot.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from ._harness import Row, Settings, text_table, write_results

#: The suites, in the order of the table.
SUITES = ("schedule", "serialization", "ledger", "portfolio", "providers", "store", "engine")
RESULTS = Path(__file__).with_name("RESULTS.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, few repetitions, no RESULTS.md")
    parser.add_argument("--only", choices=SUITES, action="append", help="run only this suite (repeatable)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="full mode at this fraction of the full sizes (e.g. 0.1); no RESULTS.md unless 1")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale: expected a fraction in (0, 1], got {args.scale}")
    settings = Settings.make(args.quick, args.scale)
    started = time.perf_counter()
    rows: list[Row] = []
    for name in args.only or SUITES:
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"benchmarks.{name}":
                raise
            suite_rows = [Row(name, "no suite yet", None, unit="", note="benchmarks/" + name + ".py is missing")]
        else:
            suite_rows = module.run(settings)
        rows += suite_rows
        print(f"# {name}: {len(suite_rows)} row(s) in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    print(text_table(rows))
    missed = [r for r in rows if r.met is False]
    print(f"\n{len(rows)} rows, {sum(r.met is True for r in rows)} targets met, {len(missed)} missed, {seconds:.0f} s"
          + (" (quick mode: timings are indicative only)" if settings.quick else ""))
    if settings.scale != 1:
        print(f"(full mode at {settings.scale:g} of the full sizes)")
    if not settings.quick and not args.only and settings.scale == 1:
        write_results(RESULTS, rows, repeats=settings.repeats, seconds=seconds)
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
