"""The real `python main.py`, driven over its JSON API as a script would."""

import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.processes import App, children, wait_until

Task = dict[str, Any]
FINISHED = ("complete", "error", "cancelled")
# Files per request: the uploader sends about this many bytes at a time.
REQUEST_BYTES = 2 * 1024 * 1024
PAGE = 1000


def upload(client: httpx.Client, paths: list[Path]) -> list[Task]:
    """POST the files to /api/tasks in requests of about REQUEST_BYTES."""
    created: list[Task] = []
    for group in _groups(paths):
        files = [("files", (p.name, p.read_bytes(), "image/png")) for p in group]
        response = client.post("/api/tasks", files=files)
        response.raise_for_status()
        created += response.json()
    return created


def _groups(paths: list[Path]) -> Iterator[list[Path]]:
    group: list[Path] = []
    size = 0
    for path in paths:
        group.append(path)
        size += path.stat().st_size
        if size >= REQUEST_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def wait_for_workers(program: App) -> None:
    """Wait until the app's worker process has started, as its log says."""
    wait_until(lambda: "worker process" in program.output(), timeout=30)


def counts(client: httpx.Client) -> dict[str, int]:
    found: dict[str, int] = client.get("/api/health").json()["tasks"]
    return found


def wait_finished(client: httpx.Client, total: int, timeout: float) -> None:
    """Wait for `total` finished tasks, asking seldom so as not to load the app.

    The figures come from the tasks' own finish times, not from this wait.
    """

    def finished() -> bool:
        return sum(counts(client).get(state, 0) for state in FINISHED) >= total

    wait_until(finished, timeout=timeout, interval=0.5)


def wait_task(client: httpx.Client, task_id: str, timeout: float) -> Task:
    """The task once it has finished."""

    def finished() -> Task | None:
        task: Task = client.get(f"/api/tasks/{task_id}").json()
        return task if task["state"] in FINISHED else None

    return wait_until(finished, timeout=timeout, interval=0.05)


def all_tasks(client: httpx.Client) -> list[Task]:
    tasks: list[Task] = []
    while True:
        params = {"limit": PAGE, "offset": len(tasks)}
        page = client.get("/api/tasks", params=params).json()
        tasks += page["tasks"]
        if len(tasks) >= page["total"] or not page["tasks"]:
            return tasks


def moment(stamp: str) -> float:
    """A server timestamp as seconds since the epoch, like time.time()."""
    return datetime.fromisoformat(stamp).timestamp()


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid` now, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def processor_seconds(pid: int) -> tuple[float, float]:
    """Processor seconds used so far by the app, and by its worker processes."""
    workers = sum(_processor_seconds(child) for child in children(pid))
    return _processor_seconds(pid), workers


def _processor_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime, the 14th and 15th fields of the line.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> tuple[float, float]:
    """MB resident in the app's own process, and in its worker processes."""
    return rss_mb(pid), sum(rss_mb(child) for child in children(pid))


def settle(seconds: float) -> None:
    """Let a just-started app finish its start-up work before measuring it."""
    time.sleep(seconds)
