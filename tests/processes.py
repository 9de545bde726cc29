"""Start and stop the real programs the tests talk to."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypeVar

import httpx

REPO = Path(__file__).resolve().parents[1]
HUEY_CONSUMER = Path(sys.executable).with_name("huey_consumer")
T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | Literal[False] | None],
    timeout: float = 20.0,
    interval: float = 0.05,
) -> T:
    """Poll `probe` until it returns something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {probe}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def app_env(data_dir: Path, **settings: object) -> dict[str, str]:
    # NiceGUI treats a process with PYTEST_* variables as a test harness.
    ours = ("IMAGECONV_", "PYTEST_", "NICEGUI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env["IMAGECONV_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in settings.items():
        env[f"IMAGECONV_{name.upper()}"] = str(value)
    return env


class Program:
    """A real process of ours, with its output kept in a log file."""

    def __init__(
        self, args: list[str], env: dict[str, str], log: Path, cwd: Path = REPO
    ) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Program":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, then reap, so that nothing is left of the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=10)

    def interrupt(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        """Ctrl+C (or another signal); return the exit code."""
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


class App(Program):
    """`python main.py` on a free port."""

    def __init__(
        self, data_dir: Path, log: Path, *flags: str, **settings: object
    ) -> None:
        self.port = free_port()
        args = [sys.executable, str(REPO / "main.py"), "--port", str(self.port), *flags]
        super().__init__(args, app_env(data_dir, **settings), log)
        self.url = f"http://127.0.0.1:{self.port}"
        token = settings.get("access_token")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def start(self) -> "App":
        super().start()
        wait_until(self._ready, timeout=30)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"app exited early:\n{self.output()}")
        try:
            health = httpx.get(
                f"{self.url}/api/health", headers=self.headers, timeout=1
            )
            return health.status_code == 200
        except httpx.HTTPError:
            return False

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30)

    def worker_pids(self) -> list[int]:
        """The worker processes this app has running now (Linux /proc)."""
        return [
            pid
            for pid in children(self.pid)
            if b"jobs.runner" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]


def children(parent: int) -> list[int]:
    """Live processes whose parent is `parent`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(parent) and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Consumer(Program):
    """`huey_consumer jobs.huey -w N`, as a person would run it."""

    def __init__(
        self, data_dir: Path, log: Path, workers: int = 3, **settings: object
    ) -> None:
        args = [str(HUEY_CONSUMER), "jobs.huey", "-w", str(workers)]
        super().__init__(args, app_env(data_dir, **settings), log)

    def start(self) -> "Consumer":
        super().start()
        wait_until(lambda: "consumer started" in self.output(), timeout=30)
        return self


@contextmanager
def running(
    data_dir: Path, log: Path, *flags: str, **settings: object
) -> Iterator[App]:
    """`python main.py` on a free port, stopped (SIGTERM) on the way out."""
    data_dir.mkdir(parents=True, exist_ok=True)
    app = App(data_dir, log, *flags, **settings)
    try:
        yield app.start()
    finally:
        app.stop()
