"""The page in a real Chromium against the running app, as a person uses it.

One app, one `huey_consumer` beside it (so every change the page shows comes
from another process) and one browser serve the whole module. Tasks wait a
while before converting, so that every state lasts long enough to be seen.
Screenshots of the grid in each state go to artifacts/.
"""

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import (
    downloaded,
    eventually,
    row_states,
    screenshot,
    start_chromium,
)
from tests.conftest import png_bytes
from tests.processes import App, Consumer

pytestmark = [pytest.mark.browser, pytest.mark.process]

TASK_DELAY = 2.0
FINAL = {"complete", "error", "cancelled"}


@pytest.fixture(name="app", scope="module")
def fixture_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    base = tmp_path_factory.mktemp("browser")
    (base / "data").mkdir()
    app = App(base / "data", base / "app.log", "--no-worker", task_delay=TASK_DELAY)
    consumer = Consumer(base / "data", base / "consumer.log", task_delay=TASK_DELAY)
    try:
        app.start()
        consumer.start()
        yield app
    finally:
        consumer.stop()
        app.stop()


@pytest.fixture(name="downloads", scope="module")
def fixture_downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(name="driver", scope="module")
def fixture_driver(downloads: Path) -> Iterator[WebDriver]:
    driver = start_chromium(downloads)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(name="client")
def fixture_client(app: App) -> Iterator[httpx.Client]:
    with app.client() as client:
        yield client


def write_png(folder: Path, name: str, size: tuple[int, int], colour: str) -> Path:
    path = folder / name
    Image.new("RGB", size, colour).save(path, "PNG")
    return path


def post_pngs(client: httpx.Client, *names: str) -> list[str]:
    """Submit PNGs through the API, as a script would; their task ids."""
    files = [("files", (name, png_bytes(), "image/png")) for name in names]
    response = client.post("/api/tasks", files=files)
    response.raise_for_status()
    return [task["id"] for task in response.json()]


def open_page(driver: WebDriver, app: App) -> None:
    driver.get(app.url)
    eventually(lambda: driver.find_elements(By.CSS_SELECTOR, ".drop-zone"))
    # Gone if the page ever reloads: proof that updates came without one.
    driver.execute_script("window.imageconvNotReloaded = true;")


def is_dark(driver: WebDriver) -> bool:
    body = driver.find_element(By.TAG_NAME, "body")
    return "body--dark" in (body.get_attribute("class") or "")


def not_reloaded(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return window.imageconvNotReloaded === true;"))


def row(driver: WebDriver, task_id: str) -> str:
    return f'.task-row[data-task="{task_id}"]'


def wait_complete(driver: WebDriver, task_id: str) -> None:
    done = f'{row(driver, task_id)}[data-state="complete"]'
    eventually(lambda: driver.find_elements(By.CSS_SELECTOR, done), timeout=20)


def click(driver: WebDriver, selector: str) -> None:
    element = driver.find_element(By.CSS_SELECTOR, selector)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def watch(driver: WebDriver, count: int, timeout: float) -> dict[str, list[str]]:
    """Every state each row showed until `count` rows are finished."""
    history: dict[str, list[str]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task_id, state in row_states(driver).items():
            seen = history.setdefault(task_id, [])
            if not seen or seen[-1] != state:
                seen.append(state)
                _first_sight(driver, state, history)
        finished = [h for h in history.values() if h[-1] in FINAL]
        if len(finished) >= count:
            return history
        time.sleep(0.05)
    raise AssertionError(f"rows did not all finish within {timeout}s: {history}")


def _first_sight(driver: WebDriver, state: str, history: dict[str, list[str]]) -> None:
    shown = [states.count(state) for states in history.values()]
    if sum(shown) == 1:
        screenshot(driver, f"grid-{state}")


def test_chosen_files_go_queued_running_complete_and_error_without_reload(
    app: App, driver: WebDriver, client: httpx.Client, tmp_path: Path
) -> None:
    pngs = [
        write_png(tmp_path, name, size, colour)
        for name, size, colour in (
            ("sunset.png", (640, 480), "orange"),
            ("forest.png", (320, 240), "green"),
            ("sea.png", (200, 200), "navy"),
        )
    ]
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(pngs[0].read_bytes()[:80])
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    open_page(driver, app)
    screenshot(driver, "grid-empty")

    chooser = driver.find_element(By.CSS_SELECTOR, ".drop-zone input[type=file]")
    chooser.send_keys("\n".join(str(path) for path in [*pngs, corrupt, notes]))
    history = watch(driver, count=4, timeout=45)

    tasks = {
        task["filename"]: task for task in client.get("/api/tasks").json()["tasks"]
    }
    assert set(tasks) == {"sunset.png", "forest.png", "sea.png", "corrupt.png"}
    for name in ("sunset.png", "forest.png", "sea.png"):
        assert history[tasks[name]["id"]][-2:] == ["running", "complete"], name
    assert history[tasks["corrupt.png"]["id"]][-2:] == ["running", "error"]
    assert any(states[0] == "queued" for states in history.values()), history
    error_row = driver.find_element(
        By.CSS_SELECTOR, row(driver, tasks["corrupt.png"]["id"])
    )
    assert tasks["corrupt.png"]["error"] in error_row.text
    assert "notes.txt: not a PNG file" in driver.find_element(By.TAG_NAME, "body").text
    assert not_reloaded(driver)


def test_a_jpeg_downloads_with_its_bytes(
    app: App, driver: WebDriver, client: httpx.Client, downloads: Path
) -> None:
    open_page(driver, app)
    (task_id,) = post_pngs(client, "download-me.png")

    wait_complete(driver, task_id)
    click(driver, f'{row(driver, task_id)} button[aria-label^="Download"]')

    saved = eventually(lambda: downloaded(downloads, "download-me.jpg"), timeout=10)
    expected = client.get(f"/api/tasks/{task_id}/result").content
    assert saved.read_bytes() == expected
    assert expected[:3] == b"\xff\xd8\xff"
    with Image.open(saved) as image:
        assert (image.format, image.size) == ("JPEG", (64, 48))
    assert not_reloaded(driver)


def test_a_queued_task_is_cancelled_from_its_row(
    app: App, driver: WebDriver, client: httpx.Client
) -> None:
    open_page(driver, app)
    task_ids = post_pngs(client, *(f"line-{number}.png" for number in range(4)))

    queued = eventually(
        lambda: [
            t for t, s in row_states(driver).items() if s == "queued" and t in task_ids
        ],
        timeout=10,
    )
    click(driver, f'{row(driver, queued[0])} button[aria-label^="Cancel"]')

    cancelled = f'{row(driver, queued[0])}[data-state="cancelled"]'
    eventually(lambda: driver.find_elements(By.CSS_SELECTOR, cancelled), timeout=5)
    screenshot(driver, "grid-cancelled")
    assert client.get(f"/api/tasks/{queued[0]}").json()["state"] == "cancelled"
    assert client.get(f"/api/tasks/{queued[0]}/result").status_code == 409


def test_two_selected_jpegs_download_as_one_zip(
    app: App, driver: WebDriver, client: httpx.Client, downloads: Path
) -> None:
    open_page(driver, app)
    task_ids = post_pngs(client, "twin.png", "twin.png")
    for task_id in task_ids:
        wait_complete(driver, task_id)

    for task_id in task_ids:
        click(driver, f"{row(driver, task_id)} .q-checkbox")
    screenshot(driver, "grid-selected")
    click(driver, '.toolbar button[aria-label="Download the selected JPEGs as a ZIP"]')

    saved = eventually(lambda: downloaded(downloads, ".zip"), timeout=10)
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["twin (2).jpg", "twin.jpg"]
        for name in archive.namelist():
            assert archive.read(name)[:3] == b"\xff\xd8\xff"


def test_a_thumbnail_opens_the_png_beside_its_jpeg(
    app: App, driver: WebDriver, client: httpx.Client
) -> None:
    open_page(driver, app)
    (task_id,) = post_pngs(client, "compare.png")
    wait_complete(driver, task_id)

    click(driver, f"{row(driver, task_id)} .thumb")

    figures = eventually(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".preview-figure")
    )
    assert len(figures) == 2
    shown = "return arguments[0].querySelector('img').naturalWidth > 0;"
    eventually(lambda: all(driver.execute_script(shown, f) for f in figures))
    eventually(lambda: all(figure.text for figure in figures), what="captions")
    captions = [figure.text for figure in figures]
    screenshot(driver, "preview")
    assert captions[0].startswith("PNG ·"), captions
    assert captions[1].startswith("JPEG (quality 85) ·"), captions


def test_the_keyboard_reaches_a_preview(app: App, driver: WebDriver) -> None:
    open_page(driver, app)
    eventually(lambda: driver.find_elements(By.CSS_SELECTOR, ".task-row .thumb"))
    body = driver.find_element(By.TAG_NAME, "body")

    for _ in range(60):
        if "thumb" in (driver.switch_to.active_element.get_attribute("class") or ""):
            break
        body.send_keys(Keys.TAB)
    driver.switch_to.active_element.send_keys(Keys.ENTER)

    eventually(lambda: driver.find_elements(By.CSS_SELECTOR, ".preview-figure"))
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    eventually(lambda: not driver.find_elements(By.CSS_SELECTOR, ".preview"))


def test_the_page_reads_in_a_narrow_window_and_in_dark_mode(
    app: App, driver: WebDriver
) -> None:
    open_page(driver, app)
    theme = 'button[aria-label="Switch between automatic, light and dark"]'
    try:
        driver.set_window_size(420, 900)
        eventually(lambda: fits_width(driver), timeout=3, what="no sideways scroll")
        screenshot(driver, "narrow")
        for _ in range(2):  # automatic, then light, then dark
            click(driver, theme)
        eventually(lambda: is_dark(driver), what="dark mode")
        screenshot(driver, "narrow-dark")
        driver.set_window_size(1280, 900)
        screenshot(driver, "dark")
    finally:
        driver.set_window_size(1280, 900)
        if is_dark(driver):
            click(driver, theme)  # back to automatic for whoever comes next


def fits_width(driver: WebDriver) -> bool:
    script = "return document.documentElement.scrollWidth <= window.innerWidth;"
    return bool(driver.execute_script(script))
