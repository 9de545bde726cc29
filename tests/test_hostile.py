"""Hostile and odd input through the real app: files, names, upload sizes."""

import io
import os
import re
import select
import socket
import struct
import time
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from PIL import Image

from scripts.fuzz import is_plain
from scripts.soak_checks import BAD_LOG_LINE
from tests.conftest import png_bytes
from tests.processes import REPO, App, running, wait_until

pytestmark = pytest.mark.process

FINISHED = ("complete", "error", "cancelled")
SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOUNDARY = "hostile-boundary-7f3a"
# Part of every hostile file name, to find any file written under such a name.
MARK = "esc4pe"
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg)$")


def _chunk(name: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(name + data))
    return struct.pack(">I", len(data)) + name + data + crc


def _ihdr(width: int, height: int, colour: int = 0) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))


def _blank_idat(width: int, height: int, channels: int = 1) -> bytes:
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width * channels)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return _chunk(b"IDAT", data)


def _png(*chunks: bytes) -> bytes:
    return SIGNATURE + b"".join(chunks) + _chunk(b"IEND", b"")


def _text_bomb(kind: bytes) -> bytes:
    """A compressed text chunk of 200 KB that inflates to 200 MB."""
    flags = b"\x00" if kind == b"zTXt" else b"\x01\x00\x00\x00"
    text = zlib.compress(b"a" * 200_000_000, 9)
    return _chunk(kind, b"Comment\x00" + flags + text)


def _with_bad_crc(content: bytes, chunk_name: bytes) -> bytes:
    at = content.index(chunk_name)
    (length,) = struct.unpack(">I", content[at - 4 : at])
    crc_at = at + 4 + length
    flipped = bytes([content[crc_at] ^ 0xFF])
    return content[:crc_at] + flipped + content[crc_at + 1 :]


def _with_text(content: bytes, size: int) -> bytes:
    """`content` with a plain text chunk of `size` bytes before its image data."""
    at = content.index(b"IDAT") - 4
    return content[:at] + _chunk(b"tEXt", b"Comment\x00" + b"a" * size) + content[at:]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(buffer, "JPEG")
    return buffer.getvalue()


GOOD = png_bytes((40, 30))


@dataclass(frozen=True)
class Hostile:
    case: str
    name: str
    content: bytes
    words: tuple[str, ...]


HOSTILE_FILES = [
    Hostile(
        "huge-dimensions-tiny-file",
        "huge.png",
        _png(_ihdr(100_000, 100_000), _blank_idat(1, 1)),
        ("too large", "100000"),
    ),
    Hostile(
        "wider-than-libjpeg-allows",
        "wide.png",
        _png(_ihdr(65_501, 1), _blank_idat(65_501, 1)),
        ("too large for jpeg", "65,500"),
    ),
    Hostile(
        "second-header-claiming-another-size",
        "two-headers.png",
        _png(_ihdr(32, 32), _ihdr(32, 64), _blank_idat(32, 64)),
        ("damaged", "more than one png header"),
    ),
    Hostile(
        "giant-compressed-text-before-image",
        "ztxt.png",
        _png(_ihdr(8, 8), _text_bomb(b"zTXt"), _blank_idat(8, 8)),
        ("too much embedded text",),
    ),
    Hostile(
        "giant-compressed-text-after-image",
        "itxt.png",
        _png(_ihdr(8, 8), _blank_idat(8, 8), _text_bomb(b"iTXt")),
        ("too much embedded text",),
    ),
    Hostile(
        "chunk-claiming-two-gigabytes",
        "length.png",
        _png(_ihdr(8, 8))[:-12] + struct.pack(">I4s", 0x7FFF_FFF0, b"tEXt") + b"a",
        ("incomplete", "ends early"),
    ),
    Hostile("truncated-stream", "half.png", GOOD[: len(GOOD) // 2], ("incomplete",)),
    Hostile("truncated-signature", "five.png", GOOD[:5], ("incomplete",)),
    Hostile(
        "wrong-crc-in-header",
        "crc.png",
        _with_bad_crc(GOOD, b"IHDR"),
        ("damaged", "checksum"),
    ),
    Hostile(
        "wrong-crc-in-image-data",
        "idat-crc.png",
        _with_bad_crc(GOOD, b"IDAT"),
        ("damaged", "checksum"),
    ),
    Hostile("jpeg-named-png", "photo.png", _jpeg(), ("not a png", "jpeg")),
    Hostile("empty-file", "empty.png", b"", ("empty",)),
    Hostile("zero-bytes", "zeros.png", bytes(65_536), ("not a png",)),
    # Too short to tell a damaged signature from another format.
    Hostile("one-zero-byte", "zero.png", b"\x00", ("png",)),
]

ODD_BUT_VALID = [
    pytest.param("photo.jpg", GOOD, id="png-named-jpg"),
    pytest.param("photo", GOOD, id="png-without-suffix"),
    pytest.param("notes.png", _with_text(GOOD, 10_000_000), id="ten-megabytes-of-text"),
]


@pytest.fixture(name="app", scope="module")
def fixture_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """An app converting with the workers it starts itself."""
    root = tmp_path_factory.mktemp("hostile")
    with running(root / "data", root / "app.log") as app:
        yield app


@pytest.fixture(name="limited", scope="module")
def fixture_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """An app without workers and with a 1 MB upload limit."""
    root = tmp_path_factory.mktemp("limited")
    with running(
        root / "data", root / "app.log", "--no-worker", max_upload_mb=1
    ) as app:
        yield app


def data_dir(app: App) -> Path:
    return Path(app.env["IMAGECONV_DATA_DIR"])


def multipart(files: list[tuple[str, bytes]]) -> bytes:
    """A multipart body with each file name sent raw, as a hostile client may."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="{name}"\r\nContent-Type: image/png\r\n\r\n'.encode()
        + content
        for name, content in files
    ]
    return b"\r\n".join(parts) + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(app: App, files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    with app.client() as client:
        response = client.post("/api/tasks", content=multipart(files), headers=headers)
    assert response.status_code == 201, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


def finished(app: App, task_ids: list[str]) -> list[dict[str, Any]]:
    def all_done() -> list[dict[str, Any]]:
        with app.client() as client:
            found = [client.get(f"/api/tasks/{i}").json() for i in task_ids]
        return found if all(task["state"] in FINISHED for task in found) else []

    return wait_until(all_done, timeout=60)


def log_is_clean(app: App) -> bool:
    return not BAD_LOG_LINE.search(app.output())


@pytest.mark.parametrize("hostile", HOSTILE_FILES, ids=lambda hostile: hostile.case)
def test_hostile_file_ends_in_error_with_a_plain_message(
    app: App, hostile: Hostile
) -> None:
    [task] = upload(app, [(hostile.name, hostile.content)])

    [done] = finished(app, [task["id"]])

    assert done["state"] == "error"
    assert all(word in done["error"].lower() for word in hostile.words), done["error"]
    assert is_plain(done["error"])
    assert done["error_detail"]


@pytest.mark.parametrize(("name", "content"), ODD_BUT_VALID)
def test_odd_but_valid_png_converts(app: App, name: str, content: bytes) -> None:
    [task] = upload(app, [(name, content)])

    [done] = finished(app, [task["id"]])
    with app.client() as client:
        result = client.get(f"/api/tasks/{task['id']}/result")

    assert done["state"] == "complete"
    assert Image.open(io.BytesIO(result.content)).size == (40, 30)
    assert disposition(result)[1] == jpeg_name(name)


def test_workers_survive_every_hostile_file_and_log_no_error(app: App) -> None:
    hostile = [(hostile.name, hostile.content) for hostile in HOSTILE_FILES]
    files: list[tuple[str, bytes]] = [*hostile, ("after.png", GOOD)]

    tasks = finished(app, [task["id"] for task in upload(app, files)])

    assert [task["state"] for task in tasks] == ["error"] * len(hostile) + ["complete"]
    assert log_is_clean(app), app.output()


# Each: what the test is called, the name as sent, the name as stored.
HOSTILE_NAMES = [
    ("dot-dot", "../../esc4pe-up.png", "esc4pe-up.png"),
    ("backslashes", "..\\..\\esc4pe-back.png", "esc4pe-back.png"),
    ("absolute", "/etc/esc4pe-abs.png", "esc4pe-abs.png"),
    ("drive", "C:\\Temp\\esc4pe-drive.png", "esc4pe-drive.png"),
    ("nested", "a/b/../esc4pe-deep.png", "esc4pe-deep.png"),
    ("only-dot-dot", "esc4pe/..", "image.png"),
    ("percent-encoded", "%2e%2e%2fesc4pe.png", "%2e%2e%2fesc4pe.png"),
    ("controls", "esc4pe\x00\x01\x07\x1b[31m\x7f.png", "esc4pe[31m.png"),
    ("tab-vertical-tab", "esc4pe\tx\x0bz.png", "esc4pexz.png"),
    ("right-to-left-override", "esc4pe\u202egnp.exe", "esc4pegnp.exe"),
    ("direction-marks", "esc4pe\u200f\u200e\u2067x\u2069.png", "esc4pex.png"),
    ("emoji", "esc4pe 😀🎉.png", "esc4pe 😀🎉.png"),
    ("quote-semicolon", 'esc4pe\\";x=y.png', 'esc4pe";x=y.png'),
    (
        "300-ascii-characters",
        "esc4pe" + "x" * 300 + ".png",
        "esc4pe" + "x" * 245 + ".png",
    ),
    (
        "400-bytes-of-accents",
        "esc4pe" + "é" * 200 + ".png",
        "esc4pe" + "é" * 122 + ".png",
    ),
    ("long-no-suffix", "esc4pe" + "y" * 300, "esc4pe" + "y" * 249),
    ("long-emoji", "esc4pe" + "😀" * 80, "esc4pe" + "😀" * 62),
]


@pytest.fixture(name="named", scope="module")
def fixture_named(app: App) -> dict[str, dict[str, Any]]:
    """Every hostile name uploaded in one request and converted, by raw name."""
    names = [raw for _, raw, _ in HOSTILE_NAMES]
    tasks = upload(app, [(name, GOOD) for name in names])
    done = finished(app, [task["id"] for task in tasks])
    return dict(zip(names, done, strict=True))


def disposition(response: httpx.Response) -> tuple[str, str]:
    """The ASCII fallback name and the decoded UTF-8 name of a download."""
    header = response.headers["content-disposition"]
    fallback = re.fullmatch(r'attachment; filename="([^"]*)"; .*', header)
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", header)
    assert fallback, header
    assert encoded, header
    return fallback.group(1), unquote(encoded.group(1), errors="strict")


def is_safe_name(name: str) -> bool:
    banned = {"Cc", "Cf", "Zl", "Zp"}
    return (
        bool(name)
        and name not in {".", ".."}
        and not {"/", "\\", "\x00"} & set(name)
        and not any(unicodedata.category(ch) in banned for ch in name)
        and len(name.encode()) <= 255
    )


def jpeg_name(stored: str) -> str:
    """The upload's name with .jpg for its suffix, cut to fit 255 bytes."""
    stem = PurePath(stored).stem.encode()[: 255 - len(".jpg")]
    return stem.decode(errors="ignore") + ".jpg"


def is_safe_fallback(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9 ._()-]+", name)) and name not in {".", ".."}


@pytest.mark.parametrize(
    ("raw", "stored"),
    [(raw, stored) for _, raw, stored in HOSTILE_NAMES],
    ids=[case for case, _, _ in HOSTILE_NAMES],
)
def test_hostile_name_is_stored_and_served_safely(
    app: App, named: dict[str, dict[str, Any]], raw: str, stored: str
) -> None:
    task = named[raw]
    with app.client() as client:
        source = client.get(f"/api/tasks/{task['id']}/source")
        result = client.get(f"/api/tasks/{task['id']}/result")
    source_fallback, source_name = disposition(source)
    result_fallback, result_name = disposition(result)

    assert task["state"] == "complete"
    assert task["filename"] == stored
    assert is_safe_name(task["filename"])
    assert source_name == stored
    assert result_name == jpeg_name(stored), f"{len(result_name.encode())} bytes"
    assert is_safe_name(result_name)
    assert is_safe_fallback(source_fallback)
    assert is_safe_fallback(result_fallback)
    assert source.content == GOOD


def _files_under(root: Path) -> set[Path]:
    skipped = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache"}
    found: set[Path] = set()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in skipped]
        found.update(Path(folder, name) for name in files)
    return found


def test_hostile_names_write_only_files_named_by_task_id(
    app: App, named: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = data_dir(app)
    task_ids = {task["id"] for task in named.values()}
    anywhere = _files_under(tmp_path_factory.getbasetemp()) | _files_under(REPO)

    marked = {path for path in anywhere if MARK in str(path)}
    stored = {
        path for folder in ("uploads", "results") for path in (data / folder).iterdir()
    }

    assert marked == set()
    assert all(STORED_NAME.match(path.name) for path in stored), stored
    assert {path.stem for path in stored} >= task_ids


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # the server removed it meanwhile
        return 0


def _total_size(folder: Path) -> int:
    return sum(_size(path) for path in _files_under(folder))


def _start_upload(app: App, declared: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", app.port))
    head = (
        f"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {declared}\r\n\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
    )
    conn.sendall(head.encode())
    return conn


def _answer_within(conn: socket.socket, seconds: float) -> bytes:
    """Read an HTTP answer, headers and body, as far as it comes by the deadline."""
    deadline, answer = time.monotonic() + seconds, b""
    while not _is_whole(answer):
        left = max(0.0, deadline - time.monotonic())
        readable, _, _ = select.select([conn], [], [], left)
        received = conn.recv(65_536) if readable else b""
        if not received:
            break
        answer += received
    return answer


def _is_whole(answer: bytes) -> bool:
    head, blank, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    if not blank or length is None:
        return False
    return len(body) >= int(length.group(1))


def test_upload_past_the_limit_is_refused_while_it_streams(limited: App) -> None:
    uploads = data_dir(limited) / "uploads"
    block, megabyte = bytes(64 * 1024), 1024 * 1024
    conn = _start_upload(limited, declared=200 * megabyte)
    peak = 0

    for _ in range(3 * megabyte // len(block)):
        conn.sendall(block)
        peak = max(peak, _total_size(uploads))
    started = time.monotonic()
    answer = _answer_within(conn, 10)
    waited = time.monotonic() - started
    conn.sendall(bytes(megabyte))
    conn.close()

    assert answer.startswith(b"HTTP/1.1 413"), (answer, waited)
    assert b"larger than the upload limit of 1 MB" in answer
    assert peak <= megabyte + len(block)
    wait_until(lambda: not any(uploads.glob(".upload.*")), timeout=5)
    with limited.client() as client:
        assert client.get("/api/tasks").json()["total"] == 0
