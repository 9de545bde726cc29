"""Soak the real programs with thousands of tasks, cancels, retries and kill -9.

    .venv/bin/python -m scripts.soak --tasks 2000 --consumer-kills 3 --app-kills 1

Runs `python main.py --no-worker` beside `huey_consumer jobs.huey -w 3` on a
fresh data directory, uploads valid and damaged PNGs through the API,
cancels and retries some, and kills the consumer and the app with SIGKILL
at random moments, restarting each. Once the queue is quiet it checks that
every task ended as it should, that each complete task has one valid JPEG,
that no temporary or orphan file is left and that no log holds an error.
"""

import argparse
import io
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from scripts.soak_checks import Op, Planned, Tracked, check, figures
from tests.processes import App, Consumer, wait_until

FINISHED = ("complete", "error", "cancelled")
# A call that fails without a kill to explain it is tried again this often.
CALL_ATTEMPTS = 20
# Valid images: (width, height, mode). Blocky noise keeps the files small.
SHAPES = [
    (8, 8, "RGB"),
    (64, 48, "RGB"),
    (200, 150, "RGBA"),
    (33, 17, "L"),
    (120, 90, "LA"),
    (256, 256, "P"),
    (640, 480, "RGB"),
    (1200, 900, "RGB"),
]


class SoakError(Exception):
    """The soak itself cannot go on: the programs answer what they must not."""


@dataclass(frozen=True)
class Options:
    tasks: int = 2000
    consumer_kills: int = 3
    app_kills: int = 1
    seed: int = 1
    batch: int = 10
    backlog: int = 30
    damaged_share: float = 0.12
    cancel_share: float = 0.1
    retry_share: float = 0.03
    # Each conversion waits this long first, so that kills and cancels find
    # tasks running.
    task_delay: float = 0.05


@dataclass
class Counters:
    cancels: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)
    interrupted_uploads: int = 0

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def _image(rng: random.Random, width: int, height: int, mode: str) -> bytes:
    bands = len(Image.new(mode, (1, 1)).getbands())
    small = (max(1, width // 8), max(1, height // 8))
    noise = rng.randbytes(small[0] * small[1] * bands)
    image = Image.frombytes(mode, small, noise).resize((width, height))
    if mode == "P":
        image.putpalette(rng.randbytes(768))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _damaged(good: bytes, kind: int) -> bytes:
    at = good.index(b"IDAT") + 8
    wrong_checksum = good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1 :]
    jpeg = io.BytesIO()
    Image.new("RGB", (16, 16), "olive").save(jpeg, "JPEG")
    choices = [good[: len(good) // 2], wrong_checksum, jpeg.getvalue(), b"", bytes(512)]
    return choices[kind % len(choices)]


def plan_uploads(options: Options, rng: random.Random) -> list[Planned]:
    shapes = [(w, h, _image(rng, w, h, mode)) for w, h, mode in SHAPES]
    planned = []
    for index in range(options.tasks):
        width, height, content = rng.choice(shapes)
        name = f"soak-{index:05d}.png"
        if rng.random() < options.damaged_share:
            planned.append(Planned(name, _damaged(content, index), None))
        else:
            planned.append(Planned(name, content, (width, height)))
    return planned


class Cluster:
    """The app and the consumer of one data directory, each restartable."""

    def __init__(self, root: Path, task_delay: float) -> None:
        self.data = root / "data"
        self.log_dir = root / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.task_delay = task_delay
        self.up = threading.Event()
        self.app = self._new_app().start()
        try:
            self.consumer = self._new_consumer().start()
        except BaseException:
            self.app.stop()
            raise
        self.up.set()

    def _log(self, kind: str) -> Path:
        return self.log_dir / f"{len(self.logs()) + 1:02d}-{kind}.log"

    def _new_app(self) -> App:
        log = self._log("app")
        return App(self.data, log, "--no-worker", task_delay=self.task_delay)

    def _new_consumer(self) -> Consumer:
        log = self._log("consumer")
        return Consumer(self.data, log, workers=3, task_delay=self.task_delay)

    def logs(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))

    def kill_consumer(self) -> None:
        self.consumer.kill()
        self.consumer = self._new_consumer().start()

    def kill_app(self) -> None:
        self.up.clear()
        self.app.kill()
        self.app = self._new_app().start()
        self.up.set()

    def client(self) -> httpx.Client:
        if not self.up.wait(60):
            raise SoakError("the app did not come back within 60 s")
        return self.app.client()

    def stop(self) -> None:
        self.consumer.stop()
        self.app.stop()


class Driver:
    """Talk to the app as a person or a script would, through every restart."""

    def __init__(self, cluster: Cluster, options: Options) -> None:
        self.cluster = cluster
        self.options = options
        self.tracked: dict[str, Tracked] = {}
        self.counters = Counters()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """The app's answer, or None when it died before giving one."""
        try:
            with self.cluster.client() as client:
                return client.request(method, path, **kwargs)
        except httpx.TransportError:
            self.cluster.up.wait(60)
            return None

    def get(self, path: str, **params: object) -> Any:
        for _ in range(CALL_ATTEMPTS):
            if (answer := self.call("GET", path, params=params)) is not None:
                break
        else:
            raise SoakError(f"GET {path}: no answer in {CALL_ATTEMPTS} attempts")
        if answer.status_code != 200:
            raise SoakError(f"GET {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.get("/api/health")["tasks"]
        return counts

    def all_tasks(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.get("/api/tasks", limit=1000, offset=len(found))
            found.extend(page["tasks"])
            if not page["tasks"] or len(found) >= page["total"]:
                return found

    def listed(self, state: str) -> list[str]:
        page = self.get("/api/tasks", state=state, limit=50)
        return [task["id"] for task in page["tasks"]]

    def upload(self, batch: list[Planned]) -> None:
        pending = batch
        while pending:
            files = [("files", (p.name, p.content, "image/png")) for p in pending]
            answer = self.call("POST", "/api/tasks", files=files)
            if answer is None:
                self.counters.interrupted_uploads += 1
                pending = self._keep_stored(pending)
                continue
            if answer.status_code != 201:
                raise SoakError(f"upload: {answer.status_code} {answer.text}")
            for planned, task in zip(pending, answer.json(), strict=True):
                self.tracked[task["id"]] = Tracked(planned, task["id"])
            pending = []

    def _keep_stored(self, pending: list[Planned]) -> list[Planned]:
        """Track what an interrupted upload stored; return what it did not."""
        by_name = {task["filename"]: task["id"] for task in self.all_tasks()}
        for planned in pending:
            if planned.name in by_name:
                task_id = by_name[planned.name]
                self.tracked[task_id] = Tracked(planned, task_id)
        return [planned for planned in pending if planned.name not in by_name]

    def act(self, op: Op, task_id: str) -> None:
        answer = self.call("POST", f"/api/tasks/{task_id}/{op}")
        table = self.counters.cancels if op is Op.CANCEL else self.counters.retries
        if answer is None:
            self.tracked[task_id].ops.append((op, False))
            self.counters.count(table, "unknown")
        elif answer.status_code == 200:
            self.tracked[task_id].ops.append((op, True))
            self.counters.count(table, "accepted")
        elif answer.status_code == 409:
            self.counters.count(table, "refused")
        else:
            raise SoakError(f"{op} {task_id}: {answer.status_code} {answer.text}")

    def churn(self, rng: random.Random) -> None:
        """Cancel and retry a few tasks, as many as the shares ask for."""
        for _ in range(_draw(rng, self.options.cancel_share * self.options.batch)):
            if candidates := self.listed(rng.choice(("running", "queued"))):
                self.act(Op.CANCEL, rng.choice(candidates))
        for _ in range(_draw(rng, self.options.retry_share * self.options.batch)):
            if candidates := self.listed(rng.choice(("error", "cancelled"))):
                self.act(Op.RETRY, rng.choice(candidates))

    def backlog_below(self, limit: int) -> bool:
        return self.counts()["queued"] < limit

    def finished_share(self) -> float:
        counts = self.counts()
        return sum(counts[state] for state in FINISHED) / self.options.tasks

    def quiet(self) -> bool:
        counts = self.counts()
        return counts["queued"] == counts["running"] == 0


def _draw(rng: random.Random, expected: float) -> int:
    """A whole number of events whose mean is `expected`."""
    whole = int(expected)
    return whole + (rng.random() < expected - whole)


class Chaos(threading.Thread):
    """Kill a program with SIGKILL each time the work passes a random point."""

    def __init__(
        self,
        plan: list[tuple[float, Callable[[], None]]],
        progress: Callable[[], float],
    ) -> None:
        super().__init__(name="soak-chaos", daemon=True)
        self.plan = sorted(plan, key=lambda step: step[0])
        self.progress = progress
        self.failure: BaseException | None = None

    def _passed(self, point: float) -> bool:
        return self.progress() >= point

    def run(self) -> None:
        try:
            for point, kill in self.plan:
                wait_until(partial(self._passed, point), timeout=900)
                kill()
        except BaseException as exc:  # reported by the soak's main thread
            self.failure = exc


def _kill_plan(
    cluster: Cluster, driver: Driver, options: Options, rng: random.Random
) -> list[tuple[float, Callable[[], None]]]:
    def counted(kind: str, kill: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            kill()
            driver.counters.count(driver.counters.kills, kind)

        return run

    kills = [("consumer", cluster.kill_consumer)] * options.consumer_kills
    kills += [("app", cluster.kill_app)] * options.app_kills
    return [(rng.uniform(0.05, 0.9), counted(kind, kill)) for kind, kill in kills]


@dataclass
class Report:
    problems: list[str]
    figures: dict[str, str]
    counters: Counters
    final: dict[str, int]


def soak(options: Options, root: Path) -> Report:
    rng = random.Random(options.seed)
    planned = plan_uploads(options, rng)
    started = time.monotonic()
    cluster = Cluster(root, task_delay=options.task_delay)
    try:
        driver = Driver(cluster, options)
        chaos = Chaos(_kill_plan(cluster, driver, options, rng), driver.finished_share)
        chaos.start()
        _feed(driver, planned, rng)
        wait_until(lambda: not chaos.is_alive(), timeout=900)
        if chaos.failure is not None:
            raise SoakError(f"a kill failed: {chaos.failure!r}") from chaos.failure
        wait_until(driver.quiet, timeout=900, interval=0.2)
        took = time.monotonic() - started
        tasks = driver.all_tasks()
    finally:
        cluster.stop()
    problems = check(driver.tracked, tasks, cluster.data, cluster.logs())
    final = {state: sum(t["state"] == state for t in tasks) for state in FINISHED}
    shown = figures(driver.tracked, tasks, cluster.logs(), took)
    return Report(problems, shown, driver.counters, final)


def _feed(driver: Driver, planned: list[Planned], rng: random.Random) -> None:
    for batch in _batches(planned, driver.options.batch):
        wait_until(lambda: driver.backlog_below(driver.options.backlog), timeout=300)
        driver.upload(batch)
        driver.churn(rng)


def _batches(items: list[Planned], size: int) -> Iterator[list[Planned]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def show(report: Report) -> str:
    counters = report.counters
    rows = {
        **report.figures,
        "consumer kills": str(counters.kills.get("consumer", 0)),
        "app kills": str(counters.kills.get("app", 0)),
        "uploads cut by a kill": str(counters.interrupted_uploads),
        "cancels": _spread(counters.cancels),
        "retries": _spread(counters.retries),
        "problems": str(len(report.problems)),
    }
    lines = [f"{name:<24} {value}" for name, value in rows.items()]
    return "\n".join(lines + [f"PROBLEM: {problem}" for problem in report.problems])


def _spread(table: dict[str, int]) -> str:
    keys = ("accepted", "refused", "unknown")
    return ", ".join(f"{table.get(key, 0)} {key}" for key in keys)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, default=Options.tasks, help="uploads")
    parser.add_argument("--consumer-kills", type=int, default=Options.consumer_kills)
    parser.add_argument("--app-kills", type=int, default=Options.app_kills)
    parser.add_argument("--seed", type=int, default=Options.seed, help="of the plan")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = Options(args.tasks, args.consumer_kills, args.app_kills, args.seed)
    root = Path(tempfile.mkdtemp(prefix="imageconv-soak-"))
    try:
        report = soak(options, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(show(report))
    if args.keep:
        print(f"data and logs kept in {root}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
