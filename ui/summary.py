"""The bar over the grid: tasks per state, busy slots, and this visit's progress."""

import asyncio

from nicegui import ui

from models import FINISHED_STATES, Task, TaskState, store
from models.files import database_bytes
from models.task import utcnow
from settings import get_settings
from ui.feed import Change, TaskFeed
from ui.formats import size
from ui.looks import LOOKS

# The figure is a sum over every task: refreshed now and then, not per change.
DISK_REFRESH_S = 5.0


def _disk_used() -> int:
    return store.stored_bytes() + database_bytes()


def _on_disk(used: int) -> str:
    return f"{size(used)} on disk"


class SessionProgress:
    """Tasks submitted (by anyone) since the page opened, and how many finished."""

    def __init__(self) -> None:
        self.opened_at = utcnow()
        self.finished: dict[str, bool] = {}

    def take(self, change: Change) -> None:
        for task in change.tasks:
            if self._counts(task, change):
                self.finished[task.id] = task.state in FINISHED_STATES
        for task_id in change.removed:
            self.finished.pop(task_id, None)

    def _counts(self, task: Task, change: Change) -> bool:
        # The feed may learn of a task made just before the page opened only
        # after it did; the task's own time tells.
        if task.id in self.finished:
            return True
        return task.id in change.added and task.created_at >= self.opened_at

    @property
    def total(self) -> int:
        return len(self.finished)

    @property
    def done(self) -> int:
        return sum(self.finished.values())


class SummaryBar:
    def __init__(self, feed: TaskFeed) -> None:
        self._feed = feed
        self._session = SessionProgress()
        self._max_running = get_settings().max_running
        with ui.row().classes("summary-bar items-center w-full gap-2").mark("summary"):
            self._chips = {state: self._chip(state) for state in TaskState}
            self._slots = ui.label().classes("slots").mark("slots")
            self._disk = ui.label().classes("disk text-caption").mark("disk")
            with ui.column().classes("session gap-0").mark("session") as self._box:
                self._progress_text = ui.label().classes("text-caption")
                self._bar = ui.linear_progress(show_value=False).props(
                    "rounded animation-speed=300"
                )
        self.show()
        self._disk.set_text(_on_disk(_disk_used()))
        ui.timer(DISK_REFRESH_S, self._show_disk, immediate=False)

    async def _show_disk(self) -> None:
        self._disk.set_text(_on_disk(await asyncio.to_thread(_disk_used)))

    @staticmethod
    def _chip(state: TaskState) -> ui.chip:
        look = LOOKS[state]
        chip = ui.chip(icon=look.icon, color=look.color, text_color="white")
        return chip.props("dense square").mark(f"count-{state.value}")

    def take(self, change: Change) -> None:
        self._session.take(change)
        self.show()

    def show(self) -> None:
        counts = self._feed.counts
        for state, chip in self._chips.items():
            chip.set_text(f"{LOOKS[state].label} {counts[state]:,}")
        busy = counts[TaskState.RUNNING]
        self._slots.set_text(f"{busy} of {self._max_running} slots busy")
        session = self._session
        self._box.set_visibility(session.total > 0)
        self._progress_text.set_text(
            f"Since this page opened: {session.done:,} of {session.total:,} finished"
        )
        self._bar.set_value(session.done / session.total if session.total else 0)
