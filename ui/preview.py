"""The PNG beside its JPEG, or one over the other with a slider between."""

from nicegui import ui

from models import Task, TaskState
from ui import formats


def _source_url(task: Task) -> str:
    return f"/api/tasks/{task.id}/source"


def _result_url(task: Task) -> str:
    return f"/api/tasks/{task.id}/result"


def open_preview(task: Task) -> None:
    with ui.dialog() as dialog, ui.card().classes("preview").mark("preview"):
        _header(task, dialog)
        if task.state == TaskState.COMPLETE:
            _compare(task)
        else:
            _source_only(task)
    dialog.on("hide", dialog.delete)
    dialog.open()


def _header(task: Task, dialog: ui.dialog) -> None:
    with ui.row().classes("w-full items-center no-wrap"):
        ui.label(task.filename).classes("text-h6 ellipsis col")
        ui.button(icon="close", on_click=dialog.close).props(
            'flat round dense aria-label="Close preview"'
        )


def _caption(kind: str, size: int | None, task: Task) -> str:
    dimensions = f" · {task.width}x{task.height}" if task.width else ""
    return f"{kind} · {formats.size(size)}{dimensions}"


def _figure(url: str, caption: str) -> None:
    with ui.element("figure").classes("preview-figure"):
        ui.element("img").props(f'src="{url}" alt="{caption}"')
        ui.label(caption).classes("text-caption").mark("caption")


def _source_only(task: Task) -> None:
    _figure(_source_url(task), _caption("PNG", task.source_bytes, task))
    look = task.state.value
    ui.label(f"The JPEG is not ready: this task is {look}.").classes("text-caption")


def _compare(task: Task) -> None:
    png = _caption("PNG", task.source_bytes, task)
    jpeg = _caption(f"JPEG (quality {task.quality})", task.result_bytes, task)
    with ui.tabs().classes("w-full") as tabs:
        side = ui.tab("Side by side")
        over = ui.tab("Slider")
    with ui.tab_panels(tabs, value=side).classes("w-full"):
        with ui.tab_panel(side), ui.element("div").classes("preview-pair"):
            _figure(_source_url(task), png)
            _figure(_result_url(task), jpeg)
        with ui.tab_panel(over):
            _overlay(task, png, jpeg)


def _overlay(task: Task, png: str, jpeg: str) -> None:
    with ui.element("div").classes("preview-overlay"):
        ui.element("img").props(f'src="{_source_url(task)}" alt="{png}"')
        top = ui.element("img").props(f'src="{_result_url(task)}" alt="{jpeg}"')
        top.classes("preview-top").style("clip-path: inset(0 0 0 50%)")
    slider = ui.slider(min=0, max=100, value=50).props('aria-label="Split"')
    slider.on_value_change(lambda e: top.style(f"clip-path: inset(0 0 0 {e.value}%)"))
    with ui.row().classes("w-full justify-between text-caption"):
        ui.label(f"Left: {png}")
        ui.label(f"Right: {jpeg}")
