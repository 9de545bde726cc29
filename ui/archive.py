"""Many JPEGs as one ZIP file, each under a name of its own."""

import contextlib
import logging
import os
import secrets
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePath

from models import Task, TaskState
from models.files import remove, result_path
from settings import get_settings
from ui.intake import jpeg_name

logger = logging.getLogger("imageconv." + __name__)

# A ZIP is fetched once, right after it is made; older ones are litter.
KEEP_ARCHIVES_S = 3600
TOKEN_BYTES = 12


def archives_dir() -> Path:
    return get_settings().data_dir / "archives"


def archive_path(token: str) -> Path:
    return archives_dir() / f"{token}.zip"


def is_token(text: str) -> bool:
    hex_digits = set("0123456789abcdef")
    return len(text) == TOKEN_BYTES * 2 and set(text) <= hex_digits


def unique_names(names: Iterable[str]) -> list[str]:
    """Rename repeats as "name (2).jpg", "name (3).jpg"; case does not count."""
    taken: set[str] = set()
    unique = []
    for name in names:
        stem, suffix = PurePath(name).stem, PurePath(name).suffix
        candidate, number = name, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{stem} ({number}){suffix}"
        taken.add(candidate.casefold())
        unique.append(candidate)
    return unique


def write_archive(tasks: list[Task]) -> tuple[str, int]:
    """Put the JPEGs of the complete `tasks` in a new ZIP; its token and size."""
    complete = [task for task in tasks if task.state == TaskState.COMPLETE]
    names = unique_names(jpeg_name(task.filename) for task in complete)
    _prune()
    token = secrets.token_hex(TOKEN_BYTES)
    target = archive_path(token)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".tmp")
    written = 0
    # JPEG data does not shrink further; storing saves time for nothing lost.
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_STORED) as archive:
        for task, name in zip(complete, names, strict=True):
            written += _add(archive, task, name)
    os.replace(temp, target)
    logger.info("archive %s: %d JPEGs", token, written)
    return token, written


def _add(archive: zipfile.ZipFile, task: Task, name: str) -> int:
    try:
        archive.write(result_path(task.id), name)
    except FileNotFoundError:
        # Deleted or retried since it was listed.
        logger.warning("archive: JPEG of task %s is gone; left out", task.id)
        return 0
    return 1


def _prune() -> None:
    cutoff = time.time() - KEEP_ARCHIVES_S
    for path in archives_dir().glob("*.zip"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                remove(path)
