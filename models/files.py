"""Where a task's files live: named by task id, never by the uploaded name."""

import errno
import logging
import secrets
from pathlib import Path

from settings import get_settings

logger = logging.getLogger("imageconv." + __name__)


def source_path(task_id: str) -> Path:
    return get_settings().uploads_dir / f"{task_id}.png"


def result_path(task_id: str) -> Path:
    return get_settings().results_dir / f"{task_id}.jpg"


def temp_result_path(task_id: str) -> Path:
    """A fresh name beside the result, so a rename puts the JPEG in place."""
    return get_settings().results_dir / f".{task_id}.{secrets.token_hex(4)}.tmp"


def temp_upload_path() -> Path:
    return get_settings().uploads_dir / f".upload.{secrets.token_hex(8)}.tmp"


def temp_results(task_id: str) -> list[Path]:
    """Temporary JPEGs of the task's earlier runs, left if their worker died."""
    return list(get_settings().results_dir.glob(f".{task_id}.*.tmp"))


def remove_unfinished_uploads() -> int:
    """Delete uploads a stopped app was still receiving; call before serving."""
    leftovers = list(get_settings().uploads_dir.glob(".upload.*.tmp"))
    for path in leftovers:
        remove(path)
    return len(leftovers)


def remove_orphans(task_ids: set[str]) -> int:
    """Delete sources and results of tasks not in `task_ids`; call before serving.

    A kill between storing a file and adding or deleting its task leaves one.
    """
    settings = get_settings()
    found = [*settings.uploads_dir.glob("*.png"), *settings.results_dir.glob("*.jpg")]
    orphans = [path for path in found if path.stem not in task_ids]
    for path in orphans:
        remove(path)
    return len(orphans)


def make_dirs() -> None:
    settings = get_settings()
    for folder in (settings.data_dir, settings.uploads_dir, settings.results_dir):
        folder.mkdir(parents=True, exist_ok=True)


def remove(path: Path) -> None:
    """Delete a file if it is there; a disk that refuses is logged, not raised."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not delete %s: %s", path, describe_storage_error(exc))


def remove_task_files(task_id: str) -> None:
    remove(source_path(task_id))
    remove(result_path(task_id))


def describe_storage_error(exc: OSError) -> str:
    """Say in plain words why a file under the data directory failed."""
    if exc.errno in {errno.ENOSPC, errno.EDQUOT}:
        return "the disk holding the data directory is full"
    if exc.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
        return "the data directory is not writable"
    return f"a file in the data directory could not be used ({exc.strerror or exc})"


def database_bytes() -> int:
    """Bytes of the task database and the queue, with their write-ahead logs."""
    settings = get_settings()
    databases = [settings.database_path, settings.queue_path]
    extra = [path.with_name(path.name + "-wal") for path in databases]
    return sum(path.stat().st_size for path in [*databases, *extra] if path.exists())
