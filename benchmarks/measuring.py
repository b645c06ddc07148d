"""What every benchmark here shares: summary statistics, memory readings, plain tables.

Imported by the benchmark scripts, which run as `python benchmarks/NAME.py` (this folder is
then on the import path).
"""

from __future__ import annotations

import resource
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

MB = 1024 * 1024


def stats(samples: Sequence[float], digits: int = 3) -> dict[str, float]:
    """Median, p90, min and max: the median is what to quote on a shared, noisy machine."""
    ordered = sorted(samples)
    p90 = (
        statistics.quantiles(ordered, n=10, method="inclusive")[8]
        if len(ordered) > 1
        else ordered[0]
    )
    return {
        "median": round(statistics.median(ordered), digits),
        "p90": round(p90, digits),
        "max": round(ordered[-1], digits),
        "min": round(ordered[0], digits),
    }


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the tables and the JSON."""
    print(message, file=sys.stderr, flush=True)


def maxrss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, else KiB


def proc_status_mb() -> dict[str, float]:
    """VmRSS and VmHWM (resident size and its high-water mark) in MB, Linux only."""
    found: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        return {}
    return found if len(found) == 2 else {}


def reset_peak() -> bool:
    """Set VmHWM back to the current resident size (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def table(header: Sequence[str], body: list[tuple[str, ...]], left: Sequence[int]) -> str:
    """A plain text table; columns in `left` are left-aligned, the rest (figures) right."""
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(w) if i in left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return " | ".join(padded).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in body)])
