"""Ten thousand tasks: the API's first page, the page in Chromium, the memory."""

import shutil
import statistics
import time
from pathlib import Path

import httpx

from bench import app, bare, fill, images, page
from bench.table import Row, at_most, seconds, split_megabytes
from bench.timing import percentile
from tests.processes import running

LIST_TARGET_S = 0.05
PAGE_TARGET_S = 2.0
WARM_UP = 5


def listing_rows(
    tasks: int, requests: int, loads: int, folder: Path, work: Path
) -> list[Row]:
    place = work / "listing"
    names = _fill(place / "data", tasks, folder, place)
    with running(place / "data", place / "app.log") as program:
        app.settle(2.0)
        with program.client() as client:
            times = _list_times(client, requests)
        rows = [_list_row(tasks, times)]
        rows += _page_rows(program.url, names[-1], tasks, loads)
        rss = app.memory(program.pid)
    rows.append(
        Row(
            f"memory of `python main.py`, {tasks:,} tasks listed",
            split_megabytes(*rss),
        )
    )
    return rows


def _fill(data_dir: Path, tasks: int, folder: Path, place: Path) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    png = _local_copy(images.cached(folder, (640, 480), "RGB"), place / "task.png")
    jpeg = place / "task.jpg"
    bare.convert(png, jpeg)
    return fill.fill(data_dir, tasks, png, jpeg)


def _local_copy(source: Path, dest: Path) -> Path:
    # Hard links need the tasks' files and this one on the same disk.
    shutil.copyfile(source, dest)
    return dest


def _list_times(client: httpx.Client, requests: int) -> list[float]:
    for _ in range(WARM_UP):
        client.get("/api/tasks").raise_for_status()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get("/api/tasks").raise_for_status()
        times.append(time.perf_counter() - started)
    return times


def _list_row(tasks: int, times: list[float]) -> Row:
    p95 = percentile(times, 95)
    return Row(
        f"`GET /api/tasks` first page, {tasks:,} tasks",
        f"p95 {seconds(p95)}, median {seconds(statistics.median(times))}",
        target=f"p95 <= {LIST_TARGET_S * 1000:g} ms",
        passed=at_most(LIST_TARGET_S, p95),
    )


def _page_rows(url: str, newest: str, tasks: int, loads: int) -> list[Row]:
    figure = f"page load in Chromium, {tasks:,} tasks"
    if not page.available():
        return [Row(figure, "Chromium not installed")]
    first, times = page.load_times(url, newest, loads)
    middle = statistics.median(times)
    return [
        Row(
            figure,
            f"median {seconds(middle)}, max {seconds(max(times))}, "
            f"first {seconds(first)}",
            target=f"<= {PAGE_TARGET_S:g} s",
            passed=at_most(PAGE_TARGET_S, middle),
        )
    ]
