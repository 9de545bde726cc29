"""Turn received files into queued tasks: the one path every upload takes."""

import logging
import os
import unicodedata
from pathlib import PurePath

from jobs import enqueue
from models import Task, store
from models.files import make_dirs, remove, source_path
from models.options import TaskOptions
from models.task import new_task_id, utcnow
from ui.uploads import ReceivedFile

logger = logging.getLogger("imageconv." + __name__)

MAX_NAME_BYTES = 255


def safe_filename(raw: str) -> str:
    """Keep the last path component, printable characters, 255 bytes at most."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch == " " or _printable(ch))
    name = name.strip(" .") or "image.png"
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 16:
        stem, dot, suffix = name, "", ""
    budget = MAX_NAME_BYTES - len(f"{dot}{suffix}".encode())
    stem = stem.encode()[:budget].decode(errors="ignore")
    return f"{stem}{dot}{suffix}"


def jpeg_name(filename: str) -> str:
    """Name the JPEG of an upload: its name with .jpg, kept safe and short."""
    return safe_filename(PurePath(filename).stem + ".jpg")


def _printable(ch: str) -> bool:
    # Controls, format marks (such as right-to-left overrides) and separators.
    return unicodedata.category(ch)[0] not in "CZ"


def submit(received: ReceivedFile, options: TaskOptions) -> Task:
    """Store the received file as a new queued task and put it in line."""
    return submit_all([received], options)[0]


def submit_all(files: list[ReceivedFile], options: TaskOptions) -> list[Task]:
    """Store the received files as new queued tasks, in one transaction."""
    make_dirs()
    tasks = [_new_task(received, options) for received in files]
    try:
        for received, task in zip(files, tasks, strict=True):
            os.replace(received.path, source_path(task.id))
        store.add_tasks(tasks)
    except Exception:
        for task in tasks:
            remove(source_path(task.id))
        raise
    for task in tasks:
        enqueue(task.id)
        logger.info(
            "task %s queued: %s (%d bytes)", task.id, task.filename, task.source_bytes
        )
    return tasks


def _new_task(received: ReceivedFile, options: TaskOptions) -> Task:
    # Given rather than left to the fields' default factories, which pydantic
    # inspects on every construction.
    now = utcnow()
    return Task(
        id=new_task_id(),
        created_at=now,
        queued_at=now,
        filename=safe_filename(received.filename),
        source_bytes=received.size,
        **options.model_dump(),
    )
