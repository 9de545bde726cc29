"""The drop zone: many PNGs at once, each refusal named, each file a task.

Every accepted file goes through `intake.submit`, the path the JSON API's
uploads take too. The browser refuses what it can see is wrong (the type,
the size) before sending; the server checks both again.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from nicegui import events, ui
from nicegui.elements.upload_files import FileUpload
from sqlalchemy.exc import OperationalError

from models.files import describe_storage_error, remove, temp_upload_path
from models.options import TaskOptions
from settings import get_settings
from ui import formats, intake
from ui.uploads import ReceivedFile

logger = logging.getLogger("imageconv." + __name__)

ACCEPT = ".png"
MAX_REFUSALS_SHOWN = 20

# Quasar hands rejected files over as File objects, which do not serialise.
_REJECTED_JS = """(entries) => emit(entries.map((entry) => ({
    name: entry.file.name, size: entry.file.size, reason: entry.failedPropValidation,
})))"""

_EMPTY_SLOT = """
<div v-if="props.files.length === 0" class="drop-hint">
  <q-icon name="upload_file" size="48px" />
  <div class="drop-title">Drop PNG files here</div>
  <div class="drop-sub">or
    <q-btn flat dense no-caps color="primary" label="choose files"
           aria-label="Choose PNG files" @click.stop="props.pickFiles()" />
    · PNG only · up to LIMIT each
  </div>
</div>
<div v-else class="drop-progress">
  <div>{{ props.files.length }} file(s) · {{ props.uploadSizeLabel }}
       · {{ props.uploadProgressLabel }}</div>
  <q-linear-progress :value="props.uploadProgress" rounded size="8px" />
</div>
"""


@dataclass(frozen=True)
class Refusal:
    name: str
    reason: str


def refusal_reason(name: str, size: int, limit: int) -> str | None:
    """Why a file cannot go in, or None when it may."""
    if PurePath(name).suffix.lower() != ACCEPT:
        return "not a PNG file: only .png files are accepted"
    if size > limit:
        return f"too large: {formats.size(size)}, the limit is {formats.size(limit)}"
    return None


class DropZone:
    def __init__(
        self, options: Callable[[], TaskOptions], on_added: Callable[[int], None]
    ) -> None:
        self._options = options
        self._on_added = on_added
        self._limit = get_settings().max_upload_bytes
        self._added = 0
        self._receiving = 0
        self._sending = False
        self._sent = False
        self.upload = self._uploader()
        with ui.card().classes("refusals w-full").mark("refusals") as self._box:
            with ui.row().classes("items-center w-full"):
                ui.label("Not added").classes("text-subtitle2 col")
                ui.button("Dismiss", on_click=self._dismiss).props("flat dense no-caps")
            self._lines = ui.column().classes("gap-1")
        self._box.set_visibility(False)

    def _uploader(self) -> ui.upload:
        upload = ui.upload(
            multiple=True,
            auto_upload=True,
            max_file_size=self._limit,
            on_upload=self._receive,
            label="Upload PNG files",
        )
        upload.props(f"accept={ACCEPT} flat bordered").classes("drop-zone w-full")
        upload.add_slot("list", _EMPTY_SLOT.replace("LIMIT", formats.size(self._limit)))
        upload.on("rejected", self._rejected, js_handler=_REJECTED_JS)
        upload.on("start", self._started)
        upload.on("finish", self._finished)
        return upload.mark("dropzone")

    @property
    def busy(self) -> bool:
        """True while a drop is still on its way in."""
        return self._sending or self._receiving > 0

    async def _receive(self, event: events.UploadEventArguments) -> None:
        self._receiving += 1
        try:
            refusal = await self._store(event.file)
        finally:
            self._receiving -= 1
        if refusal is None:
            self._added += 1
        else:
            self.refuse([refusal])
        self._announce()

    async def _store(self, file: FileUpload) -> Refusal | None:
        """Make the file a task, the way the API does; why not, if it cannot."""
        reason = refusal_reason(file.name, file.size(), self._limit)
        if reason is not None:
            return Refusal(file.name, reason)
        temp = temp_upload_path()
        try:
            await file.save(temp)
            received = ReceivedFile(file.name, temp, file.size())
            await asyncio.to_thread(intake.submit, received, self._options())
        except OSError as exc:
            remove(temp)
            logger.warning("upload of %s not stored: %s", file.name, exc)
            return Refusal(file.name, f"not stored: {describe_storage_error(exc)}")
        except OperationalError as exc:
            remove(temp)
            logger.warning("upload of %s not stored: %s", file.name, exc.orig)
            return Refusal(file.name, "not stored: the task database is unavailable")
        return None

    def _rejected(self, event: events.GenericEventArguments) -> None:
        entries: list[dict[str, Any]] = event.args or []
        self.refuse([_from_browser(entry, self._limit) for entry in entries])

    def _started(self) -> None:
        self._sending = True

    def _finished(self) -> None:
        self._sending = False
        self._sent = True
        self.upload.reset()
        self._announce()

    def _announce(self) -> None:
        # The browser says a drop is sent before the server has made the last
        # files tasks (and its first files may be in before it says it began):
        # count once both are done.
        if not self._sent or self.busy:
            return
        if self._added:
            self._on_added(self._added)
        self._added = 0
        self._sent = False

    def refuse(self, refusals: list[Refusal]) -> None:
        """Name each refused file and why, until the person dismisses the list."""
        if not refusals:
            return
        self._box.set_visibility(True)
        with self._lines:
            for refusal in refusals:
                _refusal_line(refusal)
        _trim(self._lines)
        names = ", ".join(refusal.name for refusal in refusals[:3])
        more = f" and {len(refusals) - 3} more" if len(refusals) > 3 else ""
        ui.notify(f"Refused {names}{more}", type="warning")

    def _dismiss(self) -> None:
        self._lines.clear()
        self._box.set_visibility(False)


def _from_browser(entry: dict[str, Any], limit: int) -> Refusal:
    name = str(entry.get("name") or "a file")
    reason = refusal_reason(name, int(entry.get("size") or 0), limit)
    return Refusal(name, reason or f"refused by the browser ({entry.get('reason')})")


def _refusal_line(refusal: Refusal) -> None:
    with ui.row().classes("refusal items-center no-wrap gap-2").mark("refusal"):
        ui.icon("block", color="negative")
        ui.label(f"{refusal.name}: {refusal.reason}")


def _trim(lines: ui.column) -> None:
    for line in lines.default_slot.children[:-MAX_REFUSALS_SHOWN]:
        line.delete()
