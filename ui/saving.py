"""Hand a file to the person: a browser download, or a save dialog in the window.

A browser saves downloads itself. The native window's web view does not say
where a download went, so there the app asks where to save, copies the file
itself and tells the person where it is.
"""

import asyncio
import logging
import shutil
from pathlib import Path, PurePath

from nicegui import app, ui

logger = logging.getLogger("imageconv." + __name__)


def downloads_dir() -> Path:
    return Path.home() / "Downloads"


def in_native_window() -> bool:
    return app.native.main_window is not None


async def deliver(url: str, local: Path, filename: str) -> None:
    """Offer the file at `url` (the same as `local`) under `filename`."""
    if not in_native_window():
        ui.download.from_url(url, filename)
        return
    target = await _ask_where(filename)
    if target is None:
        ui.notify(f"{filename} was not saved")
        return
    try:
        await asyncio.to_thread(shutil.copyfile, local, target)
    except OSError as exc:
        ui.notify(f"Could not save {filename} to {target}: {exc}", type="negative")
        return
    logger.info("saved %s to %s", filename, target)
    ui.notify(f"Saved to {target}", type="positive", multi_line=True)


async def _ask_where(filename: str) -> Path | None:
    """The path the person picks, or a free name in Downloads if no dialog opens."""
    window = app.native.main_window
    assert window is not None
    folder = downloads_dir()
    try:
        chosen = await window.create_file_dialog(
            _save_dialog(), directory=str(folder), save_filename=filename
        )
    except Exception:  # the dialog runs in the window's process; any failure there
        logger.exception("the save dialog failed; saving to %s", folder)
        return free_path(folder, filename)
    if not chosen:
        return None
    return Path(chosen if isinstance(chosen, str) else chosen[0])


def _save_dialog() -> int:
    import webview  # the native extra; only imported in the native window

    kind = getattr(webview, "FileDialog", None)
    return int(kind.SAVE if kind is not None else webview.SAVE_DIALOG)


def free_path(folder: Path, filename: str) -> Path:
    """`folder/filename`, or `name (2).ext` and on if that is taken."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = PurePath(filename).stem, PurePath(filename).suffix
    candidate, number = folder / filename, 1
    while candidate.exists():
        number += 1
        candidate = folder / f"{stem} ({number}){suffix}"
    return candidate
