"""The converters others use, ImageMagick and libvips, on the same files.

Each is run as a command, as other converters run them, so its time holds
the start of a process (tens of milliseconds), which dominates small images.
libvips also spreads one conversion over every core.
"""

import shutil
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import bare
from bench.plan import Plan
from bench.speed import ours, sources
from bench.table import Row, seconds
from bench.timing import alternate

# The real ImageMagick binaries, in the order they are preferred.
IMAGEMAGICK = ("magick", "convert-im6.q16", "convert-im7.q16", "convert")

Command = Callable[[Path, Path, str], list[str]]
Action = Callable[[], object]


def imagemagick(binary: str) -> Command:
    def command(source: Path, dest: Path, mode: str) -> list[str]:
        flatten = ["-background", "white", "-flatten"] if mode == "RGBA" else []
        quality = ["-quality", str(bare.QUALITY), "-sampling-factor", "4:2:0"]
        return [binary, str(source), *flatten, *quality, str(dest)]

    return command


def vips(binary: str) -> Command:
    def command(source: Path, dest: Path, mode: str) -> list[str]:
        target = f"{dest}[Q={bare.QUALITY}]"
        if mode == "RGBA":
            return [binary, "flatten", str(source), target, "--background", "255"]
        return [binary, "copy", str(source), target]

    return command


def installed() -> dict[str, Command]:
    """The tools found on this machine, by name."""
    found: dict[str, Command] = {}
    magick = next(filter(None, map(shutil.which, IMAGEMAGICK)), None)
    if magick:
        found["ImageMagick"] = imagemagick(magick)
    if binary := shutil.which("vips"):
        found["libvips"] = vips(binary)
    return found


def tool_rows(plan: Plan, folder: Path, out: Path) -> list[Row]:
    tools = installed()
    if not tools:
        return [Row("vs ImageMagick and libvips", "neither is installed")]
    convert = ours()
    rows = []
    for sample in sources(plan, folder):
        run_ours = partial(convert, sample.path, out / "ours.jpg")
        for name, command in tools.items():
            args = command(sample.path, out / f"{name}.jpg", sample.mode)
            run_tool = partial(subprocess.run, args, check=True, capture_output=True)
            figure = f"vs {name}: {sample.label}"
            rows.append(_row(figure, run_ours, run_tool, plan.tool_repeat))
    return rows


def _row(figure: str, run_ours: Action, run_tool: Action, repeat: int) -> Row:
    # Wall time: a command's time includes starting its process, and libvips
    # spreads its work over every core.
    mine, theirs = alternate(run_ours, run_tool, repeat)
    ratio = min(mine) / min(theirs)
    return Row(figure, seconds(min(mine)), seconds(min(theirs)), ratio)
