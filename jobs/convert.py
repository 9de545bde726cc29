"""Convert one PNG file into a JPEG file with Pillow, knowing nothing of tasks."""

import contextlib
import functools
import io
import logging
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, ImageChops

from jobs.exceptions import ConversionError
from jobs.lastrow import LastRowMark
from jobs.pngcheck import PngHeader, check_chunks, check_image_data, read_header

logger = logging.getLogger("imageconv." + __name__)

# The format allows 65,535, but libjpeg refuses a side past JPEG_MAX_DIMENSION.
JPEG_MAX_SIDE = 65_500
# Pillow refuses EXIF that does not fit in a single JPEG APP1 marker.
JPEG_MAX_EXIF = 65_533
# Files up to this size are read whole; larger ones are streamed.
IN_MEMORY_BYTES = 8 * 1024 * 1024

_GREY_COLOUR_TYPES = (0, 4)
_ICC_SPACES = {"L": b"GRAY", "RGB": b"RGB "}
# What Pillow raises for file content it cannot parse or decode.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)

Alpha = Image.Image | None
Info = Mapping[str | tuple[int, int], Any]


@dataclass(frozen=True)
class ConvertOptions:
    quality: int = 85
    background: tuple[int, int, int] = (255, 255, 255)
    progressive: bool = False
    keep_metadata: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.quality <= 95:
            raise ValueError(f"quality must be from 1 to 95, not {self.quality}")
        if len(self.background) != 3 or any(not 0 <= c <= 255 for c in self.background):
            raise ValueError(
                f"background must be 3 values 0-255, not {self.background}"
            )


@dataclass(frozen=True)
class ConvertResult:
    width: int
    height: int
    size: int


def _no_check() -> None:
    """Stand in for a cancellation check when the caller has none."""


def convert_png(
    source: Path,
    dest: Path,
    options: ConvertOptions,
    *,
    max_pixels: int,
    check: Callable[[], None] = _no_check,
) -> ConvertResult:
    """Convert the PNG at `source` into a JPEG written at `dest`.

    `check` runs between steps and may raise to abandon the conversion: its
    exception propagates unchanged, and `dest` is then not left behind.
    """
    with _opened(source) as stream:
        header = _validate(stream, max_pixels)
        check()
        colour, alpha, info = _decode(stream, header)
    check()

    image = _flatten(colour, alpha, options.background)
    metadata = _metadata(info, image.mode) if options.keep_metadata else {}
    check()

    _save(image, dest, options, metadata, check)
    return ConvertResult(header.width, header.height, dest.stat().st_size)


def _opened(source: Path) -> BinaryIO:
    # A small file is read whole: the chunk walk and Pillow then read it from
    # memory, not with a system call for every chunk.
    if source.stat().st_size > IN_MEMORY_BYTES:
        return source.open("rb")
    return io.BytesIO(source.read_bytes())


def _validate(stream: BinaryIO, max_pixels: int) -> PngHeader:
    header = read_header(stream)
    _check_size(header, max_pixels)
    check_chunks(stream, header)
    return header


def _check_size(header: PngHeader, max_pixels: int) -> None:
    size = f"{header.width} \N{MULTIPLICATION SIGN} {header.height} pixels"
    if header.pixels > max_pixels:
        message = f"the image is too large: {size}; the limit is {max_pixels:,} pixels"
        raise ConversionError(message, f"{header.pixels:,} pixels > {max_pixels:,}")
    if max(header.width, header.height) > JPEG_MAX_SIDE:
        message = (
            f"the image is too large for JPEG: {size}; "
            f"a JPEG side is at most {JPEG_MAX_SIDE:,} pixels"
        )
        raise ConversionError(message, f"IHDR {header.width}x{header.height}")


def _decode(stream: BinaryIO, header: PngHeader) -> tuple[Image.Image, Alpha, Info]:
    """Decode to 8-bit "L" or "RGB" pixels, an alpha mask, and the PNG's info."""
    image = _load(stream, header)
    colour, alpha = _pixels(image, header, stream)
    return colour, alpha, image.info


def _load(stream: BinaryIO, header: PngHeader) -> Image.Image:
    stream.seek(0)
    try:
        with _reading():
            image = Image.open(stream, formats=["PNG"])
            mark = LastRowMark(image, header)
            image.load()
    except ConversionError as exc:
        # Short or broken image data, which the chunk walk did not inflate,
        # is the likelier cause and the clearer message.
        if not isinstance(exc.__cause__, Image.DecompressionBombError):
            check_image_data(stream, header)
        raise
    if not mark.reached(image):
        check_image_data(stream, header)
    return image


@contextmanager
def _reading() -> Iterator[None]:
    """Turn what Pillow raises for bad content into a ConversionError."""
    try:
        yield
    except Image.DecompressionBombError as exc:
        message = "the image is too large to decode safely"
        raise ConversionError(message, str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise _decode_error(exc) from exc


def _decode_error(exc: Exception) -> ConversionError:
    detail = f"{type(exc).__name__}: {exc}"
    # Pillow 13 refuses compressed text chunks that expand past MAX_TEXT_CHUNK
    # or MAX_TEXT_MEMORY, guarding against decompression bombs.
    if isinstance(exc, ValueError) and "MAX_TEXT" in str(exc):
        message = "the file carries too much embedded text to read safely"
        return ConversionError(message, detail)
    return ConversionError("the image data is damaged and cannot be decoded", detail)


def _pixels(
    image: Image.Image, header: PngHeader, stream: BinaryIO
) -> tuple[Image.Image, Alpha]:
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        # paste() takes an RGBA mask's alpha band: no copy of the colours,
        # nor of the alpha.
        return image, image
    if image.mode == "LA":
        return image.convert(_output_mode(header)), image.getchannel("A")
    if image.mode == "I;16":
        return _grey16(image)
    if image.mode == "RGB" and header.bit_depth == 16:
        return image, _rgb16_mask(image, stream)

    colour = _in_mode(image, _output_mode(header))
    key = _sample_key(image, header)
    return colour, None if key is None else _key_mask(colour.split(), key)


def _output_mode(header: PngHeader) -> str:
    return "L" if header.colour_type in _GREY_COLOUR_TYPES else "RGB"


def _in_mode(image: Image.Image, mode: str) -> Image.Image:
    # convert() to the same mode copies every pixel.
    return image if image.mode == mode else image.convert(mode)


def _sample_key(image: Image.Image, header: PngHeader) -> tuple[int, ...] | None:
    """Return the tRNS colour in the 8-bit scale of the decoded pixels."""
    key = image.info.get("transparency")
    if key is None or isinstance(key, tuple):
        return key
    # Pillow 13 widens 2- and 4-bit grey samples to 8 bits but leaves their
    # tRNS value as stored (1-bit values it widens itself).
    scale = {2: 85, 4: 17}.get(header.bit_depth, 1)
    return (key * scale,)


def _grey16(image: Image.Image) -> tuple[Image.Image, Alpha]:
    key = image.info.get("transparency")
    if key is None:
        return _high_bytes(image), None
    high, low = _split_bytes(image)
    return high, _key_mask((high, low), (key >> 8, key & 0xFF))


def _high_bytes(image: Image.Image) -> Image.Image:
    # Pillow 13 clips "I;16" to 255 when converting to "L". Dividing first
    # (point() truncates) keeps the high byte: v >> 8, the same scaling
    # Pillow's decoder applies to 16-bit colour, so grey and colour agree.
    return image.point(lambda v: v / 256).convert("L")


def _split_bytes(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Split a 16-bit greyscale image into images of its high and low bytes."""
    # Read back as "LA", each little-endian sample puts its low byte in L
    # and its high byte in A.
    pairs = Image.frombytes("LA", image.size, image.tobytes("raw", "I;16"))
    return pairs.getchannel("A"), pairs.getchannel("L")


def _rgb16_mask(image: Image.Image, stream: BinaryIO) -> Alpha:
    key = image.info.get("transparency")
    if key is None:
        return None
    bands = (*image.split(), *_low_bytes(stream).split())
    values = (*(k >> 8 for k in key), *(k & 0xFF for k in key))
    return _key_mask(bands, values)


def _low_bytes(stream: BinaryIO) -> Image.Image:
    """Decode a 16-bit RGB PNG again, keeping the low byte of every sample."""
    stream.seek(0)
    with _reading():
        image = Image.open(stream, formats=["PNG"])
        # Pillow 13 has no 16-bit RGB mode and keeps only the high bytes;
        # unpacking the big-endian samples as little-endian keeps the low ones,
        # which a tRNS colour needs to be matched exactly.
        image.tile = [tile._replace(args="RGB;16L") for tile in image.tile]
        image.load()
    return image


def _key_mask(bands: Sequence[Image.Image], key: Sequence[int]) -> Image.Image:
    """Return an alpha mask, transparent where every band equals its key value."""
    masks = [
        band.point([0 if v == value else 255 for v in range(256)])
        for band, value in zip(bands, key, strict=True)
    ]
    return functools.reduce(ImageChops.lighter, masks)


def _flatten(
    colour: Image.Image, alpha: Alpha, background: tuple[int, int, int]
) -> Image.Image:
    """Composite onto `background`, staying greyscale when the result is grey."""
    if alpha is None or _opaque(alpha):
        return colour
    if colour.mode == "L" and len(set(background)) > 1:
        colour = colour.convert("RGB")

    mode = "L" if colour.mode == "L" else "RGB"
    fill = background[0] if mode == "L" else background
    flat = Image.new(mode, colour.size, fill)
    flat.paste(colour, mask=alpha)
    return flat


def _opaque(mask: Image.Image) -> bool:
    # An RGBA mask is flattened unscanned: reading its alpha would copy the
    # band, and an opaque one flattens to the same pixels anyway.
    return mask.mode == "L" and mask.getextrema() == (255, 255)


def _metadata(info: Info, mode: str) -> dict[str, bytes]:
    """Pick the ICC profile and EXIF that can travel into a JPEG of `mode`."""
    carried = {}
    if icc := _icc_profile(info, mode):
        carried["icc_profile"] = icc
    if exif := _exif(info):
        carried["exif"] = exif
    return carried


def _icc_profile(info: Info, mode: str) -> bytes | None:
    profile: bytes | None = info.get("icc_profile")
    if not profile:
        return None
    # A profile for another colour space would misdescribe the pixels, as
    # when a grey image is flattened onto a coloured background.
    space = profile[16:20]
    if space != _ICC_SPACES[mode]:
        logger.warning("ICC profile for %r dropped: the JPEG is %s", space, mode)
        return None
    return profile


def _exif(info: Info) -> bytes | None:
    exif: bytes | None = info.get("exif")
    if exif and len(exif) > JPEG_MAX_EXIF:
        logger.warning(
            "EXIF of %d bytes dropped: a JPEG holds %d", len(exif), JPEG_MAX_EXIF
        )
        return None
    return exif


def _save(
    image: Image.Image,
    dest: Path,
    options: ConvertOptions,
    metadata: dict[str, bytes],
    check: Callable[[], None],
) -> None:
    # Chroma subsampling smears coloured edges, which PNGs (screenshots, line
    # art, text) are full of. From quality 90 up the person asked for
    # fidelity, so keep every chroma sample (4:4:4); below, the usual 4:2:0
    # trades that for a smaller file, as the lower quality already does.
    subsampling = 0 if options.quality >= 90 else 2
    check()
    try:
        image.save(
            dest,
            "JPEG",
            quality=options.quality,
            progressive=options.progressive,
            subsampling=subsampling,
            **metadata,
        )
        check()
    except BaseException:
        # On a read-only or failing disk the partial file may not go either;
        # the save's own error is the one to report.
        with contextlib.suppress(OSError):
            dest.unlink(missing_ok=True)
        raise
