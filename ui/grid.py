"""Every task, newest first, one page of rows at a time, kept live by the feed.

Only the rows of the page shown exist in the browser; a change to a task on
that page updates its row in place, and a task added or deleted anywhere
makes the page read its rows again (one short, indexed query).
"""

import asyncio
import logging

from nicegui import background_tasks, ui

from models import Task, TaskState, store
from models.files import result_path
from settings import get_settings
from ui import actions
from ui.archive import archive_path, write_archive
from ui.dialogs import show_error
from ui.downloads import archive_url
from ui.feed import Change, TaskFeed
from ui.intake import jpeg_name
from ui.preview import open_preview
from ui.row import RowHandlers, TaskRow
from ui.saving import deliver
from ui.toolbar import Toolbar

logger = logging.getLogger("imageconv." + __name__)

PAGE_SIZE = 25
_BULK = {
    "cancel": (actions.cancel, "Cancelled"),
    "retry": (actions.retry, "Retried"),
    "delete": (actions.delete, "Deleted"),
}


class TaskGrid:
    def __init__(self, feed: TaskFeed, first_page: store.TaskPage) -> None:
        self._feed = feed
        self._delay = get_settings().task_delay
        self._page = 1
        self._total = first_page.total
        self._reloading = False
        self._reload_again = False
        self.rows: dict[str, TaskRow] = {}
        self.selected: set[str] = set()
        self._handlers = RowHandlers(
            cancel=self._cancel,
            retry=self._retry,
            delete=self._delete,
            download=self._download,
            preview=open_preview,
            details=show_error,
            select=self._select,
        )
        self.toolbar = Toolbar(self)
        self._empty = _empty_state()
        self._list = ui.element("div").classes("task-list w-full").mark("grid")
        with ui.row().classes("pager items-center w-full justify-center"):
            self._pager = ui.pagination(
                1, 1, direction_links=True, on_change=self._turn
            ).props("max-pages=7 boundary-links")
            self._range = ui.label().classes("text-caption").mark("range")
        self._show_page(first_page)

    # The page of rows

    def take(self, change: Change) -> None:
        """Show a change the feed saw: in place, or by reading the page again."""
        self.selected -= change.removed
        if change.added or change.removed:
            self.reload()
        for task in change.tasks:
            if task.id in self.rows:
                self.rows[task.id].show(task, self._feed.place(task.id))
        if change.line_moved:
            self._update_places()
        self.toolbar.show()

    def _update_places(self) -> None:
        for row in self.rows.values():
            if row.task.state == TaskState.QUEUED:
                row.show(row.task, self._feed.place(row.task.id))

    def reload(self) -> None:
        if self._reloading:
            self._reload_again = True
            return
        self._reloading = True
        background_tasks.create(self._reload(), name="reload task page")

    async def _reload(self) -> None:
        try:
            self._reload_again = True
            while self._reload_again:
                self._reload_again = False
                offset = (self._page - 1) * PAGE_SIZE
                page = await asyncio.to_thread(
                    store.list_tasks, None, PAGE_SIZE, offset
                )
                if self._list.is_deleted:
                    return  # the tab closed meanwhile
                self._show_page(page)
        finally:
            self._reloading = False

    def _show_page(self, page: store.TaskPage) -> None:
        self._total = page.total
        last = max(1, -(-page.total // PAGE_SIZE))
        if self._page > last:
            self._page = last
            self.reload()
        for task_id in set(self.rows) - {task.id for task in page.tasks}:
            self.rows.pop(task_id).delete()
        for index, task in enumerate(page.tasks):
            self._place_row(task, index)
        self._show_position(last)

    def _place_row(self, task: Task, index: int) -> None:
        row = self.rows.get(task.id)
        place = self._feed.place(task.id)
        if row is None:
            with self._list:
                row = TaskRow(
                    task,
                    self._handlers,
                    place=place,
                    selected=task.id in self.selected,
                    delay=self._delay,
                )
            self.rows[task.id] = row
        else:
            row.show(task, place)
        if self._list.default_slot.children.index(row) != index:
            row.move(target_index=index)

    def _show_position(self, last: int) -> None:
        self._pager.max = last
        self._pager.set_value(self._page)
        self._pager.set_visibility(last > 1)
        first = (self._page - 1) * PAGE_SIZE + 1
        shown = len(self.rows)
        self._range.set_text(
            f"{first:,} to {first + shown - 1:,} of {self._total:,}" if shown else ""
        )
        self._empty.set_visibility(self._total == 0)
        self.toolbar.set_visible(self._total > 0)

    def _turn(self) -> None:
        value = int(self._pager.value or 1)
        if value != self._page:
            self._page = value
            self.reload()

    # Selection

    def _select(self, task_id: str, selected: bool) -> None:
        if selected:
            self.selected.add(task_id)
        else:
            self.selected.discard(task_id)
        self.toolbar.show()

    def select_page(self, selected: bool) -> None:
        for task_id, row in self.rows.items():
            row.set_selected(selected)
            self._select(task_id, selected)

    def clear_selection(self) -> None:
        self.selected.clear()
        for row in self.rows.values():
            row.set_selected(False)
        self.toolbar.show()

    # What the row buttons do

    async def _cancel(self, task: Task) -> None:
        if not await asyncio.to_thread(actions.cancel, task.id):
            ui.notify(f"{task.filename} had already finished")
        self._feed.poke()

    async def _retry(self, task: Task) -> None:
        if not await asyncio.to_thread(actions.retry, task.id):
            ui.notify(f"{task.filename} is already back in line")
        self._feed.poke()

    async def _delete(self, task: Task) -> None:
        await asyncio.to_thread(actions.delete, task.id)
        self._feed.poke()

    async def _download(self, task: Task) -> None:
        url = f"/api/tasks/{task.id}/result"
        await deliver(url, result_path(task.id), jpeg_name(task.filename))

    # What the toolbar buttons do to the selected tasks

    async def apply_to_selected(self, action: str) -> None:
        act, verb = _BULK[action]
        outcome = await asyncio.to_thread(actions.apply, act, list(self.selected))
        ui.notify(outcome.describe(verb))
        if action == "delete":
            self.clear_selection()
        self._feed.poke()

    async def download_selected(self) -> None:
        tasks = await asyncio.to_thread(_tasks_by_id, sorted(self.selected))
        if not any(task.state == TaskState.COMPLETE for task in tasks):
            ui.notify("None of the selected tasks is complete yet", type="warning")
            return
        token, count = await asyncio.to_thread(write_archive, tasks)
        name = f"imageconv-{count}-jpegs.zip"
        await deliver(archive_url(token), archive_path(token), name)

    async def clear_finished(self) -> None:
        outcome = await asyncio.to_thread(actions.clear_finished)
        ui.notify(outcome.describe("Cleared"))
        self._feed.poke()


def _tasks_by_id(task_ids: list[str]) -> list[Task]:
    found = (store.get_task(task_id) for task_id in task_ids)
    return [task for task in found if task is not None]


def _empty_state() -> ui.column:
    with ui.column().classes("empty-state w-full items-center").mark("empty") as box:
        ui.icon("photo_library", size="64px").classes("text-grey-5")
        ui.label("No tasks yet").classes("text-h6")
        ui.label(
            "Drop PNG files here: each becomes a task, and its JPEG shows up here."
        )
    return box
