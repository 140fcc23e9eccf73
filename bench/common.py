"""What the benchmarks share: interleaved medians and a line about the machine."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable
from pathlib import Path

Timing = tuple[float, float]  # wall seconds, CPU seconds (user + system) of the children


def interleaved(
    reps: int, a: Callable[[], Timing], b: Callable[[], Timing]
) -> tuple[Timing, Timing]:
    """Medians of a() and b(), run alternately (and alternating which goes first)."""
    times_a: list[Timing] = []
    times_b: list[Timing] = []
    for rep in range(reps):
        pair = [(a, times_a), (b, times_b)]
        for run, times in pair if rep % 2 == 0 else pair[::-1]:
            times.append(run())

    def medians(times: list[Timing]) -> Timing:
        return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)

    return medians(times_a), medians(times_b)


def cpu_line() -> str:
    """Cores and processor model, for the results file."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores, {cpu}"
