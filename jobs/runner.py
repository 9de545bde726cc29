"""The worker process `python main.py` runs beside its web server.

Conversions run in a process of their own, as under `huey_consumer`, so
that the web server and the workers each have an interpreter (and a GIL)
to themselves. The process dies with the program: a `kill -9` of
`python main.py` ends its conversions too, and recovery takes them up at
the next start.
"""

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from settings import Settings, configure_logging, get_settings

logger = logging.getLogger("imageconv.jobs.runner")

# A worker process that dies is started again after this pause, doubled
# each time one dies young, so that one failing at start-up does not spin.
RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 60.0
YOUNG_S = 10.0
# Past its own stop timeout, a worker process that is still there is killed.
STOP_GRACE_S = 3.0
PARENT_CHECK_S = 0.25
_PR_SET_PDEATHSIG = 1
PROGRAM_ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    """Start, watch and stop the worker process of this program."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        # Held while starting a process, so that stop() never misses one.
        self.starting = threading.Lock()
        self.watcher = threading.Thread(
            target=self._watch, name="imageconv-workers", daemon=True
        )

    def start(self) -> None:
        # The watcher starts the process, and starts it again if it dies: a
        # child set to die with its parent dies with the thread that made it.
        self.watcher.start()

    def stop(self, timeout: float) -> None:
        """Ask the workers to put running tasks back in line, and wait."""
        with self.starting:
            self.stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout + STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            logger.warning("worker process %d did not stop; killed", process.pid)
            process.kill()
            process.wait()

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "jobs.runner", "--parent", str(os.getpid())]
        return subprocess.Popen(command, env=_environment(self.settings))

    def _watch(self) -> None:
        delay = RESTART_DELAY_S
        while True:
            with self.starting:
                if self.stopping.is_set():
                    return
                self.process = process = self._spawn()
            started = time.monotonic()
            code = process.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= YOUNG_S:
                delay = RESTART_DELAY_S
            logger.warning(
                "worker process %d %s; starting another in %gs",
                process.pid,
                _ended(code),
                delay,
            )
            if self.stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_RESTART_DELAY_S)


def _ended(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _environment(settings: Settings) -> dict[str, str]:
    """This process's environment, with its settings as the worker's to read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGECONV_")}
    # `python main.py` may run from another directory; the worker process
    # keeps that one (relative paths in the settings mean the same), and
    # finds the program's packages here.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROGRAM_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if name == "data_dir":
            value = settings.data_dir.resolve()
        env[f"IMAGECONV_{name.upper()}"] = str(value)
    return env


def _die_with(parent: int) -> None:
    """End this process as soon as `parent` is gone, however it went."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    # Where prctl is missing, or the parent died before it took effect.
    def check() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=check, name="imageconv-parent", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.runner")
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with(args.parent)

    from jobs import huey

    settings = get_settings()
    configure_logging(settings)
    logging.getLogger("huey").setLevel(logging.WARNING)
    consumer = huey.create_consumer(workers=settings.workers)
    logger.info("worker process %d: %d workers", os.getpid(), settings.workers)
    consumer.run()


if __name__ == "__main__":
    main()
