"""A real Chromium for the page tests: headless, offline, and fresh each time."""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.processes import REPO

ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
T = TypeVar("T")


def start_chromium(downloads: Path, width: int = 1280, height: int = 900) -> WebDriver:
    """A Chromium with its own profile that saves downloads to `downloads`."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="imageconv-chromium-")
    for flag in (
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
        },
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(downloads)},
    )
    return driver


def eventually(
    probe: Callable[[], T | None], timeout: float = 10.0, what: str = ""
) -> T:
    """Poll `probe` until it gives something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except StaleElementReferenceException:
            # The row was re-rendered between finding and reading it.
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or probe}")
        time.sleep(0.05)


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save what the browser shows as artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def downloaded(folder: Path, suffix: str) -> Path | None:
    """The finished download in `folder` ending in `suffix`, if there is one."""
    done = [path for path in folder.iterdir() if path.name.endswith(suffix)]
    return done[0] if done else None


def row_states(driver: WebDriver) -> dict[str, str]:
    """Each row's task id and the state it shows."""
    script = (
        "return Array.from(document.querySelectorAll('.task-row'))"
        ".map(row => [row.dataset.task, row.dataset.state]);"
    )
    pairs: list[Any] = driver.execute_script(script)
    return {task_id: state for task_id, state in pairs}
