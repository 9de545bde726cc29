"""The benchmark still runs: `python -m bench --smoke` prints its whole table.

Only that it runs and reports every figure is checked here; its ratios are
for people to read, as a shared machine makes them too noisy to assert on.
"""

import subprocess
import sys

import pytest

from tests.processes import REPO

pytestmark = [pytest.mark.process, pytest.mark.browser]

FIGURES = (
    "convert ",
    "peak memory converting",
    "throughput ",
    "pick-up latency",
    "`GET /api/tasks` first page",
    "page load in Chromium",
    "memory of `python main.py`, idle",
    "tasks listed",
    "vs ",
)


def test_smoke_benchmark_prints_a_row_for_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].split("|")[1].strip() == "figure"
    missing = [name for name in FIGURES if not any(name in row for row in rows)]
    assert not missing, done.stdout
