"""The conversion task a huey worker runs for one task id."""

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from huey.exceptions import RetryTask
from sqlalchemy.exc import OperationalError

from jobs.convert import ConvertOptions, ConvertResult, convert_png
from jobs.exceptions import ConversionError
from jobs.queue import STOPPING, huey
from models import Task, store
from models.files import (
    describe_storage_error,
    remove,
    result_path,
    source_path,
    temp_result_path,
)
from settings import get_settings

logger = logging.getLogger("imageconv." + __name__)

# How long a message waits before asking again for a slot held elsewhere.
NO_SLOT_DELAY_S = 0.5
CANCEL_POLL_S = 0.1
DB_RETRY_DELAY_S = 2.0


class Stopped(Exception):
    """The running conversion must end now: cancelled, or the consumer stops."""


def owner_id() -> str:
    """Name this process as the owner of the tasks it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


@huey.task(name="convert")
def convert_task(task_id: str) -> None:
    try:
        run_task(task_id)
    except OperationalError as exc:
        # A full disk or a long lock: the row is as the last write left it,
        # and recovery finds a task that was claimed and then lost.
        logger.warning(
            "task %s: database unavailable (%s); retrying in %gs",
            task_id,
            exc.orig,
            DB_RETRY_DELAY_S,
        )
        raise RetryTask(delay=DB_RETRY_DELAY_S) from exc


def enqueue(task_id: str) -> None:
    convert_task(task_id)


def run_task(task_id: str) -> None:
    """Claim the task and convert it, or leave the message for later."""
    settings = get_settings()
    owner = owner_id()
    outcome, task = store.claim_task(task_id, owner, settings.max_running)
    if outcome is store.Claim.NO_SLOT:
        raise RetryTask(delay=NO_SLOT_DELAY_S)
    if task is None:
        logger.debug("task %s is no longer queued; message dropped", task_id)
        return
    _log_start(task)
    _run_claimed(task, owner)


def _log_start(task: Task) -> None:
    waited = _seconds_between(task.queued_at, task.started_at)
    logger.info(
        "task %s running: %s (attempt %d, %.2fs in line)",
        task.id,
        task.filename,
        task.attempts,
        waited,
    )


def _run_claimed(task: Task, owner: str) -> None:
    started = time.monotonic()
    temp = temp_result_path(task.id)
    try:
        result = _convert(task, owner, temp)
    except Stopped:
        remove(temp)
        _stop(task, owner, time.monotonic() - started)
        return
    except ConversionError as exc:
        remove(temp)
        _fail(task, owner, exc.message, exc.detail, time.monotonic() - started)
        return
    except OSError as exc:
        remove(temp)
        message = f"could not write the JPEG: {describe_storage_error(exc)}"
        _fail(task, owner, message, repr(exc), time.monotonic() - started)
        return
    except Exception as exc:
        remove(temp)
        logger.exception("task %s: unexpected failure", task.id)
        message = "internal error while converting; see the server log"
        _fail(task, owner, message, repr(exc), time.monotonic() - started)
        return
    _publish(task, owner, temp, result, time.monotonic() - started)


class _StopCheck:
    """Raise Stopped if the consumer stops or the task is to stop.

    The database is asked at most twice every CANCEL_POLL_S, counting from
    the claim: a small image converts in milliseconds, and asking between
    each of its steps cost more than converting it. complete() refuses a
    task cancelled in the meantime, so a late cancel still leaves no JPEG.
    """

    def __init__(self, task_id: str, owner: str) -> None:
        self.task_id = task_id
        self.owner = owner
        self.asked = time.monotonic()

    def __call__(self) -> None:
        if STOPPING.is_set():
            raise Stopped
        if time.monotonic() - self.asked < CANCEL_POLL_S / 2:
            return
        self.asked = time.monotonic()
        if store.cancel_requested(self.task_id, self.owner):
            raise Stopped


def _convert(task: Task, owner: str, temp: Path) -> ConvertResult:
    check = _StopCheck(task.id, owner)
    _wait(get_settings().task_delay, check)
    options = ConvertOptions(
        quality=task.quality,
        background=_rgb(task.background),
        progressive=task.progressive,
        keep_metadata=task.keep_metadata,
    )
    source = source_path(task.id)
    if not source.exists():
        raise ConversionError("the uploaded PNG is missing", str(source))
    max_pixels = get_settings().max_pixels
    return convert_png(source, temp, options, max_pixels=max_pixels, check=check)


def _wait(seconds: float, check: Callable[[], None]) -> None:
    """Wait `seconds` before converting, stopping early when asked to."""
    deadline = time.monotonic() + seconds
    check()
    while (left := deadline - time.monotonic()) > 0:
        STOPPING.wait(min(CANCEL_POLL_S, left))
        check()


def _publish(
    task: Task, owner: str, temp: Path, result: ConvertResult, took: float
) -> None:
    final = result_path(task.id)
    os.replace(temp, final)
    if store.complete(task.id, owner, result.size, result.width, result.height):
        logger.info(
            "task %s complete in %.2fs: %dx%d, %d -> %d bytes",
            task.id,
            took,
            result.width,
            result.height,
            task.source_bytes,
            result.size,
        )
        return
    # Cancelled or deleted while the file was being written: keep no output.
    remove(final)
    _stop(task, owner, took)


def _stop(task: Task, owner: str, took: float) -> None:
    if STOPPING.is_set() and store.requeue(task.id, owner):
        logger.info("task %s back in line after %.2fs: shutting down", task.id, took)
        return
    if store.stop_cancelled(task.id, owner):
        logger.info("task %s cancelled after %.2fs", task.id, took)


def _fail(task: Task, owner: str, message: str, detail: str, took: float) -> None:
    if store.fail(task.id, owner, message, detail):
        logger.warning("task %s failed after %.2fs: %s", task.id, took, message)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.removeprefix("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def _seconds_between(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return (end - start).total_seconds()
