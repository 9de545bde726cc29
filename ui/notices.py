"""Tell the person when tasks finish: one short notice per batch, not per task."""

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

from nicegui import ui

from models import Task, TaskState
from ui import formats
from ui.feed import Change, TaskFeed

# While a long batch runs, a notice at most this often says how far it got.
MAX_WAIT_S = 30.0

Kind = Literal["positive", "negative", "warning", "info"]
_WORDS = {TaskState.COMPLETE: "converted", TaskState.ERROR: "failed"}


def describe(finished: Sequence[Task]) -> tuple[str, Kind]:
    """One sentence for everything in `finished`, and how it should look."""
    if len(finished) == 1:
        return _describe_one(finished[0])
    states = Counter(task.state for task in finished)
    parts = [
        f"{states[state]:,} {word}" for state, word in _WORDS.items() if states[state]
    ]
    kind: Kind = "warning" if states[TaskState.ERROR] else "positive"
    return f"{len(finished):,} tasks finished: {', '.join(parts)}", kind


def _describe_one(task: Task) -> tuple[str, Kind]:
    if task.state == TaskState.COMPLETE:
        return f"{task.filename} converted ({formats.size(task.result_bytes)})", (
            "positive"
        )
    return f"{task.filename} failed: {task.error}", "negative"


class FinishNotices:
    def __init__(self, feed: TaskFeed, receiving: Callable[[], bool]) -> None:
        self._feed = feed
        self._receiving = receiving
        self._finished: list[Task] = []
        self._since = 0.0

    def take(self, change: Change) -> None:
        # A cancelled task ended because the person asked; no news to them.
        finished = [t for t in change.finished if t.state != TaskState.CANCELLED]
        if finished and not self._finished:
            self._since = time.monotonic()
        self._finished.extend(finished)
        self.tick()

    def tick(self) -> None:
        """Speak once nothing is left in line, or when the batch has run long."""
        if not self._finished:
            return
        counts = self._feed.counts
        idle = not counts[TaskState.QUEUED] and not counts[TaskState.RUNNING]
        # The first files of a drop may finish before the last are sent.
        idle = idle and not self._receiving()
        if idle or time.monotonic() - self._since > MAX_WAIT_S:
            message, kind = describe(self._finished)
            self._finished = []
            ui.notify(message, type=kind)
