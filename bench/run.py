"""Measure every figure of a plan, group by group, into table rows."""

from collections.abc import Callable
from pathlib import Path

from bench.latency import latency_rows
from bench.listing import listing_rows
from bench.memory import memory_row
from bench.plan import Plan
from bench.speed import sources, speed_rows
from bench.table import Row
from bench.throughput import throughput_rows
from bench.tools import tool_rows

SMALL_TARGET = 0.85
LARGE_TARGET = 0.95

Say = Callable[[str], None]


def measure(
    plan: Plan, groups: tuple[str, ...], folder: Path, work: Path, say: Say
) -> list[Row]:
    say(f"test images in {folder} (made once, then reused)")
    sources(plan, folder)
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    steps: dict[str, Callable[[], list[Row]]] = {
        "convert": lambda: speed_rows(plan, folder, out),
        "memory": lambda: [memory_row(plan.memory_size, plan.rounds, folder, out)],
        "throughput": lambda: [
            *throughput_rows(plan.small_batch, SMALL_TARGET, plan.rounds, folder, work),
            *throughput_rows(plan.large_batch, LARGE_TARGET, plan.rounds, folder, work),
        ],
        "latency": lambda: latency_rows(plan.idle_s, plan.idle_samples, folder, work),
        "listing": lambda: listing_rows(
            plan.tasks, plan.list_requests, plan.page_loads, folder, work
        ),
        "tools": lambda: tool_rows(plan, folder, out),
    }
    rows: list[Row] = []
    for group in groups:
        say(f"measuring {group}")
        rows += steps[group]()
    return rows
