"""Throughput: a batch of PNGs uploaded to `python main.py` until every JPEG is
there, against bare Pillow in three processes converting the same files.

Both sides also count the processor time they spent per file: on a machine
with fewer cores than the baseline has processes, that sets the ratio the
app can reach, whatever the scheduling.
"""

import multiprocessing
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bench import app, bare, images
from bench.table import Row, at_least, seconds
from tests.processes import running

WORKERS = 3
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Run:
    took: float
    # Processor seconds per file, by process.
    web: float = 0.0
    workers: float = 0.0
    uploader: float = 0.0

    @property
    def processor(self) -> float:
        return self.web + self.workers + self.uploader


def throughput_rows(
    batch: tuple[int, tuple[int, int]],
    target: float,
    rounds: int,
    folder: Path,
    work: Path,
) -> list[Row]:
    count, size = batch
    files = images.batch(folder, count, size)
    mine: list[Run] = []
    theirs: list[Run] = []
    for round_ in range(rounds):
        place = work / f"throughput-{size[0]}x{size[1]}-{round_}"
        theirs.append(through_pool(files, place / "pool"))
        mine.append(through_app(files, place / "app"))
        shutil.rmtree(place, ignore_errors=True)
    best, base = min(mine, key=_took), min(theirs, key=_took)
    ratio = base.took / best.took
    name = f"{count} x {size[0]}x{size[1]}"
    return [
        Row(
            f"throughput {name}",
            _rate(count, best.took),
            _rate(count, base.took),
            ratio,
            f">= {target}",
            at_least(target, ratio),
        ),
        Row(
            f"processor time per file, {name}",
            f"{_ms(best.processor)} (web {_ms(best.web)}, workers "
            f"{_ms(best.workers)}, uploader {_ms(best.uploader)})",
            _ms(base.processor),
            best.processor / base.processor,
        ),
    ]


def _took(run: Run) -> float:
    return run.took


def _rate(count: int, took: float) -> str:
    return f"{count / took:.1f}/s ({seconds(took)})"


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def through_app(files: list[Path], place: Path) -> Run:
    """Seconds from the first upload to the last task finished, by the server."""
    with (
        running(place / "data", place / "app.log") as program,
        program.client() as client,
    ):
        app.wait_for_workers(program)
        web, workers, uploader = _processor(program.pid)
        started = time.time()
        app.upload(client, files)
        app.wait_finished(client, len(files), TIMEOUT_S)
        web_after, workers_after, uploader_after = _processor(program.pid)
        tasks = app.all_tasks(client)
    states = {task["state"] for task in tasks}
    if states != {"complete"}:
        raise RuntimeError(f"not every task completed: {sorted(states)}")
    count = len(files)
    return Run(
        max(app.moment(task["finished_at"]) for task in tasks) - started,
        (web_after - web) / count,
        (workers_after - workers) / count,
        (uploader_after - uploader) / count,
    )


def _processor(pid: int) -> tuple[float, float, float]:
    """Processor seconds so far of the app, of its workers, and of this process."""
    web, workers = app.processor_seconds(pid)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return web, workers, own.ru_utime + own.ru_stime


def through_pool(files: list[Path], place: Path) -> Run:
    """Seconds for WORKERS warm processes to convert every file."""
    place.mkdir(parents=True, exist_ok=True)
    pairs = [(path, place / f"{path.stem}.jpg") for path in files]
    chunk = max(1, len(pairs) // (WORKERS * 8))
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        pool.map(bare.convert_pair, pairs[:WORKERS], chunksize=1)
        started = time.perf_counter()
        spent = sum(pool.imap_unordered(bare.convert_pair, pairs, chunksize=chunk))
        took = time.perf_counter() - started
    return Run(took, workers=spent / len(files))
