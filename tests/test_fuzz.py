"""Damaged PngSuite files: a JPEG or a plain refusal, in bounded time and memory."""

import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scripts.fuzz import (
    FAILURES,
    Limits,
    Sample,
    Verdict,
    convert_input,
    is_plain,
    run,
    samples,
)
from scripts.mutations import (
    MAX_AT,
    MAX_VALUE,
    MAX_WHERE,
    Kind,
    Mutation,
    Recipe,
    build,
    load_seeds,
)
from tests.conftest import PNGSUITE

SEEDS = load_seeds(PNGSUITE / "png")
SEED_NAMES = {seed.name: seed for seed in SEEDS}
# Every PngSuite file converts in milliseconds; damage must not change that.
PER_INPUT_SECONDS = 5.0

MUTATIONS = st.builds(
    Mutation,
    kind=st.sampled_from(Kind),
    where=st.integers(0, MAX_WHERE - 1),
    at=st.integers(0, MAX_AT - 1),
    value=st.integers(0, MAX_VALUE),
)
RECIPES = st.builds(
    Recipe,
    seed=st.sampled_from(SEEDS),
    mutations=st.lists(MUTATIONS, min_size=1, max_size=4).map(tuple),
    fix_crc=st.booleans(),
)


@pytest.fixture(name="folder", scope="module")
def fixture_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _chunk(name: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + name
        + data
        + struct.pack(">I", zlib.crc32(name + data))
    )


def _black_rgb_png(side: int) -> bytes:
    """A square black PNG whose data compresses a thousandfold."""
    row = b"\x00" * (1 + 3 * side)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def test_unmutated_seeds_are_the_pngsuite_files_byte_for_byte() -> None:
    rebuilt = [build(Recipe(seed, (), fix_crc=False)) for seed in SEEDS]

    assert len(SEEDS) > 150
    assert rebuilt == [(PNGSUITE / "png" / seed.name).read_bytes() for seed in SEEDS]


@pytest.mark.parametrize(
    ("fix_crc", "message"),
    [
        (True, "the image data is damaged and cannot be decoded"),
        (False, "the file is damaged: a checksum does not match its contents"),
    ],
    ids=["fixed", "stale"],
)
def test_fixed_up_checksums_let_the_damage_reach_the_decoder(
    folder: Path, fix_crc: bool, message: str
) -> None:
    # The first byte of the inflated data is the first row's filter type;
    # there are five, numbered 0 to 4.
    bad_filter = Mutation(Kind.DAMAGE_PIXELS, where=0, at=0, value=5)
    recipe = Recipe(SEED_NAMES["basn0g08.png"], (bad_filter,), fix_crc=fix_crc)

    outcome = convert_input(build(recipe), folder, max_pixels=10**8)

    assert (outcome.verdict, outcome.message) == (Verdict.REFUSED, message)


# What the long run found: a second IHDR whose size Pillow took unchecked.
SECOND_HEADER = Recipe(
    SEED_NAMES["basn2c08.png"],
    (
        Mutation(Kind.DUPLICATE_CHUNK, where=0, at=0, value=0),
        Mutation(Kind.SET_BYTE, where=1, at=7, value=171),
    ),
)


@settings(max_examples=300, deadline=None)
@given(recipe=RECIPES)
@example(recipe=SECOND_HEADER)
def test_damaged_pngsuite_file_gives_a_jpeg_or_a_plain_refusal_quickly(
    folder: Path, recipe: Recipe
) -> None:
    outcome = convert_input(build(recipe), folder, max_pixels=10**8)

    assert outcome.verdict in (Verdict.CONVERTED, Verdict.REFUSED), outcome.message
    assert outcome.seconds < PER_INPUT_SECONDS


def test_short_fuzz_run_in_bounded_workers_finds_nothing(tmp_path: Path) -> None:
    findings = tmp_path / "findings"

    report = run(samples(400, seed=7, seeds=SEEDS), Limits(), findings)

    assert report.inputs == 400
    assert report.failures == 0, "\n".join(map(str, report.findings))
    assert report.verdicts[Verdict.CONVERTED] > 0
    assert report.verdicts[Verdict.REFUSED] > 100
    assert len(report.messages) >= 10
    assert not findings.exists()


@pytest.mark.parametrize(
    ("side", "limits", "verdict"),
    [
        (3000, Limits(seconds=0.05), Verdict.HANG),
        # 108 MB of pixels cannot fit beside the interpreter in 160 MB.
        (6000, Limits(memory_mb=160), Verdict.MEMORY),
    ],
    ids=["slow", "greedy"],
)
def test_fuzz_run_reports_an_input_past_its_limit_and_saves_it(
    tmp_path: Path, side: int, limits: Limits, verdict: Verdict
) -> None:
    content = _black_rgb_png(side)

    report = run([Sample("big", content, "a black square")], limits, tmp_path)

    assert report.verdicts == {verdict: 1}
    assert verdict in FAILURES
    [saved] = report.findings
    assert saved.read_bytes() == content
    assert "a black square" in saved.with_suffix(".txt").read_text()


@pytest.mark.parametrize(
    ("message", "plain"),
    [
        ("the file is damaged: a checksum does not match its contents", True),
        ("the image is too large: 9 \N{MULTIPLICATION SIGN} 9 pixels", True),
        ("", False),
        ("ValueError: unknown filter type", False),
        ("zlib.error: Error -3 while decompressing data", False),
        ("Traceback (most recent call last):", False),
        ("decoder failed: OSError(22)", False),
        ("<PIL.PngImagePlugin.PngImageFile image mode=RGB>", False),
        ("the file is damaged\n  at line 3", False),
    ],
)
def test_only_plain_sentences_pass_as_messages(message: str, plain: bool) -> None:
    assert is_plain(message) is plain
