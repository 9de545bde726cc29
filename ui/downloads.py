"""Files the page shows or hands out beside the JSON API: thumbnails and ZIPs.

They live outside /api because that router answers every unknown /api path
itself, whatever is included after it.
"""

import time

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from models import store
from ui.archive import archive_path, is_token
from ui.thumbs import thumbnail

router = APIRouter(prefix="/files")

# A task's picture never changes, so its thumbnail may be kept a long time.
THUMB_CACHE = "private, max-age=86400, immutable"


def thumb_url(task_id: str) -> str:
    return f"/files/thumbs/{task_id}.webp"


def archive_url(token: str) -> str:
    return f"/files/archives/{token}.zip"


@router.get("/thumbs/{task_id}.webp")
def get_thumb(task_id: str) -> FileResponse:
    if store.get_task(task_id) is None:
        raise HTTPException(404, f"no task with id {task_id!r}")
    path = thumbnail(task_id)
    if path is None:
        raise HTTPException(404, f"task {task_id} has no readable image")
    return FileResponse(
        path, media_type="image/webp", headers={"Cache-Control": THUMB_CACHE}
    )


@router.get("/archives/{token}.zip")
def get_archive(token: str) -> FileResponse:
    path = archive_path(token)
    if not is_token(token) or not path.exists():
        raise HTTPException(404, "no such archive; it may have expired")
    name = time.strftime("imageconv-%Y%m%d-%H%M%S.zip")
    return FileResponse(path, media_type="application/zip", filename=name)
