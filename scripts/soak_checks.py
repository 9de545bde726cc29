"""What must hold once a soak is over, and the figures it reports."""

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from PIL import Image

TASK_FILE = re.compile(r"^(?P<id>[0-9a-f]{32})\.(?P<suffix>png|jpg)$")
BAD_LOG_LINE = re.compile(r"\bERROR\b|Traceback|CRITICAL")


class Op(StrEnum):
    CANCEL = "cancel"
    RETRY = "retry"


@dataclass(frozen=True)
class Planned:
    name: str
    content: bytes
    # The size a valid PNG converts at; None for a damaged file.
    size: tuple[int, int] | None


@dataclass
class Tracked:
    planned: Planned
    task_id: str
    # Every cancel or retry the app accepted (True) or may have (False).
    ops: list[tuple[Op, bool]] = field(default_factory=list)


def expected_states(tracked: Tracked) -> set[str]:
    """The states the task may end in, given what was asked of it."""
    ending = "complete" if tracked.planned.size else "error"
    # A damaged file being converted when the cancel comes may fail first.
    cancelled = {"cancelled"} if tracked.planned.size else {"cancelled", "error"}
    possible = {ending}
    for op, certain in tracked.ops:
        after = {ending} if op is Op.RETRY else cancelled
        possible = after if certain else possible | after
    return possible


def check(
    tracked: dict[str, Tracked],
    tasks: list[dict[str, Any]],
    data: Path,
    logs: list[Path],
) -> list[str]:
    """Every way the end state is wrong, one line each; empty when all is well."""
    return [
        *_check_table(tracked, tasks),
        *_check_states(tracked, tasks),
        *_check_results(tracked, tasks, data / "results"),
        *_check_folders(tasks, data),
        *_check_logs(logs),
    ]


def _check_table(tracked: dict[str, Tracked], tasks: list[dict[str, Any]]) -> list[str]:
    problems = []
    ids = [task["id"] for task in tasks]
    names = [task["filename"] for task in tasks]
    if len(set(names)) != len(names):
        problems.append("a file was stored twice")
    if set(ids) != set(tracked):
        unknown, missing = set(ids) - set(tracked), set(tracked) - set(ids)
        problems.append(f"{len(unknown)} tasks nobody uploaded, {len(missing)} lost")
    unfinished = [
        task["id"] for task in tasks if task["state"] in ("queued", "running")
    ]
    if unfinished:
        problems.append(f"{len(unfinished)} tasks never finished: {unfinished[:5]}")
    return problems


def _check_states(
    tracked: dict[str, Tracked], tasks: list[dict[str, Any]]
) -> list[str]:
    problems = []
    for task in tasks:
        if task["id"] not in tracked:
            continue
        allowed = expected_states(tracked[task["id"]])
        if task["state"] not in allowed:
            ops = tracked[task["id"]].ops
            problems.append(
                f"task {task['id']} ({task['filename']}) is {task['state']}, "
                f"expected {' or '.join(sorted(allowed))} after {ops}: {task['error']}"
            )
    return problems


def _check_results(
    tracked: dict[str, Tracked], tasks: list[dict[str, Any]], folder: Path
) -> list[str]:
    problems = []
    for task in tasks:
        if task["state"] == "complete" and task["id"] in tracked:
            size = tracked[task["id"]].planned.size
            problems.extend(_check_jpeg(folder / f"{task['id']}.jpg", task, size))
    return problems


def _check_jpeg(
    path: Path, task: dict[str, Any], size: tuple[int, int] | None
) -> list[str]:
    try:
        with Image.open(path, formats=["JPEG"]) as image:
            image.load()
            decoded = image.size
    except (OSError, SyntaxError, ValueError) as exc:
        return [f"task {task['id']} is complete but its JPEG is unreadable: {exc}"]
    reported = (task["width"], task["height"])
    if decoded != size or reported != size:
        return [f"task {task['id']}: JPEG {decoded}, reported {reported}, PNG {size}"]
    return []


def _check_folders(tasks: list[dict[str, Any]], data: Path) -> list[str]:
    """Sources for every task, JPEGs for complete ones, and nothing else."""
    wanted = {f"{task['id']}.png" for task in tasks}
    wanted_results = {
        f"{task['id']}.jpg" for task in tasks if task["state"] == "complete"
    }
    problems = []
    for folder, names in (("uploads", wanted), ("results", wanted_results)):
        found = {path.name for path in (data / folder).iterdir()}
        if extra := sorted(found - names):
            problems.append(f"left over in {folder}/: {_few(extra)}")
        if missing := sorted(names - found):
            problems.append(f"missing from {folder}/: {_few(missing)}")
    return problems


def _few(names: list[str]) -> str:
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(names[:5]) + more


def _check_logs(logs: list[Path]) -> list[str]:
    problems = []
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if BAD_LOG_LINE.search(line):
                problems.append(f"{log.name}: {line}")
    return problems


def figures(
    tracked: dict[str, Tracked],
    tasks: list[dict[str, Any]],
    logs: list[Path],
    seconds: float,
) -> dict[str, str]:
    valid = sum(1 for item in tracked.values() if item.planned.size)
    counts = {state: sum(t["state"] == state for t in tasks) for state in _ENDINGS}
    conversions = sum(task["attempts"] for task in tasks)
    requeued = sum(
        log.read_text(errors="replace").count("back in line") for log in logs
    )
    damaged = len(tracked) - valid
    return {
        "tasks uploaded": f"{len(tasks)} ({valid} valid, {damaged} damaged)",
        "final states": ", ".join(f"{n} {state}" for state, n in counts.items()),
        "counts add up": str(sum(counts.values()) == len(tasks) == len(tracked)),
        "attempts, summed": str(conversions),
        "requeued after a kill": str(requeued),
        "duration": f"{seconds:.1f}s",
        "throughput": f"{len(tasks) / seconds:.1f} tasks/s",
    }


_ENDINGS = ("complete", "error", "cancelled")
