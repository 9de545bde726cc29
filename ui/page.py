"""The page at /: drop PNGs, watch every task live, download the JPEGs."""

import asyncio
from pathlib import Path

from nicegui import app, background_tasks, context, ui

from models import store
from ui import downloads
from ui.dropzone import DropZone
from ui.feed import Change, TaskFeed
from ui.grid import PAGE_SIZE, TaskGrid
from ui.notices import FinishNotices
from ui.options_panel import OptionsPanel
from ui.preferences import Theme, load_preferences, remember
from ui.summary import SummaryBar
from ui.thumbs import remove_thumb

STATIC_DIR = Path(__file__).with_name("static")
STATIC_URL = "/static/imageconv"
NATIVE_WINDOW = {"width": 1280, "height": 860, "min_size": (420, 480)}
_DARK = {Theme.AUTO: None, Theme.LIGHT: False, Theme.DARK: True}
_NEXT_THEME = {Theme.AUTO: Theme.LIGHT, Theme.LIGHT: Theme.DARK, Theme.DARK: Theme.AUTO}
_THEME_ICONS = {
    Theme.AUTO: "brightness_auto",
    Theme.LIGHT: "light_mode",
    Theme.DARK: "dark_mode",
}


def add_pages() -> None:
    """Serve the page, its files and the live feed of task changes behind it."""
    feed = TaskFeed()
    app.on_startup(feed.start)
    app.on_shutdown(feed.stop)
    feed.subscribe(_forget_thumbnails)
    app.include_router(downloads.router)
    app.add_static_files(STATIC_URL, STATIC_DIR)
    # The native window opens at 800x600 unless told; the grid wants more.
    app.native.window_args.update(NATIVE_WINDOW)

    @ui.page("/", title="imageconv")
    async def index() -> None:
        await build_page(feed)


def _forget_thumbnails(change: Change) -> None:
    # Tasks deleted by any process: their thumbnails go with them.
    if change.removed:
        ids = list(change.removed)
        background_tasks.create(asyncio.to_thread(_remove_thumbs, ids), name="thumbs")


def _remove_thumbs(task_ids: list[str]) -> None:
    for task_id in task_ids:
        remove_thumb(task_id)


async def build_page(feed: TaskFeed) -> None:
    preferences = load_preferences()
    _add_head()
    _header(preferences.theme)
    with ui.column().classes("page w-full") as page:
        options = OptionsPanel(preferences.options)
        dropzone = DropZone(options.current, on_added=lambda n: _added(feed, n))
        summary = SummaryBar(feed)
        first = await asyncio.to_thread(store.list_tasks, None, PAGE_SIZE, 0)
        grid = TaskGrid(feed, first)
        notices = FinishNotices(feed, lambda: dropzone.busy)
    ui.timer(1.0, notices.tick)

    def take(change: Change) -> None:
        with page:
            summary.take(change)
            grid.take(change)
            notices.take(change)

    context.client.on_delete(feed.subscribe(take))


def _added(feed: TaskFeed, count: int) -> None:
    ui.notify(f"Added {count:,} file{'s' if count != 1 else ''} to the queue")
    feed.poke()


def _add_head() -> None:
    ui.add_head_html(
        f'<link rel="stylesheet" href="{STATIC_URL}/page.css">'
        f'<script defer src="{STATIC_URL}/page.js"></script>'
    )


def _header(theme: Theme) -> None:
    dark = ui.dark_mode(_DARK[theme])
    with ui.header().classes("app-header items-center"):
        ui.icon("transform", size="28px")
        with ui.column().classes("gap-0"):
            ui.label("imageconv").classes("text-h6 leading-none")
            ui.label("PNG to JPEG, three at a time").classes("text-caption")
        ui.space()
        button = ui.button(icon=_THEME_ICONS[theme]).props("flat round color=white")
        button.props["aria-label"] = "Switch between automatic, light and dark"
        button.tooltip("Light, dark or as the system says")
        button.on_click(lambda: _switch_theme(dark, button))


def _switch_theme(dark: ui.dark_mode, button: ui.button) -> None:
    current = next(theme for theme, value in _DARK.items() if value == dark.value)
    theme = _NEXT_THEME[current]
    dark.set_value(_DARK[theme])
    button.props(f"icon={_THEME_ICONS[theme]}")
    remember(theme=theme)
