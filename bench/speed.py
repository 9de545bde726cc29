"""Time to convert one image: imageconv's pipeline against bare Pillow."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench import bare, images
from bench.plan import Plan, Size, repeats
from bench.table import Row, at_most, seconds
from bench.timing import alternate

TARGET = 1.05
MAX_PIXELS = 100_000_000
MODES = ("RGB", "RGBA")

Convert = Callable[[Path, Path], None]


def ours() -> Convert:
    # Imported when first needed: the jobs package reads the settings, which
    # the benchmark points at its own data directory before that.
    from jobs.convert import ConvertOptions, convert_png

    options = ConvertOptions(quality=bare.QUALITY)

    def convert(source: Path, dest: Path) -> None:
        convert_png(source, dest, options, max_pixels=MAX_PIXELS)

    return convert


@dataclass(frozen=True)
class Sample:
    size: Size
    mode: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.size[0]}x{self.size[1]} {self.mode}"


def sources(plan: Plan, folder: Path) -> list[Sample]:
    """The test images of the convert figures, made if not cached yet."""
    return [
        Sample(size, mode, images.cached(folder, size, mode))
        for size in plan.convert_sizes
        for mode in MODES
    ]


def speed_rows(plan: Plan, folder: Path, out: Path) -> list[Row]:
    convert = ours()
    rows = []
    for sample in sources(plan, folder):
        _warm(convert, sample.path, out)
        # Processor time: both sides run on one thread, so it equals the
        # time taken on an idle machine, without the waits a busy one adds.
        mine, theirs = alternate(
            partial(convert, sample.path, out / "ours.jpg"),
            partial(bare.convert, sample.path, out / "bare.jpg"),
            repeats(plan, sample.size),
            time.process_time,
        )
        rows.append(_row(f"convert {sample.label}", mine, theirs))
    return rows


def _warm(convert: Convert, source: Path, out: Path) -> None:
    # The first run of each reads the file from disk and fills caches.
    convert(source, out / "ours.jpg")
    bare.convert(source, out / "bare.jpg")


def _row(figure: str, mine: list[float], theirs: list[float]) -> Row:
    # Best of N: on a shared machine noise only ever adds time.
    ratio = min(mine) / min(theirs)
    return Row(
        figure,
        seconds(min(mine)),
        seconds(min(theirs)),
        ratio,
        f"<= {TARGET}",
        at_most(TARGET, ratio),
    )
