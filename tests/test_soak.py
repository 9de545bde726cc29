"""Many tasks, cancels, retries and kill -9: every task ends right, nothing is left."""

import socket
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.soak import Options, soak
from tests.processes import App, Consumer, wait_until

pytestmark = pytest.mark.process

StartApp = Callable[..., App]
StartConsumer = Callable[..., Consumer]


def _chunk(name: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(name + data))
    return struct.pack(">I", len(data)) + name + data + crc


def black_png(width: int, height: int) -> bytes:
    """A black RGB PNG: a small file that takes a while to write as a JPEG."""
    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return (
        signature
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.tmp")) if folder.exists() else []


def test_short_soak_accounts_for_every_task(tmp_path: Path) -> None:
    options = Options(tasks=120, consumer_kills=3, app_kills=1, seed=20)

    report = soak(options, tmp_path)

    assert report.problems == []
    assert report.counters.kills == {"consumer": 3, "app": 1}
    assert sum(report.final.values()) == 120
    assert report.final["complete"] > 0
    assert report.final["error"] > 0


def test_consumer_killed_while_writing_a_jpeg_leaves_no_temporary_file(
    start_app: StartApp, start_consumer: StartConsumer, data_dir: Path
) -> None:
    app = start_app("--no-worker")
    consumer = start_consumer()
    results = data_dir / "results"
    with app.client() as client:
        files = [("files", ("black.png", black_png(6000, 6000), "image/png"))]
        [task] = client.post("/api/tasks", files=files).json()

    wait_until(lambda: temp_files(results), timeout=30, interval=0.01)
    consumer.kill()
    start_consumer()

    with app.client() as client:
        wait_until(
            lambda: (
                client.get(f"/api/tasks/{task['id']}").json()["state"] == "complete"
            ),
            timeout=60,
        )
    assert temp_files(results) == []
    assert [path.name for path in results.iterdir()] == [f"{task['id']}.jpg"]


def test_app_killed_during_an_upload_leaves_no_temporary_file(
    start_app: StartApp, data_dir: Path
) -> None:
    app = start_app("--no-worker")
    uploads = data_dir / "uploads"
    boundary = "soak-boundary"
    head = (
        f"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {4 * 1024 * 1024}\r\n\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="half.png"\r\nContent-Type: image/png\r\n\r\n'
    )

    with socket.create_connection(("127.0.0.1", app.port)) as conn:
        conn.sendall(head.encode() + bytes(1024 * 1024))
        wait_until(lambda: any(uploads.glob(".upload.*")), timeout=10)
        app.kill()
    start_app("--no-worker")

    wait_until(lambda: not any(uploads.glob(".upload.*")), timeout=5)
    assert list(uploads.iterdir()) == []


def test_files_of_a_task_never_added_are_removed_when_the_app_restarts(
    start_app: StartApp, data_dir: Path
) -> None:
    # What a kill leaves between a file landing and its task being added (or
    # between a task being deleted and its files).
    orphans = [
        data_dir / "uploads" / f"{'a' * 32}.png",
        data_dir / "results" / f"{'a' * 32}.jpg",
    ]
    for orphan in orphans:
        orphan.parent.mkdir(exist_ok=True)
        orphan.write_bytes(b"left by a kill")

    start_app("--no-worker")

    wait_until(lambda: not any(orphan.exists() for orphan in orphans), timeout=5)
