"""One task in the grid: its picture, name, state, details and buttons."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from models import Task, TaskState
from ui import formats
from ui.downloads import thumb_url
from ui.looks import LOOKS

TaskHandler = Callable[[Task], Awaitable[None] | None]


@dataclass(frozen=True)
class RowHandlers:
    cancel: TaskHandler
    retry: TaskHandler
    delete: TaskHandler
    download: TaskHandler
    preview: TaskHandler
    details: TaskHandler
    select: Callable[[str, bool], None]


class RowButton(TextElement):
    """A plain button: a page of rows holds a hundred, and Quasar's cost adds up."""

    def __init__(self, label: str, icon: str, description: str) -> None:
        super().__init__(tag="button", text=label)
        self.classes("row-button").props.update(type="button", title=description)
        self.props["data-icon"] = icon
        self.props["aria-label"] = description


class TaskRow(ui.element):
    def __init__(
        self,
        task: Task,
        handlers: RowHandlers,
        *,
        place: int | None,
        selected: bool,
        delay: float,
    ) -> None:
        super().__init__("div")
        self.task = task
        self.place = place
        self._place_label: ui.label | None = None
        self._handlers = handlers
        self._delay = delay
        self.classes("task-row").mark(f"task-{task.id}")
        self.props["data-task"] = task.id
        with self:
            self.checkbox = self._checkbox(selected)
            self._thumb()
            name = ui.label(task.filename).classes("task-name")
            name.props["title"] = task.filename
            # Laid out by the row's grid as if its children were the row's own.
            self._state = ui.element("div").classes("task-state")
        self._render()

    def _checkbox(self, selected: bool) -> ui.checkbox:
        box = ui.checkbox(
            value=selected,
            on_change=lambda e: self._handlers.select(self.task.id, bool(e.value)),
        )
        box.props["aria-label"] = f"Select {self.task.filename}"
        return box.mark("select")

    def _thumb(self) -> None:
        button = ui.element("button").classes("thumb").mark("thumb")
        button.props.update(type="button", title=f"Preview {self.task.filename}")
        button.props["aria-label"] = f"Preview {self.task.filename}"
        button.on("click", lambda: self._handlers.preview(self.task))
        with button:
            ui.element("img").props(
                f'src="{thumb_url(self.task.id)}" alt="" loading=lazy '
                "onerror=\"this.style.visibility='hidden'\""
            )

    def show(self, task: Task, place: int | None) -> None:
        """Bring the row up to date; a no-op when nothing it shows has changed."""
        if task.revision == self.task.revision:
            self._move_in_line(place)
            return
        self.task, self.place = task, place
        self._render()

    def _move_in_line(self, place: int | None) -> None:
        # Every task that leaves the line moves all the others up: change
        # just the words, not the whole row.
        if place == self.place:
            return
        self.place = place
        if self._place_label is not None:
            self._place_label.set_text(_place(place))

    def set_selected(self, selected: bool) -> None:
        self.checkbox.set_value(selected)

    def _render(self) -> None:
        task = self.task
        self._place_label = None
        self.props(f"data-state={task.state.value}")
        self._state.clear()
        with self._state:
            _state_chip(task)
            with ui.element("div").classes("task-details"):
                _DETAILS[task.state](self, task)
            with ui.element("div").classes("task-actions"):
                self._buttons(task)

    def _buttons(self, task: Task) -> None:
        state, on = task.state, self._handlers
        if state in (TaskState.QUEUED, TaskState.RUNNING):
            cancel = _button("Cancel", "close", on.cancel, task)
            if task.cancel_requested:
                cancel.props["disabled"] = True
        if state == TaskState.COMPLETE:
            _button("Download", "download", on.download, task).classes("primary")
        if state in (TaskState.ERROR, TaskState.CANCELLED):
            _button("Retry", "replay", on.retry, task)
        _button("Delete", "delete", on.delete, task)

    def _queued(self, task: Task) -> None:
        label = ui.label(_place(self.place)).classes("task-place").mark("place")
        self._place_label = label

    def _running(self, task: Task) -> None:
        if task.cancel_requested:
            ui.label("Stopping…").classes("task-note")
            return
        elapsed = formats.elapsed_since(task.started_at)
        waiting = elapsed < self._delay
        run = ui.element("div").classes("run" + (" waiting" if waiting else ""))
        run.props(f"data-elapsed={elapsed:.2f} data-delay={self._delay:g}")
        with run:
            with ui.element("div").classes("run-track"):
                share = 100 * elapsed / self._delay if waiting else 100
                ui.element("div").classes("run-bar").style(f"width: {share:.0f}%")
            phase = "Waiting" if waiting else "Converting"
            ui.label(f"{phase} · {formats.seconds(elapsed)}").classes("run-label")

    def _complete(self, task: Task) -> None:
        dimensions = f"{task.width}x{task.height} px"
        sizes = f"{formats.size(task.source_bytes)} → {formats.size(task.result_bytes)}"
        change = formats.saving(task.source_bytes, task.result_bytes)
        ui.label(f"{dimensions} · {sizes} ({change})").classes("task-note")

    def _error(self, task: Task) -> None:
        ui.label(task.error or "failed").classes("task-error").mark("error")
        details = RowButton("Details", "info", f"Details of {task.filename}")
        details.on("click", lambda: self._handlers.details(self.task))
        details.classes("details-button").mark("details")

    def _cancelled(self, task: Task) -> None:
        ui.label("Cancelled before it finished").classes("task-note")


_DETAILS: dict[TaskState, Callable[[TaskRow, Task], None]] = {
    TaskState.QUEUED: TaskRow._queued,
    TaskState.RUNNING: TaskRow._running,
    TaskState.COMPLETE: TaskRow._complete,
    TaskState.ERROR: TaskRow._error,
    TaskState.CANCELLED: TaskRow._cancelled,
}


def _state_chip(task: Task) -> None:
    look = LOOKS[task.state]
    chip = ui.label(look.label).classes(f"state-chip bg-{look.color}")
    chip.props["data-icon"] = look.icon
    chip.mark("state")


def _button(label: str, icon: str, handler: TaskHandler, task: Task) -> RowButton:
    button = RowButton(label, icon, f"{label} {task.filename}")
    button.on("click", lambda: handler(task))
    return button.mark(label.lower())


def _place(place: int | None) -> str:
    if place is None:
        return "waiting for a slot"
    return "next in line" if place == 1 else f"{formats.ordinal(place)} in line"
