"""`python main.py --native`: a desktop window under Xvfb that shows the page.

The window is pywebview on Qt's web engine. The test closes it the way a
window manager does when a person clicks its close button, and expects the
whole program to end cleanly.
"""

import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageGrab

from tests.browser import ARTIFACTS, eventually
from tests.processes import App

pytest.importorskip(
    "webview", reason="needs the native extra: pip install -e '.[native]'"
)
pytest.importorskip(
    "PyQt6.QtWebEngineWidgets", reason="needs Qt's web engine: pywebview[qt]"
)
pytest.importorskip("Xlib", reason="needs python-xlib to close the window")
if shutil.which("Xvfb") is None:
    pytest.skip("needs Xvfb (Debian package xvfb)", allow_module_level=True)

from Xlib import X, display, error, protocol
from Xlib.xobject.drawable import Window

pytestmark = pytest.mark.process

TITLE = "imageconv"
SCREEN = (1280, 900)
# Quasar's primary colour, which fills the page's header.
HEADER_RGB = (88, 152, 212)
HEADER_PIXELS = 20_000


@pytest.fixture(name="x_display")
def fixture_x_display() -> Iterator[str]:
    """A private Xvfb screen; its name, such as ":3"."""
    read_end, write_end = os.pipe()
    size = f"{SCREEN[0]}x{SCREEN[1]}x24"
    xvfb = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            size,
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        yield f":{_read_display_number(read_end)}"
    finally:
        os.close(read_end)
        xvfb.terminate()
        xvfb.wait(timeout=10)


def _read_display_number(pipe: int) -> int:
    ready, _, _ = select.select([pipe], [], [], 10)
    if not ready:
        raise AssertionError("Xvfb did not say which display it took")
    return int(os.read(pipe, 16).decode().strip())


def find_window(name: str) -> Window | None:
    connection = display.Display(name)
    try:
        children = connection.screen().root.query_tree().children
        return next((w for w in children if _title(w) == TITLE), None)
    finally:
        connection.close()


def _title(window: Window) -> str | None:
    # Qt makes and drops short-lived windows while it starts: one may be gone
    # between listing the windows and asking for its name.
    try:
        name: str | None = window.get_wm_name()
    except error.BadWindow:
        return None
    return name


def header_pixels(image: Image.Image) -> int:
    colours = image.convert("RGB").getcolors(maxcolors=SCREEN[0] * SCREEN[1])
    return sum(count for count, rgb in colours or [] if rgb == HEADER_RGB)


class PageWatch:
    """Grabs the screen until it shows the page, drawn and no longer changing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last = b""

    def __call__(self) -> Image.Image | None:
        image = ImageGrab.grab(xdisplay=self.name)
        previous, self.last = self.last, image.tobytes()
        if header_pixels(image) < HEADER_PIXELS or self.last != previous:
            return None
        return image


def close_window(name: str, window: Window) -> None:
    """Ask the window to close, as a window manager's close button does."""
    connection = display.Display(name)
    protocols = connection.intern_atom("WM_PROTOCOLS")
    delete = connection.intern_atom("WM_DELETE_WINDOW")
    message = protocol.event.ClientMessage(
        window=window,
        client_type=protocols,
        data=(32, [delete, X.CurrentTime, 0, 0, 0]),
    )
    connection.send_event(window, message)
    connection.flush()


def test_the_native_window_shows_the_page_and_closes_cleanly(
    x_display: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", x_display)
    monkeypatch.setenv("PYWEBVIEW_GUI", "qt")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    # Chromium inside Qt refuses to run as root with its sandbox on.
    monkeypatch.setenv("QTWEBENGINE_DISABLE_SANDBOX", "1")
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    app = App(data_dir, tmp_path / "native.log", "--native")
    try:
        app.start()
        window = eventually(lambda: find_window(x_display), timeout=30, what="window")
        shown = eventually(PageWatch(x_display), timeout=30, what="the page")
        ARTIFACTS.mkdir(exist_ok=True)
        shown.save(ARTIFACTS / "native-window.png")

        close_window(x_display, window)

        assert app.process is not None
        assert app.process.wait(timeout=20) == 0, app.output()
    finally:
        app.kill()
    output = app.output()
    assert "imageconv stopped" in output
    assert "Traceback" not in output, output
