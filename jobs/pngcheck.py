"""Check a PNG file's structure, chunk by chunk, before any pixel is decoded.

Pillow 13 verifies checksums only for the chunks before the first IDAT and
decodes lazily, so damage later in a file would come out as garbage pixels
or as an obscure decoder error. Walking every chunk first turns each kind of
damage into a message a person can act on.

Reading and checksumming the file costs a few percent of decoding it, but
inflating the image data costs nearly half, so that is a separate check for
when the decoder's own pass leaves a doubt.
"""

import io
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from typing import BinaryIO, cast

from jobs.exceptions import ConversionError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNK_LENGTH = 2**31 - 1
KNOWN_CRITICAL = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})

_SNIFF_SIZE = 512
# Where the chunk after IHDR starts: the signature, then IHDR's 25 bytes.
FIRST_CHUNK_AT = len(SIGNATURE) + 25
# Chunk data is read into a buffer each thread keeps: a fresh one per file
# would cost more to zero than a small file costs to checksum.
_READ_SIZE = 1024 * 1024
_buffers = threading.local()
_BLOCK_SIZE = 64 * 1024

# Allowed bit depths for each colour type (PNG specification, table 11.1).
_BIT_DEPTHS = {
    0: (1, 2, 4, 8, 16),
    2: (8, 16),
    3: (1, 2, 4, 8),
    4: (8, 16),
    6: (8, 16),
}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Each Adam7 pass as (first column, first row, column step, row step).
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
_COLOUR_NAMES = {
    0: "greyscale",
    2: "RGB",
    3: "palette",
    4: "greyscale-with-alpha",
    6: "RGB-with-alpha",
}

# Formats people most often mistake for PNG, by the bytes they start with.
_OTHER_FORMATS = tuple(
    (re.compile(pattern, re.DOTALL), name)
    for pattern, name in (
        (rb"\xff\xd8\xff", "a JPEG image"),
        (rb"GIF8[79]a", "a GIF image"),
        (rb"RIFF.{4}WEBP", "a WebP image"),
        (rb"BM.{4}\x00\x00\x00\x00", "a BMP image"),
        (rb"II\*\x00|MM\x00\*", "a TIFF image"),
        (rb"%PDF-", "a PDF document"),
        (rb"PK\x03\x04|PK\x05\x06", "a ZIP archive"),
        (rb".{4}ftyp(heic|heix|mif1)", "a HEIC image"),
        (rb".{4}ftypavi[fs]", "an AVIF image"),
        (rb"\x8aMNG\r\n\x1a\n", "an MNG animation"),
        (rb"(?i)\s*<(!doctype html|html)", "a web page"),
        (rb"(?i)\s*(<\?xml[^>]*>\s*)?<svg", "an SVG drawing"),
    )
)


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlaced: bool

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_header(stream: BinaryIO) -> PngHeader:
    """Check the signature and the IHDR chunk, leaving `stream` just after it."""
    head = stream.read(_SNIFF_SIZE)
    _check_signature(head)

    stream.seek(len(SIGNATURE))
    length, name = _read_chunk_start(stream)
    if name != b"IHDR" or length != 13:
        detail = f"first chunk is {_show(name)} of {length} bytes, expected IHDR of 13"
        raise ConversionError("the file is damaged: its PNG header is missing", detail)
    data = _read_chunk_data(stream, name, length)
    return _parse_ihdr(data)


def check_chunks(stream: BinaryIO, header: PngHeader) -> None:
    """Walk the chunks after IHDR up to IEND, verifying lengths and checksums."""
    _walk(stream, header, None)


def check_image_data(stream: BinaryIO, header: PngHeader) -> None:
    """Inflate the image data without keeping it; raise if it is broken or short.

    Pillow silently fills in rows that a short data stream leaves out; ask
    here when it is not known that every row was decoded. The chunks are
    walked again, from the one after IHDR.
    """
    stream.seek(FIRST_CHUNK_AT)
    pixels = _PixelData(_raw_size(header))
    _walk(stream, header, pixels)
    pixels.verify()


def _walk(stream: BinaryIO, header: PngHeader, pixels: "_PixelData | None") -> None:
    buffer = _read_buffer()
    seen: set[bytes] = set()
    while (name := _check_next_chunk(stream, buffer, pixels)) != b"IEND":
        if _is_critical(name):
            seen.add(name)

    if b"IDAT" not in seen:
        raise ConversionError("the file has no image data", "no IDAT chunk")
    if header.colour_type == 3 and b"PLTE" not in seen:
        detail = "colour type 3 without a PLTE chunk"
        raise ConversionError(
            "the file is damaged: its colour palette is missing", detail
        )


class _PixelData:
    """Inflate the IDAT stream as it passes, counting the bytes it yields."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.inflated = 0
        self.error: zlib.error | None = None
        self._inflater = zlib.decompressobj()

    def feed(self, block: bytes | memoryview) -> None:
        # An error is kept for verify() so that a checksum failure, found
        # only at the end of the chunk, is reported first as the real cause.
        try:
            while block and self._wants_more():
                inflated = self._inflater.decompress(block, _BLOCK_SIZE)
                self.inflated += len(inflated)
                block = self._inflater.unconsumed_tail
        except zlib.error as exc:
            self.error = exc

    def verify(self) -> None:
        if self.error:
            message = "the file is damaged: its image data cannot be unpacked"
            raise ConversionError(message, f"IDAT stream: {self.error}")
        if self.inflated < self.expected:
            detail = f"IDAT stream holds {self.inflated} of {self.expected} bytes"
            raise ConversionError(
                "the file is damaged: it holds too little image data", detail
            )

    def _wants_more(self) -> bool:
        # Bytes past the expected count are ignored, as decoders do, and
        # never inflated, so a compressed bomb costs nothing.
        done = self._inflater.eof or self.inflated >= self.expected
        return not done and self.error is None


def _raw_size(header: PngHeader) -> int:
    """Return how many bytes of filtered rows the image data must inflate to."""
    if not header.interlaced:
        return _rows_size(header, header.width, header.height)
    return sum(
        _rows_size(
            header,
            (header.width - x + dx - 1) // dx,
            (header.height - y + dy - 1) // dy,
        )
        for x, y, dx, dy in _ADAM7
    )


def _rows_size(header: PngHeader, width: int, height: int) -> int:
    if not width or not height:
        return 0
    bits = width * header.bit_depth * _CHANNELS[header.colour_type]
    return height * (1 + (bits + 7) // 8)


def _check_signature(head: bytes) -> None:
    if head.startswith(SIGNATURE):
        return
    if not head:
        raise ConversionError("the file is empty", "0 bytes")
    detail = f"starts with {head[:8].hex(' ')}; a PNG starts with {SIGNATURE.hex(' ')}"
    if SIGNATURE.startswith(head):
        raise _cut_short(f"only {len(head)} bytes")
    if kind := _other_format(head):
        raise ConversionError(f"not a PNG: the file is {kind}", detail)
    if _line_endings_converted(head):
        message = (
            "the file is damaged: its line endings were converted, as happens when "
            "it is copied in text mode; copy it again in binary mode"
        )
        raise ConversionError(message, detail)
    if _resembles_signature(head):
        raise ConversionError("the file is damaged: its PNG signature is wrong", detail)
    if _looks_like_text(head):
        raise ConversionError("not a PNG: the file is plain text", detail)
    raise ConversionError("not a PNG: the file format is not recognised", detail)


def _other_format(head: bytes) -> str | None:
    for pattern, name in _OTHER_FORMATS:
        if pattern.match(head):
            return name
    return None


def _line_endings_converted(head: bytes) -> bool:
    # The signature holds CR-LF, a lone LF and a Ctrl-Z so that each kind of
    # newline translation leaves its own mark right after "PNG".
    if head[1:4] != b"PNG" or head[4:8] == SIGNATURE[4:8]:
        return False
    rest = head[4:].lstrip(b"\r\n")
    return rest[:1] == b"\x1a" and rest[1:2] in (b"\r", b"\n")


def _resembles_signature(head: bytes) -> bool:
    differences = sum(a != b for a, b in zip(head, SIGNATURE, strict=False))
    return head[1:4] == b"PNG" or differences <= 2


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end in the middle of a multi-byte character.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    return bool(text) and all(c.isprintable() or c in "\t\n\r\f" for c in text)


def _parse_ihdr(data: bytes) -> PngHeader:
    width, height, depth, colour, compression, filter_, interlace = struct.unpack(
        ">IIBBBBB", data
    )
    detail = (
        f"IHDR: {width}x{height}, bit depth {depth}, colour type {colour}, "
        f"compression {compression}, filter {filter_}, interlace {interlace}"
    )
    if not 0 < width <= MAX_CHUNK_LENGTH or not 0 < height <= MAX_CHUNK_LENGTH:
        raise _bad_header("its width or height is out of range", detail)
    if colour not in _BIT_DEPTHS:
        raise _bad_header(f"colour type {colour} does not exist", detail)
    if depth not in _BIT_DEPTHS[colour]:
        kind = _COLOUR_NAMES[colour]
        raise _bad_header(f"bit depth {depth} is not allowed for {kind}", detail)
    if compression or filter_ or interlace > 1:
        raise _bad_header("it names an unknown compression or filter method", detail)
    return PngHeader(width, height, depth, colour, interlace == 1)


def _check_next_chunk(
    stream: BinaryIO, buffer: memoryview, pixels: _PixelData | None
) -> bytes:
    offset = stream.tell()
    length, name = _read_chunk_start(stream)
    if _is_critical(name) and name not in KNOWN_CRITICAL:
        message = "the file uses a PNG extension this converter does not support"
        raise ConversionError(message, f"unknown critical chunk {_show(name)}")
    if name == b"IHDR":
        # Pillow would take the last header's size, unchecked.
        message = "the file is damaged: it has more than one PNG header"
        raise ConversionError(message, f"another IHDR chunk at byte {offset}")

    crc = zlib.crc32(name)
    inflating = pixels if name == b"IDAT" else None
    remaining = length
    while remaining:
        count = _read_into(stream, buffer[: min(remaining, len(buffer))])
        if not count:
            raise _cut_short(f"ends inside chunk {_show(name)} at byte {offset}")
        crc = zlib.crc32(buffer[:count], crc)
        remaining -= count
        if inflating is not None:
            inflating.feed(buffer[:count])
    _verify_crc(stream, name, crc)
    return name


def _read_buffer() -> memoryview:
    buffer: memoryview | None = getattr(_buffers, "view", None)
    if buffer is None:
        buffer = _buffers.view = memoryview(bytearray(_READ_SIZE))
    return buffer


def _read_into(stream: BinaryIO, buffer: memoryview) -> int:
    # typing.BinaryIO declares no readinto(), which every binary file has.
    return cast(io.BufferedIOBase, stream).readinto(buffer)


def _read_chunk_start(stream: BinaryIO) -> tuple[int, bytes]:
    offset = stream.tell()
    start = stream.read(8)
    if len(start) < 8:
        raise _cut_short(f"ends at byte {offset + len(start)}, before the IEND chunk")

    length, name = struct.unpack(">I4s", start)
    if length > MAX_CHUNK_LENGTH or not name.isalpha():
        detail = f"chunk {_show(name)} of {length} bytes at byte {offset}"
        raise ConversionError("the file is damaged: a chunk is unreadable", detail)
    return length, name


def _read_chunk_data(stream: BinaryIO, name: bytes, length: int) -> bytes:
    data = stream.read(length)
    if len(data) < length:
        raise _cut_short(f"ends inside chunk {_show(name)}")
    _verify_crc(stream, name, zlib.crc32(data, zlib.crc32(name)))
    return data


def _verify_crc(stream: BinaryIO, name: bytes, computed: int) -> None:
    stored = stream.read(4)
    if len(stored) < 4:
        raise _cut_short(f"ends inside the checksum of chunk {_show(name)}")
    if int.from_bytes(stored, "big") != computed:
        detail = (
            f"chunk {_show(name)}: stored CRC {stored.hex()}, computed {computed:08x}"
        )
        message = "the file is damaged: a checksum does not match its contents"
        raise ConversionError(message, detail)


def _bad_header(reason: str, detail: str) -> ConversionError:
    return ConversionError(
        f"the file is damaged: its PNG header is invalid; {reason}", detail
    )


def _cut_short(detail: str) -> ConversionError:
    message = "the file is incomplete: it ends early, as an unfinished copy does"
    return ConversionError(message, detail)


def _is_critical(name: bytes) -> bool:
    # An upper-case first letter marks a chunk a decoder must understand.
    return not name[0] & 0x20


def _show(name: bytes) -> str:
    return name.decode("ascii", "backslashreplace")
