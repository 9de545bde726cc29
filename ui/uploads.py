"""Read a multipart upload as it streams in, straight to files under data/."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from models.files import describe_storage_error, remove, temp_upload_path

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 1024
MAX_PARTS = 10_000


class UploadError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def storage_failure(exc: OSError) -> UploadError:
    """The answer when the server cannot store an upload: 507, saying why."""
    return UploadError(507, f"upload not stored: {describe_storage_error(exc)}")


@dataclass
class ReceivedFile:
    filename: str
    path: Path
    size: int = 0


@dataclass
class Upload:
    files: list[ReceivedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        for received in self.files:
            remove(received.path)


@dataclass
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    name: str = ""
    file: ReceivedFile | None = None
    sink: BinaryIO | None = None
    value: bytearray = field(default_factory=bytearray)


class _Receiver:
    """Callbacks for the parser: one part at a time, files written as they come."""

    def __init__(self, file_field: str, max_file_bytes: int) -> None:
        self.file_field = file_field
        self.max_file_bytes = max_file_bytes
        self.upload = Upload()
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.parts = 0

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadError(413, f"too many parts: at most {MAX_PARTS} per upload")
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = bytes(self.header_field).decode("latin-1").lower()
        self.part.headers[name] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.part.headers.get("content-disposition"))
        self.part.name = params.get(b"name", b"").decode("utf-8", "replace")
        if self.part.name != self.file_field:
            return
        raw_name = params.get(b"filename", b"")
        filename = raw_name.decode("utf-8", "replace")
        self.part.file = ReceivedFile(filename, temp_upload_path())
        self.upload.files.append(self.part.file)
        try:
            self.part.sink = self.part.file.path.open("wb")
        except OSError as exc:
            raise storage_failure(exc) from exc

    def _write(self, chunk: bytes) -> None:
        assert self.part.sink is not None
        try:
            self.part.sink.write(chunk)
        except OSError as exc:
            raise storage_failure(exc) from exc

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part.file is None:
            self._add_field_data(chunk)
            return
        self.part.file.size += len(chunk)
        if self.part.file.size > self.max_file_bytes:
            limit_mb = self.max_file_bytes / (1024 * 1024)
            raise UploadError(
                413,
                f"{self.part.file.filename or 'a file'} is larger than the "
                f"upload limit of {limit_mb:g} MB",
            )
        self._write(chunk)

    def _add_field_data(self, chunk: bytes) -> None:
        self.part.value += chunk
        if len(self.part.value) > MAX_FIELD_BYTES:
            raise UploadError(413, f"form field {self.part.name!r} is too long")

    def on_part_end(self) -> None:
        if self.part.sink is not None:
            sink, self.part.sink = self.part.sink, None
            try:
                sink.close()
            except OSError as exc:
                raise storage_failure(exc) from exc
        elif self.part.name:
            self.upload.fields[self.part.name] = self.part.value.decode("utf-8")

    def close(self) -> None:
        """Let go of the file being written, after a failure."""
        if self.part.sink is not None:
            with contextlib.suppress(OSError):
                self.part.sink.close()
            self.part.sink = None


async def receive(
    content_type: str | None,
    body: AsyncIterator[bytes],
    *,
    file_field: str,
    max_file_bytes: int,
) -> Upload:
    """Stream a multipart body to temporary files; refuse a file past the limit."""
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadError(415, "send the files as multipart/form-data")
    receiver = _Receiver(file_field, max_file_bytes)
    parser = MultipartParser(boundary, _callbacks(receiver))
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except (UploadError, MultipartParseError, UnicodeDecodeError) as exc:
        # Answer at once, without reading the rest: uvicorn (0.55) discards the
        # body left after a response and keeps reading, so a client still
        # sending gets the answer, not a reset.
        receiver.close()
        receiver.upload.discard()
        if isinstance(exc, UploadError):
            raise
        raise UploadError(400, f"the multipart body is malformed: {exc}") from exc
    receiver.close()
    return receiver.upload


def _callbacks(receiver: _Receiver) -> "MultipartCallbacks":
    return {
        "on_part_begin": receiver.on_part_begin,
        "on_header_field": receiver.on_header_field,
        "on_header_value": receiver.on_header_value,
        "on_header_end": receiver.on_header_end,
        "on_headers_finished": receiver.on_headers_finished,
        "on_part_data": receiver.on_part_data,
        "on_part_end": receiver.on_part_end,
    }
