"""The page's logic through NiceGUI's simulated user: no browser, real app code.

The simulated user runs main.py in this process without workers, so tasks
stay where the tests put them; a test plays the worker's part through the
store when it needs a task to run, finish or fail.
"""

import asyncio
import io
import logging
import signal
import sys
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from nicegui import app, ui
from nicegui.testing import User
from nicegui.testing.user_simulation import user_simulation
from PIL import Image

import settings
from models import Task, TaskState, store
from models.files import result_path, source_path, temp_upload_path
from models.options import TaskOptions
from tests.conftest import png_bytes
from tests.processes import REPO
from ui import intake
from ui.grid import PAGE_SIZE
from ui.uploads import ReceivedFile

pytest_plugins = ["nicegui.testing.user_plugin"]
pytestmark = pytest.mark.anyio

OWNER = "test-host:1"
# Small enough that a test can make a PNG over it in no time.
UPLOAD_LIMIT_MB = 0.01
SETTLE_RETRIES = 30


@pytest.fixture(name="anyio_backend")
def fixture_anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(name="user")
async def fixture_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[User]:
    """The real main.py with its data in tmp_path, served to a simulated user."""
    # jobs.queue fixes its queue file's path when first imported, maybe by an
    # earlier test module with the default, relative data directory: from
    # tmp_path, even that queue stays out of the repository.
    monkeypatch.chdir(tmp_path)
    data_dir = str(tmp_path / "data")
    monkeypatch.setattr(sys, "argv", ["main.py", "--data-dir", data_dir, "--no-worker"])
    monkeypatch.setenv("IMAGECONV_MAX_UPLOAD_MB", str(UPLOAD_LIMIT_MB))
    _keep_process_state(monkeypatch)
    async with user_simulation(main_file=REPO / "main.py") as user:
        yield user


def _keep_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() configures settings, logging and SIGTERM for the whole process;
    # give the next test module back what it had.
    monkeypatch.setattr(settings, "_current", list(settings._current))
    root = logging.getLogger("imageconv")
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "propagate", root.propagate)
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(signal, "signal", _leave_signals_alone)


def _leave_signals_alone(signum: int, handler: Any) -> Any:
    return signal.getsignal(signum)


def submit(name: str, data: bytes | None = None, **options: Any) -> Task:
    """Add a task the way an upload does."""
    temp = temp_upload_path()
    temp.parent.mkdir(parents=True, exist_ok=True)
    temp.write_bytes(png_bytes((8, 8)) if data is None else data)
    received = ReceivedFile(name, temp, temp.stat().st_size)
    return intake.submit(received, TaskOptions(**options))


def run(task: Task) -> None:
    assert store.claim(task.id, OWNER, 3) is store.Claim.CLAIMED


def finish(task: Task) -> bytes:
    """Play the worker: write a JPEG for the task and mark it complete."""
    if state_of(task) == TaskState.QUEUED:
        run(task)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "JPEG")
    result_path(task.id).parent.mkdir(parents=True, exist_ok=True)
    result_path(task.id).write_bytes(buffer.getvalue())
    assert store.complete(task.id, OWNER, len(buffer.getvalue()), 8, 8)
    return buffer.getvalue()


def fail(task: Task, message: str, detail: str) -> None:
    run(task)
    assert store.fail(task.id, OWNER, message, detail)


def state_of(task: Task) -> TaskState | None:
    found = store.get_task(task.id)
    return None if found is None else found.state


async def eventually(probe: Callable[[], object], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout}s: {probe}")
        await asyncio.sleep(0.05)


async def upload(user: User, *files: tuple[str, bytes]) -> None:
    dropzone = user.find(ui.upload).elements.pop()
    assert isinstance(dropzone, ui.upload)
    await dropzone.handle_uploads(
        [ui.upload.SmallFileUpload(name, "image/png", data) for name, data in files]
    )


def slider(user: User) -> ui.slider:
    return user.find(kind=ui.slider, marker="quality").elements.pop()


def colour(user: User) -> ui.color_input:
    return user.find(kind=ui.color_input, marker="background").elements.pop()


def switch(user: User, marker: str) -> ui.switch:
    return user.find(kind=ui.switch, marker=marker).elements.pop()


def click_in_row(user: User, task: Task, marker: str) -> None:
    with user.scope(marker=f"task-{task.id}"):
        user.find(marker=marker).click()


async def test_an_empty_page_invites_a_drop(user: User) -> None:
    await user.open("/")

    await user.should_see("Drop PNG files here")
    await user.should_see("No tasks yet")


async def test_the_summary_shows_the_disk_space_the_tasks_use(user: User) -> None:
    submit("big.png", png_bytes((300, 300), mode="RGB", colour="navy") * 10)

    await user.open("/")

    with user.scope(marker="summary"):
        disk = user.find(marker="disk").elements.pop()
    assert isinstance(disk, ui.label)
    await eventually(lambda: disk.text.endswith("on disk"))
    assert disk.text.split()[1] in {"kB", "MB"}


async def test_dropped_pngs_become_queued_tasks_with_the_chosen_options(
    user: User,
) -> None:
    await user.open("/")
    slider(user).set_value(60)
    user.find(marker="progressive").click()

    await upload(user, ("first.png", png_bytes((8, 8))), ("second.png", png_bytes()))

    await user.should_see("second.png", retries=SETTLE_RETRIES)
    await user.should_see("first.png")
    await user.should_see("2nd in line", retries=SETTLE_RETRIES)
    tasks = store.list_tasks().tasks
    assert {task.filename for task in tasks} == {"second.png", "first.png"}
    assert {(task.quality, task.progressive) for task in tasks} == {(60, True)}
    assert all(source_path(task.id).exists() for task in tasks)


async def test_a_drop_refuses_each_bad_file_by_name_and_takes_the_rest(
    user: User,
) -> None:
    too_large = Image.effect_noise((200, 200), 64).convert("RGB")
    buffer = io.BytesIO()
    too_large.save(buffer, "PNG")
    await user.open("/")

    await upload(
        user,
        ("notes.txt", b"not an image"),
        ("huge.png", buffer.getvalue()),
        ("good.png", png_bytes((8, 8))),
    )
    user.find(marker="dropzone").trigger(
        "rejected", [{"name": "photo.gif", "size": 10, "reason": "accept"}]
    )

    await user.should_see("good.png", retries=SETTLE_RETRIES)
    with user.scope(marker="refusals"):
        await user.should_see("notes.txt: not a PNG file: only .png files are accepted")
        await user.should_see("photo.gif: not a PNG file")
        await user.should_see(content="huge.png: too large")
    assert [task.filename for task in store.list_tasks().tasks] == ["good.png"]


async def test_options_are_remembered_across_reloads(user: User) -> None:
    await user.open("/")
    slider(user).set_value(42)
    user.find(marker="quality").trigger("change")
    colour(user).set_value("#102030")
    user.find(marker="progressive").click()
    user.find(marker="keep-metadata").click()

    await user.open("/")

    assert slider(user).value == 42
    assert colour(user).value == "#102030"
    assert switch(user, "progressive").value is True
    assert switch(user, "keep-metadata").value is False


async def test_a_row_cancels_retries_and_deletes_its_task(user: User) -> None:
    task = submit("row.png")
    await user.open("/")
    await user.should_see("row.png")

    click_in_row(user, task, "cancel")
    await eventually(lambda: state_of(task) == TaskState.CANCELLED)
    with user.scope(marker=f"task-{task.id}"):
        await user.should_see("Cancelled", retries=SETTLE_RETRIES)
    click_in_row(user, task, "retry")
    await eventually(lambda: state_of(task) == TaskState.QUEUED)
    with user.scope(marker=f"task-{task.id}"):
        await user.should_see("next in line", retries=SETTLE_RETRIES)
    click_in_row(user, task, "delete")

    await eventually(lambda: state_of(task) is None)
    await user.should_not_see(marker=f"task-{task.id}", retries=SETTLE_RETRIES)
    assert not source_path(task.id).exists()


async def test_a_running_task_shows_its_progress_then_its_result(user: User) -> None:
    task = submit("photo.png")
    await user.open("/")

    run(task)
    with user.scope(marker=f"task-{task.id}"):
        await user.should_see("Running", retries=SETTLE_RETRIES)
        await user.should_see(content="Converting ·")
    jpeg = finish(task)

    with user.scope(marker=f"task-{task.id}"):
        await user.should_see(content="8x8 px", retries=SETTLE_RETRIES)
        await user.should_see("Complete")
    click_in_row(user, task, "download")
    response = await user.download.next()
    assert response.content == jpeg


async def test_a_failed_task_shows_its_error_and_the_detail_on_click(
    user: User,
) -> None:
    task = submit("broken.png")
    await user.open("/")

    fail(task, "not a PNG: the file is a JPEG", "starts with ff d8 ff e0")

    with user.scope(marker=f"task-{task.id}"):
        await user.should_see("not a PNG: the file is a JPEG", retries=SETTLE_RETRIES)
    click_in_row(user, task, "details")
    with user.scope(marker="error-dialog"):
        await user.should_see(content="starts with ff d8 ff e0")
        await user.should_see("Copy")


async def test_selected_tasks_download_as_one_zip_with_unique_names(
    user: User,
) -> None:
    tasks = [submit("same.png"), submit("same.png"), submit("other.png")]
    for task in tasks[:2]:
        finish(task)
    await user.open("/")

    user.find(marker="select-page").click()
    user.find(marker="bulk-zip").click()

    response = await user.download.next(timeout=5)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["same (2).jpg", "same.jpg"]
        assert archive.read("same.jpg")[:3] == b"\xff\xd8\xff"


async def test_selected_tasks_cancel_retry_and_delete_together(user: User) -> None:
    tasks = [submit(f"many-{number}.png") for number in range(3)]
    await user.open("/")
    user.find(marker="select-page").click()

    user.find(marker="bulk-cancel").click()
    await eventually(lambda: {state_of(t) for t in tasks} == {TaskState.CANCELLED})
    user.find(marker="bulk-retry").click()
    await eventually(lambda: {state_of(t) for t in tasks} == {TaskState.QUEUED})
    user.find(marker="bulk-delete").click()
    await user.should_see(marker="confirm")
    user.find(marker="agree").click()

    await eventually(lambda: store.list_tasks().total == 0)
    await user.should_see("No tasks yet", retries=SETTLE_RETRIES)


async def test_clear_finished_removes_complete_tasks_only(user: User) -> None:
    done, failed, waiting = submit("done.png"), submit("bad.png"), submit("wait.png")
    finish(done)
    fail(failed, "damaged", "detail")
    await user.open("/")

    user.find(marker="clear-finished").click()
    await user.should_see(marker="confirm")
    user.find(marker="agree").click()

    await eventually(lambda: state_of(done) is None)
    assert state_of(failed) == TaskState.ERROR
    assert state_of(waiting) == TaskState.QUEUED
    await user.should_not_see(marker=f"task-{done.id}", retries=SETTLE_RETRIES)


async def test_a_finished_batch_gives_one_notice(user: User) -> None:
    tasks = [submit(f"batch-{number}.png") for number in range(5)]
    await user.open("/")
    await user.should_see("Queued 5", retries=SETTLE_RETRIES)

    for task in tasks[:4]:
        finish(task)
    fail(tasks[4], "damaged", "detail")

    await eventually(lambda: user.notify.contains("5 tasks finished"))
    assert user.notify.contains("4 converted, 1 failed")
    assert not user.notify.contains("batch-0.png")


async def test_the_summary_counts_states_slots_and_this_visits_progress(
    user: User,
) -> None:
    before = submit("before.png")
    finish(before)
    await user.open("/")

    new = [submit("new-1.png"), submit("new-2.png")]
    run(new[0])
    finish(new[1])

    with user.scope(marker="summary"):
        await user.should_see("Complete 2", retries=SETTLE_RETRIES)
        await user.should_see("Running 1")
        await user.should_see("1 of 3 slots busy")
        await user.should_see("Since this page opened: 1 of 2 finished")


async def test_the_grid_shows_one_page_of_rows_at_a_time(user: User) -> None:
    for number in range(PAGE_SIZE * 2 + 10):
        submit(f"page-{number:03d}.png")
    await user.open("/")

    await user.should_see(f"1 to {PAGE_SIZE} of {PAGE_SIZE * 2 + 10}")
    await user.should_see(f"page-{PAGE_SIZE * 2 + 9:03d}.png")
    await user.should_not_see("page-009.png")
    user.find(ui.pagination).elements.pop().set_value(3)

    await user.should_see("page-009.png", retries=SETTLE_RETRIES)
    await user.should_see(f"{PAGE_SIZE * 2 + 1} to {PAGE_SIZE * 2 + 10} of")
    await user.should_not_see(f"page-{PAGE_SIZE * 2 + 9:03d}.png")


async def test_a_thumbnail_opens_the_png_beside_its_jpeg(user: User) -> None:
    task = submit("look.png")
    finish(task)
    await user.open("/")

    click_in_row(user, task, "thumb")

    with user.scope(marker="preview"):
        await user.should_see(content="PNG · ")
        await user.should_see(content="JPEG (quality 85) · ")
        await user.should_see("Slider")


async def test_the_native_window_saves_a_download_where_the_person_chooses(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = submit("native.png")
    jpeg = finish(task)
    chosen = tmp_path / "chosen" / "mine.jpg"
    chosen.parent.mkdir()
    monkeypatch.setattr(app.native, "main_window", _SaveDialog(chosen))
    await user.open("/")

    click_in_row(user, task, "download")

    await eventually(chosen.exists)
    assert chosen.read_bytes() == jpeg
    await eventually(lambda: user.notify.contains(f"Saved to {chosen}"))


class _SaveDialog:
    """Stands in for the native window: the person picks `chosen`."""

    def __init__(self, chosen: Path) -> None:
        self.chosen = chosen

    async def create_file_dialog(self, *args: object, **kwargs: object) -> tuple[str]:
        return (str(self.chosen),)

    def signal_server_shutdown(self) -> None:
        pass
