"""Tests for the PNG to JPEG conversion: PngSuite, crafted faults, options."""

import io
import itertools
import json
import pickle
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, JpegImagePlugin, PngImagePlugin

from jobs.convert import ConvertOptions, ConvertResult, convert_png
from jobs.exceptions import ConversionError

SUITE = Path(__file__).resolve().parents[2] / "shared" / "pngsuite"
VALID = sorted(p.name for p in (SUITE / "png").glob("[!x]*.png"))
BROKEN = sorted(p.name for p in (SUITE / "png").glob("x*.png"))

MAX_PIXELS = 89_478_485
WHITE = (255, 255, 255)
ORANGE = (255, 128, 0)
SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Mean absolute error per channel, in 8-bit levels, between the JPEG at
# quality 95 and the PngSuite reference flattened the same way. The worst
# measured is 4.04 (s05n3p02: 5 x 5 pixels of saturated stripes, where JPEG's
# 8 x 8 blocks smear most); the median is under 1. Clipping 16-bit samples,
# ignoring a tRNS colour or skipping the flatten each cost over 40 levels on
# the files they touch, so 6 leaves room for encoder builds yet fails them.
TOLERANCE = 6.0

# Key words each broken PngSuite file's message must hold.
BROKEN_REASONS = {
    "xc1n0g08.png": ("header", "colour type 1"),
    "xc9n2c08.png": ("header", "colour type 9"),
    "xcrn0g04.png": ("line endings", "text mode"),
    "xcsn0g01.png": ("damaged", "checksum"),
    "xd0n2c08.png": ("header", "bit depth 0"),
    "xd3n2c08.png": ("header", "bit depth 3"),
    "xd9n2c08.png": ("header", "bit depth 99"),
    "xdtn0g01.png": ("no image data",),
    "xhdn0g08.png": ("damaged", "checksum"),
    "xlfn0g04.png": ("line endings", "text mode"),
    "xs1n0g01.png": ("damaged", "signature"),
    "xs2n0g01.png": ("damaged", "signature"),
    "xs4n0g01.png": ("damaged", "signature"),
    "xs7n0g01.png": ("damaged", "signature"),
}


class Cancelled(Exception):
    """Raised by a test's check function, as the worker does to cancel."""


# Building PNG files by hand, for faults Pillow will not write.


def _chunk(name: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(name + data)
    return struct.pack(">I", len(data)) + name + data + struct.pack(">I", crc)


def _ihdr(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return _chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    )


def _idat(rows: Sequence[bytes]) -> bytes:
    return _chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + row for row in rows)))


def _png(*chunks: bytes) -> bytes:
    return SIGNATURE + b"".join(chunks) + _chunk(b"IEND", b"")


def _noise_rows(width: int, height: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(width * 3) for _ in range(height)]


def _flip_crc(data: bytes, name: bytes) -> bytes:
    start = data.index(name)
    length = int.from_bytes(data[start - 4 : start], "big")
    crc = start + 4 + length
    return data[:crc] + bytes([data[crc] ^ 0xFF]) + data[crc + 1 :]


def _saved(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("picture.png", b"not really")
    return buffer.getvalue()


# Running the conversion.


def _convert(
    tmp_path: Path,
    content: bytes,
    options: ConvertOptions | None = None,
    max_pixels: int = MAX_PIXELS,
) -> tuple[ConvertResult, Image.Image]:
    source = tmp_path / "in.png"
    source.write_bytes(content)
    dest = tmp_path / "out.jpg"
    options = options or ConvertOptions()
    result = convert_png(source, dest, options, max_pixels=max_pixels)
    with Image.open(dest) as jpeg:
        jpeg.load()
    return result, jpeg


def _refusal(tmp_path: Path, content: bytes, max_pixels: int = MAX_PIXELS) -> str:
    source = tmp_path / "in.png"
    source.write_bytes(content)
    dest = tmp_path / "out.jpg"
    with pytest.raises(ConversionError) as caught:
        convert_png(source, dest, ConvertOptions(), max_pixels=max_pixels)
    assert not dest.exists()
    assert caught.value.detail
    return caught.value.message


def _reference(name: str, background: tuple[int, int, int]) -> list[float]:
    """Return PngSuite's reference pixels flattened onto `background`, as RGB."""
    stem = name.removesuffix(".png")
    path = SUITE / "json" / f"{stem}_to8.json"
    if not path.exists():
        path = SUITE / "json" / f"{stem}.json"
    samples = json.loads(path.read_text())
    # A 16-bit file without a _to8 variant has its reference in 16 bits.
    top = 65535 if stem.endswith("16") and "_to8" not in path.name else 255

    flat: list[float] = []
    for start in range(0, len(samples), 4):
        opacity = samples[start + 3] / top
        for value, under in zip(samples[start : start + 3], background, strict=True):
            flat.append(value / top * 255 * opacity + under * (1 - opacity))
    return flat


def _rgb_at(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    pixel = image.convert("RGB").getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel


def _near(pixel: Sequence[int], expected: Sequence[int], within: int = 3) -> bool:
    return all(abs(a - b) <= within for a, b in zip(pixel, expected, strict=True))


def _channel_errors(image: Image.Image, expected: Sequence[float]) -> list[float]:
    got = image.convert("RGB").tobytes()
    pixels = len(got) // 3
    return [
        sum(abs(got[i] - expected[i]) for i in range(c, len(got), 3)) / pixels
        for c in range(3)
    ]


def test_pngsuite_is_present() -> None:
    assert len(VALID) == 161
    assert sorted(BROKEN_REASONS) == BROKEN


# The reference JSON holds the raw samples with no gamma applied (g03n2c08
# and g25n2c08 have identical references), and the converter too carries
# samples unchanged, as a JPEG has no place for gAMA; so they compare as is.
@pytest.mark.parametrize("background", [WHITE, ORANGE], ids=["white", "orange"])
@pytest.mark.parametrize("name", VALID)
def test_pngsuite_image_converts_like_its_reference(
    tmp_path: Path, name: str, background: tuple[int, int, int]
) -> None:
    content = (SUITE / "png" / name).read_bytes()
    options = ConvertOptions(quality=95, background=background)

    result, jpeg = _convert(tmp_path, content, options)

    with Image.open(SUITE / "png" / name) as png:
        assert (result.width, result.height) == png.size == jpeg.size
    assert result.size == (tmp_path / "out.jpg").stat().st_size
    assert max(_channel_errors(jpeg, _reference(name, background))) <= TOLERANCE


@pytest.mark.parametrize("name", BROKEN)
def test_broken_pngsuite_file_is_refused_with_its_reason(
    tmp_path: Path, name: str
) -> None:
    message = _refusal(tmp_path, (SUITE / "png" / name).read_bytes())

    for word in BROKEN_REASONS[name]:
        assert word in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(_saved(Image.new("RGB", (4, 4)), "JPEG"), "a JPEG", id="jpeg"),
        pytest.param(_saved(Image.new("RGB", (4, 4)), "GIF"), "a GIF", id="gif"),
        pytest.param(_saved(Image.new("RGB", (4, 4)), "WEBP"), "a WebP", id="webp"),
        pytest.param(_saved(Image.new("RGB", (4, 4)), "BMP"), "a BMP", id="bmp"),
        pytest.param(_saved(Image.new("RGB", (4, 4)), "TIFF"), "a TIFF", id="tiff"),
        pytest.param(_saved(Image.new("RGB", (4, 4)), "PDF"), "a PDF", id="pdf"),
        pytest.param(_zip_bytes(), "a ZIP", id="zip"),
        pytest.param("Grüße, a note\n".encode(), "plain text", id="text"),
        pytest.param(b"<!DOCTYPE html>\n<html>", "a web page", id="html"),
        pytest.param(b'<?xml version="1.0"?>\n<svg/>', "an SVG", id="svg"),
        pytest.param(b"\x00\x01\x02\x03" * 64, "not recognised", id="binary"),
        pytest.param(SIGNATURE[:5], "incomplete", id="signature-only"),
    ],
)
def test_content_that_is_not_png_is_named(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    message = _refusal(tmp_path, content)

    assert expected in message
    if content:
        assert message.startswith(("not a PNG", "the file is incomplete"))


VALID_NOISE = _png(_ihdr(64, 64), _idat(_noise_rows(64, 64)))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            VALID_NOISE[: len(VALID_NOISE) // 2], "incomplete", id="cut-in-idat"
        ),
        pytest.param(VALID_NOISE[:-12], "incomplete", id="no-iend"),
        pytest.param(_flip_crc(VALID_NOISE, b"IDAT"), "checksum", id="idat-crc"),
        pytest.param(
            _png(_chunk(b"gAMA", b"\x00\x00\xb1\x8f"), _ihdr(8, 8)),
            "header is missing",
            id="no-ihdr",
        ),
        pytest.param(
            _png(_ihdr(8, 8, colour=3), _idat([b"\x00" * 8] * 8)),
            "palette is missing",
            id="no-plte",
        ),
        pytest.param(
            _png(_ihdr(8, 8), _chunk(b"ABCD", b""), _idat([b"\x00" * 24] * 8)),
            "extension",
            id="unknown-critical-chunk",
        ),
        pytest.param(
            _png(_ihdr(8, 8), _chunk(b"IDAT", b"no zlib stream here")),
            "image data cannot be unpacked",
            id="idat-not-zlib",
        ),
        pytest.param(
            _png(_ihdr(8, 8), _idat([b"\x00" * 24] * 3)),
            "too little image data",
            id="idat-short",
        ),
        pytest.param(
            _png(_ihdr(8, 8), _chunk(b"IDAT", zlib.compress(b"\x05" * 200))),
            "cannot be decoded",
            id="unknown-row-filter",
        ),
    ],
)
def test_damaged_png_is_refused_with_its_reason(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    assert expected in _refusal(tmp_path, content)


def test_huge_dimensions_are_refused_from_the_header(tmp_path: Path) -> None:
    content = _png(_ihdr(100_000, 100_000), _idat([b"\x00" * 3]))

    message = _refusal(tmp_path, content)

    assert len(content) < 100
    assert message == (
        "the image is too large: 100000 \N{MULTIPLICATION SIGN} 100000 pixels; "
        "the limit is 89,478,485 pixels"
    )


def test_image_of_exactly_max_pixels_converts(tmp_path: Path) -> None:
    content = _saved(Image.new("RGB", (8, 8), "red"))

    result, _ = _convert(tmp_path, content, max_pixels=64)

    assert (result.width, result.height) == (8, 8)


def test_image_over_max_pixels_is_refused(tmp_path: Path) -> None:
    content = _saved(Image.new("RGB", (8, 8), "red"))

    message = _refusal(tmp_path, content, max_pixels=63)

    assert message.endswith("the limit is 63 pixels")


def test_side_longer_than_jpeg_allows_is_refused(tmp_path: Path) -> None:
    content = _png(_ihdr(70_000, 1), _idat([b"\x00" * 3 * 70_000]))

    assert "too large for JPEG" in _refusal(tmp_path, content)


@pytest.mark.parametrize("name", [b"zTXt", b"iTXt"])
@pytest.mark.parametrize("before_idat", [True, False], ids=["before", "after"])
def test_giant_compressed_text_is_refused(
    tmp_path: Path, name: bytes, before_idat: bool
) -> None:
    expanded = zlib.compress(b"a" * (PngImagePlugin.MAX_TEXT_CHUNK + 1))
    header = b"Comment\x00\x00" if name == b"zTXt" else b"Comment\x00\x01\x00\x00\x00"
    text = _chunk(name, header + expanded)
    pixels = _idat([b"\x00" * 24] * 8)
    chunks = (text, pixels) if before_idat else (pixels, text)

    message = _refusal(tmp_path, _png(_ihdr(8, 8), *chunks))

    assert "too much embedded text" in message


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    rows = [struct.pack(">8H", *[0x8000] * 8)] * 8
    content = _png(_ihdr(8, 8, depth=16, colour=0), _idat(rows))

    _, jpeg = _convert(tmp_path, content)

    assert jpeg.mode == "L"
    assert _near(_rgb_at(jpeg, 4, 4), (128, 128, 128), within=1)


@pytest.mark.parametrize(("colour", "channels"), [(0, 1), (2, 3)], ids=["grey", "rgb"])
def test_sixteen_bit_transparent_colour_is_matched_exactly(
    tmp_path: Path, colour: int, channels: int
) -> None:
    # The left half holds the tRNS colour; the right half differs from it only
    # in the low byte of each sample, so it must stay opaque.
    key = struct.pack(f">{channels}H", *[0x1234] * channels)
    near = struct.pack(f">{channels}H", *[0x1235] * channels)
    rows = [key * 4 + near * 4] * 8
    trns = _chunk(b"tRNS", key)
    content = _png(_ihdr(8, 8, depth=16, colour=colour), trns, _idat(rows))
    options = ConvertOptions(quality=95, background=ORANGE)

    _, jpeg = _convert(tmp_path, content, options)

    assert _near(_rgb_at(jpeg, 1, 4), ORANGE)
    assert _near(_rgb_at(jpeg, 6, 4), (0x12, 0x12, 0x12))


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(description: str) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = description  # ImageDescription
    return exif


def test_icc_profile_and_exif_are_carried(tmp_path: Path) -> None:
    profile = _srgb_profile()
    image = Image.new("RGB", (8, 8), "teal")
    content = _saved(image, icc_profile=profile, exif=_exif("a teal square"))

    _, jpeg = _convert(tmp_path, content)

    assert jpeg.info["icc_profile"] == profile
    assert jpeg.getexif()[0x010E] == "a teal square"


def test_metadata_is_dropped_when_not_kept(tmp_path: Path) -> None:
    image = Image.new("RGB", (8, 8), "teal")
    content = _saved(image, icc_profile=_srgb_profile(), exif=_exif("a teal square"))

    _, jpeg = _convert(tmp_path, content, ConvertOptions(keep_metadata=False))

    assert "icc_profile" not in jpeg.info
    assert not jpeg.getexif()


@pytest.mark.parametrize(
    ("background", "mode", "carried"),
    [(WHITE, "L", False), (ORANGE, "RGB", True)],
    ids=["grey-result", "colour-result"],
)
def test_rgb_profile_is_carried_only_into_a_colour_jpeg(
    tmp_path: Path, background: tuple[int, int, int], mode: str, carried: bool
) -> None:
    image = Image.new("LA", (8, 8), (100, 128))
    content = _saved(image, icc_profile=_srgb_profile())

    _, jpeg = _convert(tmp_path, content, ConvertOptions(background=background))

    assert jpeg.mode == mode
    assert ("icc_profile" in jpeg.info) is carried


@pytest.mark.parametrize("progressive", [True, False])
def test_progressive_option_is_honoured(tmp_path: Path, progressive: bool) -> None:
    content = _saved(Image.new("RGB", (16, 16), "navy"))

    _, jpeg = _convert(tmp_path, content, ConvertOptions(progressive=progressive))

    assert bool(jpeg.info.get("progressive")) is progressive


def test_lower_quality_gives_a_smaller_file(tmp_path: Path) -> None:
    content = _png(_ihdr(64, 64), _idat(_noise_rows(64, 64)))

    low, _ = _convert(tmp_path, content, ConvertOptions(quality=30))
    high, _ = _convert(tmp_path, content, ConvertOptions(quality=95))

    assert low.size < high.size / 2


@pytest.mark.parametrize(("quality", "sampling"), [(89, 2), (90, 0)])
def test_chroma_is_kept_whole_from_quality_90(
    tmp_path: Path, quality: int, sampling: int
) -> None:
    content = _saved(Image.new("RGB", (16, 16), "maroon"))

    _, jpeg = _convert(tmp_path, content, ConvertOptions(quality=quality))

    assert isinstance(jpeg, JpegImagePlugin.JpegImageFile)
    assert JpegImagePlugin.get_sampling(jpeg) == sampling


@pytest.mark.parametrize("default_in_animation", [True, False])
def test_animated_png_gives_its_default_image(
    tmp_path: Path, default_in_animation: bool
) -> None:
    red, green, blue = (Image.new("RGB", (8, 8), c) for c in ("red", "lime", "blue"))
    content = _saved(
        red,
        save_all=True,
        append_images=[green, blue],
        default_image=not default_in_animation,
    )

    _, jpeg = _convert(tmp_path, content)

    assert _near(_rgb_at(jpeg, 4, 4), (255, 0, 0))


def _cancel_on_call(number: int) -> Callable[[], None]:
    calls = itertools.count(1)

    def check() -> None:
        if next(calls) == number:
            raise Cancelled

    return check


# The check runs after validation, after decoding, after flattening, and
# before and after saving; raising at any of them must leave no JPEG.
@pytest.mark.parametrize("number", range(1, 6))
def test_raising_check_stops_and_leaves_no_output(tmp_path: Path, number: int) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(VALID_NOISE)
    dest = tmp_path / "out.jpg"

    with pytest.raises(Cancelled):
        convert_png(
            source,
            dest,
            ConvertOptions(),
            max_pixels=MAX_PIXELS,
            check=_cancel_on_call(number),
        )

    assert not dest.exists()


@pytest.mark.parametrize(
    "options",
    [
        {"quality": 0},
        {"quality": 96},
        {"background": (256, 0, 0)},
        {"background": (-1, 0, 0)},
    ],
)
def test_options_out_of_range_are_rejected(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ConvertOptions(**options)  # type: ignore[arg-type]


def test_conversion_error_keeps_its_detail_across_processes() -> None:
    error = ConversionError("not a PNG: the file is a GIF image", "starts with GIF89a")

    copy = pickle.loads(pickle.dumps(error))

    assert (str(copy), copy.message, copy.detail) == (
        "not a PNG: the file is a GIF image",
        "not a PNG: the file is a GIF image",
        "starts with GIF89a",
    )


def _chunks(content: bytes) -> list[tuple[bytes, bytes]]:
    chunks, at = [], len(SIGNATURE)
    while at < len(content):
        (length,) = struct.unpack(">I", content[at : at + 4])
        chunks.append((content[at + 4 : at + 8], content[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


FUZZ_BASES = [
    _chunks((SUITE / "png" / name).read_bytes())
    for name in ("basi6a16.png", "tbbn2c16.png", "basn3p04.png", "tbbn0g04.png")
    if (SUITE / "png" / name).exists()
]


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(FUZZ_BASES),
    target=st.integers(min_value=0),
    offset=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    cut=st.integers(min_value=0) | st.none(),
)
def test_any_damage_gives_a_jpeg_or_a_conversion_error(
    tmp_path_factory: pytest.TempPathFactory,
    base: list[tuple[bytes, bytes]],
    target: int,
    offset: int,
    value: int,
    cut: int | None,
) -> None:
    # Checksums are recomputed after the change, so that the damage reaches
    # Pillow's decoder instead of stopping at the chunk walk.
    chunks = list(base)
    name, data = chunks[target % len(chunks)]
    if data:
        at = offset % len(data)
        data = data[:at] + bytes([value]) + data[at + 1 :]
    chunks[target % len(chunks)] = (name, data)
    content = SIGNATURE + b"".join(_chunk(n, d) for n, d in chunks)
    if cut is not None:
        content = content[: cut % len(content)]
    folder = tmp_path_factory.mktemp("fuzz")
    source, dest = folder / "in.png", folder / "out.jpg"
    source.write_bytes(content)

    try:
        convert_png(source, dest, ConvertOptions(), max_pixels=MAX_PIXELS)
    except ConversionError:
        assert not dest.exists()
        return
    assert dest.stat().st_size > 0
