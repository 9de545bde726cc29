"""Pick-up latency: one PNG uploaded to an app idle for a while, until it runs.

The app's own timestamps (created_at to started_at) measure it, so the
client's polling adds nothing. The same app, just started and idle, gives
the idle memory figure.
"""

import time
from pathlib import Path

import httpx

from bench import app, images
from bench.table import Row, at_most, seconds, split_megabytes
from bench.timing import percentile
from tests.processes import running

TARGET_S = 0.3
SIZE = (256, 256)
TIMEOUT_S = 60.0


def latency_rows(idle_s: float, samples: int, folder: Path, work: Path) -> list[Row]:
    source = images.cached(folder, SIZE, "RGB")
    waits: list[float] = []
    with running(work / "latency" / "data", work / "latency" / "app.log") as program:
        app.settle(min(idle_s, 5.0))
        idle_mb = app.memory(program.pid)
        with program.client() as client:
            for _ in range(samples):
                time.sleep(idle_s)
                waits.append(_pick_up(client, source))
    p95 = percentile(waits, 95)
    return [
        Row(
            f"pick-up latency after {idle_s:g} s idle",
            f"p95 {seconds(p95)}, max {seconds(max(waits))}, n={len(waits)}",
            target=f"p95 <= {TARGET_S} s",
            passed=at_most(TARGET_S, p95),
        ),
        Row("memory of `python main.py`, idle", split_megabytes(*idle_mb)),
    ]


def _pick_up(client: httpx.Client, source: Path) -> float:
    [task] = app.upload(client, [source])
    found = app.wait_task(client, task["id"], TIMEOUT_S)
    return app.moment(found["started_at"]) - app.moment(found["created_at"])
