"""The bar over the rows: select, then download, cancel, retry or delete many."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from nicegui import ui

from ui.dialogs import confirm

if TYPE_CHECKING:
    from ui.grid import TaskGrid

Handler = Callable[[], Awaitable[None] | None]


class Toolbar:
    def __init__(self, grid: "TaskGrid") -> None:
        self._grid = grid
        bar = ui.row().classes("toolbar items-center w-full gap-1").mark("toolbar")
        self._bar = bar
        with bar:
            self._all = ui.checkbox(on_change=lambda e: grid.select_page(e.value))
            self._all.props["aria-label"] = "Select every task on this page"
            self._all.mark("select-page")
            self._count = ui.label().classes("selected-count").mark("selected")
            self._buttons = [
                self._button(
                    "Download ZIP", "folder_zip", grid.download_selected
                ).props('aria-label="Download the selected JPEGs as a ZIP"'),
                self._button(
                    "Cancel", "close", lambda: grid.apply_to_selected("cancel")
                ),
                self._button(
                    "Retry", "replay", lambda: grid.apply_to_selected("retry")
                ),
                self._button("Delete", "delete", self._delete_selected),
                self._button("Clear selection", "deselect", grid.clear_selection),
            ]
            ui.space()
            clear = ui.button("Clear finished", icon="done_all")
            clear.on_click(self._clear_finished)
            clear.props("outline dense no-caps").mark("clear-finished")
        self.show()

    @staticmethod
    def _button(label: str, icon: str, handler: Handler) -> ui.button:
        button = ui.button(label, icon=icon, on_click=handler)
        marker = "bulk-" + label.lower().split()[-1]
        return button.props("flat dense no-caps").mark(marker)

    def set_visible(self, visible: bool) -> None:
        """Only a grid with rows has anything to select."""
        self._bar.set_visibility(visible)

    def show(self) -> None:
        count = len(self._grid.selected)
        self._count.set_text(f"{count:,} selected" if count else "Select tasks")
        for button in self._buttons:
            button.set_enabled(bool(count))

    async def _delete_selected(self) -> None:
        count = len(self._grid.selected)
        if await confirm(f"Delete {count:,} tasks and their files?", "Delete"):
            await self._grid.apply_to_selected("delete")

    async def _clear_finished(self) -> None:
        question = "Remove every complete task and its JPEG from this list?"
        if await confirm(question, "Clear finished"):
            await self._grid.clear_finished()
