"""The conversion options a person sets before dropping files, remembered."""

from typing import Any

from nicegui import ui
from pydantic import ValidationError

from models.options import HEX_COLOUR, TaskOptions
from ui.preferences import remember


class OptionsPanel:
    def __init__(self, options: TaskOptions) -> None:
        self._saved = options
        with ui.row().classes("options items-center w-full").mark("options"):
            with ui.column().classes("quality gap-0"):
                self._quality_label = ui.label().classes("text-caption")
                self.quality = ui.slider(min=1, max=95, value=options.quality)
                self.quality.props('label aria-label="JPEG quality"').mark("quality")
            self.background = ui.color_input(
                "Background for transparent areas", value=options.background
            )
            self.background.classes("background").mark("background")
            self.progressive = ui.switch("Progressive", value=options.progressive)
            self.progressive.mark("progressive")
            self.keep_metadata = ui.switch("Keep metadata", value=options.keep_metadata)
            self.keep_metadata.mark("keep-metadata")
        self._show_quality()
        # Save when a choice is made, not on every step while a slider moves.
        self.quality.on("change", self._save)
        self.quality.on_value_change(self._show_quality)
        for element in (self.background, self.progressive, self.keep_metadata):
            element.on_value_change(self._save)

    def current(self) -> TaskOptions:
        """The options shown now; the last good colour if the field holds a bad one."""
        return TaskOptions(
            quality=int(self.quality.value),
            background=self._colour(),
            progressive=bool(self.progressive.value),
            keep_metadata=bool(self.keep_metadata.value),
        )

    def _colour(self) -> str:
        value = str(self.background.value or "")
        if HEX_COLOUR.match(value):
            return value
        return self._saved.background

    def _show_quality(self, *_: Any) -> None:
        self._quality_label.set_text(f"JPEG quality {int(self.quality.value)}")

    def _save(self, *_: Any) -> None:
        try:
            options = self.current()
        except ValidationError:
            return
        self._mark_colour()
        if options != self._saved:
            self._saved = remember(options=options).options

    def _mark_colour(self) -> None:
        valid = bool(HEX_COLOUR.match(str(self.background.value or "")))
        self.background.props(remove="error error-message")
        if not valid:
            self.background.props('error error-message="Write a colour as #rrggbb"')
