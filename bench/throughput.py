"""Throughput: a batch of PNGs uploaded to `python main.py` until every JPEG is
there, against bare Pillow in three processes converting the same files."""

import multiprocessing
import shutil
import time
from pathlib import Path

from bench import app, bare, images
from bench.table import Row, at_least, seconds

WORKERS = 3
TIMEOUT_S = 600.0


def throughput_row(
    batch: tuple[int, tuple[int, int]],
    target: float,
    rounds: int,
    folder: Path,
    work: Path,
) -> Row:
    count, size = batch
    files = images.batch(folder, count, size)
    mine: list[float] = []
    theirs: list[float] = []
    for round_ in range(rounds):
        place = work / f"throughput-{size[0]}x{size[1]}-{round_}"
        theirs.append(through_pool(files, place / "pool"))
        mine.append(through_app(files, place / "app"))
        shutil.rmtree(place, ignore_errors=True)
    ratio = min(theirs) / min(mine)
    return Row(
        f"throughput {count} x {size[0]}x{size[1]}",
        _rate(count, min(mine)),
        _rate(count, min(theirs)),
        ratio,
        f">= {target}",
        at_least(target, ratio),
    )


def _rate(count: int, took: float) -> str:
    return f"{count / took:.1f}/s ({seconds(took)})"


def through_app(files: list[Path], place: Path) -> float:
    """Seconds from the first upload to the last task finished, by the server."""
    with (
        app.running(place / "data", place / "app.log") as program,
        program.client() as client,
    ):
        started = time.time()
        app.upload(client, files)
        app.wait_finished(client, len(files), TIMEOUT_S)
        tasks = app.all_tasks(client)
    states = {task["state"] for task in tasks}
    if states != {"complete"}:
        raise RuntimeError(f"not every task completed: {sorted(states)}")
    return max(app.moment(task["finished_at"]) for task in tasks) - started


def through_pool(files: list[Path], place: Path) -> float:
    """Seconds for WORKERS warm processes to convert every file."""
    place.mkdir(parents=True, exist_ok=True)
    pairs = [(path, place / f"{path.stem}.jpg") for path in files]
    chunk = max(1, len(pairs) // (WORKERS * 8))
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        pool.map(bare.convert_pair, pairs[:WORKERS], chunksize=1)
        started = time.perf_counter()
        for _ in pool.imap_unordered(bare.convert_pair, pairs, chunksize=chunk):
            pass
        return time.perf_counter() - started
