"""Timing and reporting: medians of repeated runs, same-run comparisons, one table."""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One line of the table.

    *value* and *comparison* are in *unit* (``ns/plan``: nanoseconds per
    plan; ``B/entry``: bytes per entry); *ratio* is the same-run ratio the
    target is about, already worded ("4.1x faster", "2.0x the floor").
    """

    area: str
    case: str
    value: float | None
    unit: str = "ns/plan"
    comparison_name: str = ""
    comparison: float | None = None
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Settings:
    """How hard to run: full mode for the record, quick mode for CI."""

    quick: bool
    repeats: int
    scale: float = 1.0

    @classmethod
    def make(cls, quick: bool, scale: float = 1.0) -> Settings:
        return cls(quick=quick, repeats=3 if quick else 11, scale=scale)

    def size(self, full: int, quick: int) -> int:
        """*full* in full mode (times ``--scale``, never below *quick*), *quick* in quick mode."""
        return quick if self.quick else max(quick, round(full * self.scale))


#: CPU time of this process, in ns: on a shared machine, time other processes
#: take from the CPU does not count against whichever contender was running.
_clock = time.process_time_ns


def measure(
    contenders: dict[str, Callable[[], object]], *, per: int, repeats: int
) -> dict[str, float]:
    """Median nanoseconds per item of each contender, interleaved run by run.

    Each callable processes *per* items. Every repetition runs all the
    contenders, rotating their order, so drift on a noisy machine hits them
    alike; the garbage collector runs before each timed call, never inside
    one that did not cause it.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm up: caches, specialisation, lazy imports
        contenders[name]()
    # The inputs (100,000 plans and their ledgers) are frozen out of the
    # collector, as a long-running job would gc.freeze() its loaded data:
    # otherwise every full collection during a run rescans them and the
    # per-plan cost grows with the heap, not with the work. The collector
    # stays on for what the contenders themselves allocate.
    gc.collect()
    gc.freeze()
    try:
        for r in range(repeats):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                t0 = _clock()
                contenders[name]()
                samples[name].append((_clock() - t0) / per)
    finally:
        gc.unfreeze()
    return {n: statistics.median(s) for n, s in samples.items()}


#: Where the store and engine suites find PostgreSQL: ``make bench`` starts a throwaway server and sets the
#: first; a developer with the test server running (``scripts/postgres.sh start``) has the second.
POSTGRES_ENVS = ("PAYPLAN_BENCH_POSTGRES_URL", "PAYPLAN_TEST_POSTGRES_URL")


def postgres_url(settings: Settings) -> str:
    """The PostgreSQL server to benchmark on, or "" when none is set (the suites then say so in a row).

    Quick mode (``make test``) takes only the first: a test run's server is not a benchmark's.
    """
    for name in POSTGRES_ENVS[:1] if settings.quick else POSTGRES_ENVS:
        url = os.environ.get(name, "").strip()
        if url:
            return url
    return ""


def timed_once(fn: Callable[[], object]) -> float:
    """Nanoseconds for one call of *fn*."""
    gc.collect()
    t0 = _clock()
    fn()
    return float(_clock() - t0)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit.startswith("ns"):
        if value >= 100_000:
            return f"{value / 1000:,.0f} µs"
        if value >= 1000:
            return f"{value / 1000:.2f} µs"
        return f"{value:.0f} ns"
    if unit.startswith("B"):
        return f"{value:,.0f} B"
    return f"{value:,.2f}"


HEADER = ("area", "case", "payplan", "per", "compared with", "it took", "ratio", "target", "met")


def cells(row: Row) -> tuple[str, ...]:
    """The row as table cells."""
    per = row.unit.split("/", 1)[1] if "/" in row.unit else ""
    met = {True: "met", False: "MISSED", None: "-"}[row.met]
    return (
        row.area,
        row.case + (f" ({row.note})" if row.note else ""),
        _fmt(row.value, row.unit),
        per,
        row.comparison_name or "-",
        _fmt(row.comparison, row.unit) if row.comparison is not None else "-",
        row.ratio or "-",
        row.target or "report",
        met,
    )


def text_table(rows: Sequence[Row]) -> str:
    """The table for a terminal."""
    body = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in body) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    """The table in Markdown."""
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows]
    return "\n".join(out)


def machine() -> str:
    """CPU model, core count and OS, as far as the platform says."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPU(s), {platform.machine()}, {platform.system()} {platform.release()}"


def write_results(path: Path, rows: Sequence[Row], *, repeats: int, seconds: float) -> None:
    """Write the table to *path* with the date, Python version and machine."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Benchmark results

Written by `make bench` (`python -m benchmarks`); do not edit by hand.

- Date: {now}
- Python: {sys.version.split()[0]} ({platform.python_implementation()}, {sys.version.split("[")[-1].rstrip("]")})
- Machine: {machine()}
- Each timing is the median of {repeats} runs (CPU time of the process,
  `time.process_time_ns`; a few large rows use fewer runs); the comparison
  ran interleaved with payplan in the same process, on the same inputs. The
  inputs are `gc.freeze()`d during timing, as a long-running job would freeze
  its loaded data; the collector runs on what each contender allocates.
- Whole run: {seconds:.0f} s.

{markdown_table(rows)}
"""
    path.write_text(text, encoding="utf-8")
