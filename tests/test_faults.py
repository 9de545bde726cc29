"""A full disk, an unwritable data directory and a busy database lose nothing."""

import errno
import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import png_bytes
from tests.processes import App, wait_until

pytestmark = pytest.mark.process

StartApp = Callable[..., App]


def mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small disk needs permission to mount tmpfs: {mounted.stderr}")


@pytest.fixture(name="small_disk")
def fixture_small_disk(data_dir: Path) -> Iterator[Path]:
    """The results folder on a 64 KiB disk of its own."""
    results = data_dir / "results"
    mount_tmpfs(results, "64k")
    yield results
    subprocess.run(["umount", "-l", str(results)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros until the disk is full, to the last byte."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while _write_some(descriptor):
            pass
    finally:
        os.close(descriptor)
    return filler


def _write_some(descriptor: int) -> bool:
    try:
        return os.write(descriptor, b"\0" * 512) > 0
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        return False


def upload(app: App, content: bytes, name: str = "a.png") -> Any:
    with app.client() as client:
        return client.post(
            "/api/tasks", files=[("files", (name, content, "image/png"))]
        )


def task(app: App, task_id: str) -> dict[str, Any]:
    with app.client() as client:
        found: dict[str, Any] = client.get(f"/api/tasks/{task_id}").json()
        return found


def settled(app: App, task_id: str) -> dict[str, Any]:
    done = ("complete", "error", "cancelled")
    return wait_until(lambda: (t := task(app, task_id))["state"] in done and t)


def retry(app: App, task_id: str) -> None:
    with app.client() as client:
        assert client.post(f"/api/tasks/{task_id}/retry").status_code == 200


def database_is_sound(data_dir: Path) -> bool:
    with sqlite3.connect(data_dir / "tasks.sqlite3") as db:
        verdict: tuple[str] = db.execute("PRAGMA integrity_check").fetchone()
        return verdict == ("ok",)


def test_full_disk_fails_the_task_plainly_and_work_resumes_with_space(
    start_app: StartApp, small_disk: Path, data_dir: Path
) -> None:
    app = start_app()
    filler = fill(small_disk)

    failed = settled(
        app, upload(app, png_bytes((300, 300), colour="red")).json()[0]["id"]
    )
    filler.unlink()
    later = settled(app, upload(app, png_bytes()).json()[0]["id"])
    retry(app, failed["id"])

    assert failed["state"] == "error"
    assert failed["error"] == (
        "could not write the JPEG: the disk holding the data directory is full"
    )
    assert later["state"] == "complete"
    assert settled(app, failed["id"])["state"] == "complete"
    assert sorted(p.name for p in small_disk.iterdir()) == sorted(
        [f"{failed['id']}.jpg", f"{later['id']}.jpg"]
    )
    assert database_is_sound(data_dir)
    assert "Traceback" not in app.output()


def test_unwritable_results_fail_the_task_plainly(
    start_app: StartApp, small_disk: Path
) -> None:
    app = start_app()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    failed = settled(app, upload(app, png_bytes()).json()[0]["id"])
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    retry(app, failed["id"])

    assert (
        failed["error"]
        == "could not write the JPEG: the data directory is not writable"
    )
    assert settled(app, failed["id"])["state"] == "complete"


def test_upload_to_a_full_disk_is_refused_and_stores_nothing(
    start_app: StartApp, data_dir: Path
) -> None:
    mount_tmpfs(data_dir / "uploads", "64k")
    try:
        app = start_app("--no-worker")
        fill(data_dir / "uploads")

        response = upload(app, png_bytes((400, 400), mode="RGB", colour="blue"))

        with app.client() as client:
            total = client.get("/api/tasks").json()["total"]
        leftovers = list((data_dir / "uploads").glob(".upload.*"))
    finally:
        subprocess.run(["umount", "-l", str(data_dir / "uploads")], check=False)
    assert response.status_code == 507
    assert "disk" in response.json()["detail"]
    assert total == 0
    assert leftovers == []


def test_many_uploads_while_workers_write_never_hit_a_locked_database(
    start_app: StartApp,
) -> None:
    app = start_app(heartbeat_interval=0.05)
    statuses: list[int] = []

    def send_batch(batch: int) -> None:
        for n in range(8):
            response = upload(app, png_bytes(), f"busy-{batch}-{n}.png")
            statuses.append(response.status_code)

    senders = [threading.Thread(target=send_batch, args=(b,)) for b in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    with app.client() as client:
        wait_until(lambda: client.get("/api/health").json()["tasks"]["complete"] == 64)

    assert statuses == [201] * 64
    assert "locked" not in app.output()
    assert " ERROR " not in app.output()
