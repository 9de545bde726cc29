"""Small previews of a task's image, made on first request and kept on disk.

They are made by the web server when a page first shows them, never by the
workers, and at most two at a time so that a page full of new rows does not
take the processor away from the conversions.
"""

import logging
import os
import secrets
import threading
import warnings
from pathlib import Path

from PIL import Image

from models.files import remove, result_path, source_path
from settings import get_settings

logger = logging.getLogger("imageconv." + __name__)

THUMB_SIDE = 160
# Decoding a PNG has no shortcut: a huge one would cost seconds and a lot of
# memory for a 160-pixel picture. The JPEG, once there, decodes scaled down.
MAX_PNG_PIXELS = 40_000_000
_making = threading.BoundedSemaphore(2)
_UNREADABLE = (
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


def thumbs_dir() -> Path:
    return get_settings().data_dir / "thumbs"


def thumb_path(task_id: str) -> Path:
    return thumbs_dir() / f"{task_id}.webp"


def remove_thumb(task_id: str) -> None:
    remove(thumb_path(task_id))


def thumbnail(task_id: str) -> Path | None:
    """The task's thumbnail, made now if needed; None if its image is unreadable."""
    target = thumb_path(task_id)
    if target.exists():
        return target
    with _making:
        if target.exists():
            return target
        return _make(task_id, target)


def _make(task_id: str, target: Path) -> Path | None:
    try:
        image = _small_image(task_id)
    except _UNREADABLE as exc:
        logger.debug("no thumbnail for task %s: %s", task_id, exc)
        return None
    if image is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    image.save(temp, "WEBP", quality=80)
    os.replace(temp, target)
    return target


def _small_image(task_id: str) -> Image.Image | None:
    result = result_path(task_id)
    if result.exists():
        return _shrink(result)
    source = source_path(task_id)
    if not source.exists():
        return None
    return _shrink(source)


def _shrink(path: Path) -> Image.Image | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
            elif image.width * image.height > MAX_PNG_PIXELS:
                return None
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            return image.convert("RGBA" if _has_alpha(image) else "RGB")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
