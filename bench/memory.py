"""Peak memory converting one large RGBA image, each side in its own process."""

import json
import subprocess
import sys
from pathlib import Path

from bench import REPO, images
from bench.table import Row, at_most, megabytes

TARGET = 1.2


def memory_row(size: tuple[int, int], rounds: int, folder: Path, out: Path) -> Row:
    source = images.cached(folder, size, "RGBA")
    mine: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for _ in range(rounds):
        mine.append(_peak("ours", source, out))
        theirs.append(_peak("bare", source, out))
    (used, whole), (base_used, base_whole) = min(mine), min(theirs)
    ratio = used / base_used
    return Row(
        f"peak memory converting {size[0]}x{size[1]} RGBA",
        f"{megabytes(used)} ({megabytes(whole)} process)",
        f"{megabytes(base_used)} ({megabytes(base_whole)} process)",
        ratio,
        f"<= {TARGET}",
        at_most(TARGET, ratio),
    )


def _peak(side: str, source: Path, out: Path) -> tuple[float, float]:
    """MB the conversion added to the peak, and the whole process's peak."""
    command = [
        sys.executable,
        "-m",
        "bench.peak",
        side,
        str(source),
        str(out / f"{side}.jpg"),
    ]
    done = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    found = json.loads(done.stdout)
    return (found["peak"] - found["start"]) / 1024, found["peak"] / 1024
