"""Small dialogs: a failure's full detail, and asking before deleting much."""

from nicegui import ui

from models import Task


def show_error(task: Task) -> None:
    """Open the technical detail of a failed task, ready to copy."""
    detail = task.error_detail or task.error or "no detail was recorded"
    with ui.dialog() as dialog, ui.card().classes("error-dialog").mark("error-dialog"):
        ui.label(task.filename).classes("text-subtitle1 text-weight-medium")
        ui.label(task.error or "failed").classes("task-error")
        ui.code(detail, language="text").classes("w-full error-detail")
        with ui.row().classes("w-full justify-end"):
            ui.button("Copy", icon="content_copy", on_click=lambda: _copy(detail))
            ui.button("Close", on_click=dialog.close).props("flat")
    dialog.on("hide", dialog.delete)
    dialog.open()


def _copy(text: str) -> None:
    ui.clipboard.write(text)
    ui.notify("Detail copied")


async def confirm(question: str, action: str) -> bool:
    """Ask before something that cannot be undone; True if the person agrees."""
    with ui.dialog() as dialog, ui.card().mark("confirm"):
        ui.label(question)
        with ui.row().classes("w-full justify-end"):
            ui.button("Keep", on_click=lambda: dialog.submit(False)).props("flat")
            agree = ui.button(action, on_click=lambda: dialog.submit(True))
            agree.props("color=negative").mark("agree")
    answer = await dialog
    dialog.delete()
    return bool(answer)
