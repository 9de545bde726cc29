"""Fixtures shared by the test modules: real programs, data dirs, images."""

import atexit
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.processes import REPO, App, Consumer, Program

PNGSUITE = REPO.parent / "shared" / "pngsuite"


def pytest_configure(config: pytest.Config) -> None:
    # Modules imported by in-process tests read their settings once; keep
    # their files away from the repository's own data/.
    data_dir = tempfile.mkdtemp(prefix="imageconv-tests-")
    os.environ["IMAGECONV_DATA_DIR"] = data_dir
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)


@pytest.fixture(name="data_dir")
def fixture_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(name="programs")
def fixture_programs() -> Iterator[list[Program]]:
    """Every program a test starts; all are stopped when it ends."""
    started: list[Program] = []
    yield started
    for program in started:
        program.stop()


@pytest.fixture(name="start_app")
def fixture_start_app(
    data_dir: Path, tmp_path: Path, programs: list[Program]
) -> Callable[..., App]:
    def start(*flags: str, **settings: object) -> App:
        log = tmp_path / f"app-{len(programs)}.log"
        app = App(data_dir, log, *flags, **settings)
        programs.append(app)
        return app.start()

    return start


@pytest.fixture(name="start_consumer")
def fixture_start_consumer(
    data_dir: Path, tmp_path: Path, programs: list[Program]
) -> Callable[..., Consumer]:
    def start(workers: int = 3, **settings: object) -> Consumer:
        log = tmp_path / f"consumer-{len(programs)}.log"
        consumer = Consumer(data_dir, log, workers, **settings)
        programs.append(consumer)
        return consumer.start()

    return start


def png_bytes(
    size: tuple[int, int] = (64, 48), mode: str = "RGB", colour: object = "teal"
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")  # type: ignore[arg-type]
    return buffer.getvalue()
