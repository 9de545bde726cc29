"""Fuzz the PNG to JPEG conversion with damaged PngSuite files.

    .venv/bin/python -m scripts.fuzz --inputs 100000 --jobs 2

Each input runs in a worker process under an address-space limit and a
deadline. A JPEG that decodes, or a ConversionError with a plain message,
is the expected outcome; anything else is a finding: a crash, a hang, a
memory blow-up, another exception, or a message a person cannot read. The
input of each finding is saved under --findings with how it was made, and
`--replay FILE` runs one saved input again in this process.
"""

import argparse
import contextlib
import random
import re
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from PIL import Image

from jobs.convert import ConvertOptions, ConvertResult, convert_png
from jobs.exceptions import ConversionError
from scripts.mutations import Seed, build, load_seeds, random_recipe
from settings import load_settings

REPO = Path(__file__).resolve().parents[1]
PNGSUITE = REPO.parent / "shared" / "pngsuite" / "png"
FINDINGS = REPO / "artifacts" / "fuzz"
STARTUP_SECONDS = 60

# Python's names for its own errors, a traceback or a repr: none belongs in
# a message meant for a person.
_NOT_PLAIN = re.compile(r"Traceback|\w*(Error|Exception)\b|\w+\(|<\w+|\n")


class Verdict(StrEnum):
    CONVERTED = "converted"
    REFUSED = "refused"
    CRASH = "crash"
    HANG = "hang"
    MEMORY = "memory"


FAILURES = (Verdict.CRASH, Verdict.HANG, Verdict.MEMORY)


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    message: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Limits:
    seconds: float = 10.0
    memory_mb: int = 1024
    max_pixels: int = field(default_factory=lambda: load_settings().max_pixels)


@dataclass(frozen=True)
class Sample:
    label: str
    content: bytes
    how: str


def is_plain(message: str) -> bool:
    """True for a non-empty one-line sentence free of Python's own vocabulary."""
    return bool(message.strip()) and not _NOT_PLAIN.search(message)


def convert_input(content: bytes, folder: Path, max_pixels: int) -> Outcome:
    """Convert `content` in this process and judge what comes out."""
    source, dest = folder / "input.png", folder / "output.jpg"
    source.write_bytes(content)
    started = time.monotonic()
    try:
        verdict, message = _convert(source, dest, max_pixels)
    finally:
        dest.unlink(missing_ok=True)
    return Outcome(verdict, message, time.monotonic() - started)


def _convert(source: Path, dest: Path, max_pixels: int) -> tuple[Verdict, str]:
    try:
        result = convert_png(source, dest, ConvertOptions(), max_pixels=max_pixels)
    except ConversionError as exc:
        return _judge_refusal(exc, dest)
    except MemoryError:
        return Verdict.MEMORY, "MemoryError in the conversion"
    except Exception:
        return Verdict.CRASH, traceback.format_exc()
    return _judge_jpeg(result, dest)


def _judge_refusal(exc: ConversionError, dest: Path) -> tuple[Verdict, str]:
    if dest.exists():
        return Verdict.CRASH, f"refused, yet left a JPEG behind: {exc.message}"
    if not is_plain(exc.message):
        return (
            Verdict.CRASH,
            f"refused with a message that is not plain: {exc.message!r}",
        )
    return Verdict.REFUSED, exc.message


def _judge_jpeg(result: ConvertResult, dest: Path) -> tuple[Verdict, str]:
    try:
        with Image.open(dest, formats=["JPEG"]) as image:
            image.load()
            size = image.size
    except (OSError, SyntaxError, ValueError) as exc:
        return Verdict.CRASH, f"the JPEG written does not decode: {exc!r}"
    if size != (result.width, result.height):
        reported = (result.width, result.height)
        return Verdict.CRASH, f"the JPEG is {size}, the result says {reported}"
    return Verdict.CONVERTED, ""


def samples(count: int, seed: int, seeds: Sequence[Seed]) -> Iterator[Sample]:
    """Make `count` damaged files; each is the same for the same seed and index."""
    for index in range(count):
        recipe = random_recipe(random.Random(f"{seed}:{index}"), seeds)
        yield Sample(f"{seed}-{index:06d}", build(recipe), str(recipe))


@dataclass
class Report:
    inputs: int = 0
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    findings: list[Path] = field(default_factory=list)
    slowest: float = 0.0
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(self.verdicts[verdict] for verdict in FAILURES)

    def add(self, sample: Sample, outcome: Outcome, folder: Path) -> None:
        self.inputs += 1
        self.verdicts[outcome.verdict] += 1
        self.slowest = max(self.slowest, outcome.seconds)
        if outcome.verdict is Verdict.REFUSED:
            self.messages[re.sub(r"\d[\d,]*", "N", outcome.message)] += 1
        if outcome.verdict in FAILURES:
            self.findings.append(_save(sample, outcome, folder))


def _save(sample: Sample, outcome: Outcome, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{outcome.verdict}-{sample.label}.png"
    path.write_bytes(sample.content)
    took = f"after {outcome.seconds:.2f}s"
    path.with_suffix(".txt").write_text(f"{sample.how}\n\n{took}: {outcome.message}\n")
    return path


def _serve(conn: Connection, limits: Limits) -> None:
    """Convert each input the pipe brings, within the memory limit, until None."""
    memory = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    with tempfile.TemporaryDirectory(prefix="imageconv-fuzz-") as folder:
        conn.send(None)  # ready: a deadline counts from here, not from the spawn
        while (content := conn.recv()) is not None:
            conn.send(convert_input(content, Path(folder), limits.max_pixels))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    sample: Sample | None = None
    since: float = 0.0


class _Pool:
    """Worker processes, each given one input at a time and watched."""

    def __init__(self, jobs: int, limits: Limits) -> None:
        self.limits = limits
        self.context = get_context("spawn")
        self.workers = [self._start() for _ in range(jobs)]

    def _start(self) -> _Worker:
        conn, child = self.context.Pipe()
        process = self.context.Process(
            target=_serve, args=(child, self.limits), daemon=True
        )
        process.start()
        child.close()
        if not conn.poll(STARTUP_SECONDS):
            process.kill()
            raise RuntimeError(f"a fuzz worker did not start in {STARTUP_SECONDS}s")
        conn.recv()
        return _Worker(process, conn)

    def give(self, worker: _Worker, sample: Sample | None) -> None:
        worker.sample, worker.since = sample, time.monotonic()
        if sample is not None:
            worker.conn.send(sample.content)

    def busy(self) -> list[_Worker]:
        return [worker for worker in self.workers if worker.sample is not None]

    def finished(self) -> list[tuple[_Worker, Sample, Outcome]]:
        """Wait for an answer or a deadline; return the inputs judged."""
        busy = self.busy()
        deadline = min(worker.since for worker in busy) + self.limits.seconds
        ready = wait([w.conn for w in busy], max(0.0, deadline - time.monotonic()))
        done = []
        for worker in busy:
            if worker.conn in ready:
                outcome = self._answer(worker)
            elif time.monotonic() - worker.since > self.limits.seconds:
                outcome = self._overran(worker)
            else:
                continue
            assert worker.sample is not None
            done.append((worker, worker.sample, outcome))
        return done

    def _answer(self, worker: _Worker) -> Outcome:
        try:
            outcome: Outcome = worker.conn.recv()
        except (EOFError, OSError):
            # A worker that dies mid-answer shows as either, by timing.
            worker.process.join(5)
            code = worker.process.exitcode
            self._restart(worker)
            return Outcome(Verdict.CRASH, f"the worker process died (exit {code})")
        return outcome

    def _overran(self, worker: _Worker) -> Outcome:
        self._restart(worker)
        limit = self.limits.seconds
        return Outcome(Verdict.HANG, f"no answer within {limit:g}s", limit)

    def _restart(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        fresh = self._start()
        worker.process, worker.conn = fresh.process, fresh.conn

    def close(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self.workers:
            worker.process.join(5)
            worker.process.kill()


def run(
    inputs: Iterable[Sample],
    limits: Limits,
    findings: Path,
    jobs: int = 2,
    progress: Callable[[Report], None] = lambda report: None,
) -> Report:
    """Judge every input in worker processes; save the input of each finding."""
    report, queue, started = Report(), iter(inputs), time.monotonic()
    pool = _Pool(jobs, limits)
    try:
        for worker in pool.workers:
            pool.give(worker, next(queue, None))
        while pool.busy():
            for worker, sample, outcome in pool.finished():
                report.add(sample, outcome, findings)
                progress(report)
                pool.give(worker, next(queue, None))
    finally:
        pool.close()
    report.seconds = time.monotonic() - started
    return report


def summary(report: Report, jobs: int) -> str:
    rate = report.inputs / report.seconds if report.seconds else 0.0
    rows = [
        ("inputs", f"{report.inputs:,}"),
        *((verdict.value, f"{report.verdicts[verdict]:,}") for verdict in Verdict),
        ("time", f"{report.seconds:,.1f}s ({rate:,.0f} inputs/s, {jobs} workers)"),
        ("slowest input", f"{report.slowest:.2f}s"),
    ]
    lines = [f"{name:<14} {value}" for name, value in rows]
    lines.append("refusals by message (numbers shown as N):")
    for message, count in report.messages.most_common():
        lines.append(f"{count:>8,}  {message}")
    lines.extend(f"finding: {path}" for path in report.findings)
    return "\n".join(lines)


def _progress_every(count: int) -> Callable[[Report], None]:
    step = max(1, count // 10)

    def show(report: Report) -> None:
        if report.inputs % step == 0:
            failures = report.failures
            print(
                f"{report.inputs:,}/{count:,} inputs, {failures} findings", flush=True
            )

    return show


def replay(path: Path, max_pixels: int) -> int:
    with tempfile.TemporaryDirectory(prefix="imageconv-replay-") as folder:
        outcome = convert_input(path.read_bytes(), Path(folder), max_pixels)
    print(f"{outcome.verdict} after {outcome.seconds:.2f}s: {outcome.message}")
    return 1 if outcome.verdict in FAILURES else 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--inputs", type=int, default=100_000, help="how many")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same inputs")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds each")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address space")
    parser.add_argument("--pngsuite", type=Path, default=PNGSUITE)
    parser.add_argument("--findings", type=Path, default=FINDINGS)
    parser.add_argument("--replay", type=Path, help="run one saved input and stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    limits = Limits(args.timeout, args.memory_mb)
    if args.replay:
        return replay(args.replay, limits.max_pixels)
    seeds = load_seeds(args.pngsuite)
    inputs = samples(args.inputs, args.seed, seeds)
    progress = _progress_every(args.inputs)
    report = run(inputs, limits, args.findings, args.jobs, progress)
    print(summary(report, args.jobs))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
