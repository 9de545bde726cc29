"""The JSON API under /api, used by the page's uploads, scripts and tests."""

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from jobs import enqueue
from models import Task, TaskState, store
from models.files import result_path, source_path
from models.options import TaskOptions
from settings import get_settings
from ui import intake
from ui.disposition import attachment
from ui.uploads import UploadError, receive, storage_failure

logger = logging.getLogger("imageconv." + __name__)

router = APIRouter(prefix="/api")
# Uploads, kept apart so that they can be served ahead of the page's
# middleware (ui/bypass.py); included in `router` too, for the docs.
uploads = APIRouter()

OPTION_FIELDS = ("quality", "background", "progressive", "keep_metadata")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def task_json(task: Task, position: int | None = None) -> dict[str, Any]:
    return {
        "id": task.id,
        "filename": task.filename,
        "state": task.state.value,
        "error": task.error,
        "error_detail": task.error_detail,
        "created_at": _iso(task.created_at),
        "started_at": _iso(task.started_at),
        "finished_at": _iso(task.finished_at),
        "attempts": task.attempts,
        "source_bytes": task.source_bytes,
        "result_bytes": task.result_bytes,
        "width": task.width,
        "height": task.height,
        "queue_position": position,
        "cancel_requested": task.cancel_requested,
        "options": {name: getattr(task, name) for name in OPTION_FIELDS},
    }


def _found(task_id: str) -> Task:
    task = store.get_task(task_id)
    if task is None:
        raise HTTPException(404, f"no task with id {task_id!r}")
    return task


def _json(task_id: str) -> dict[str, Any]:
    task = _found(task_id)
    return task_json(task, store.queue_position(task))


def parse_options(fields: dict[str, str]) -> TaskOptions:
    """Validate the form's option fields; a bad value is a 422 naming it."""
    unknown = set(fields) - set(OPTION_FIELDS)
    if unknown:
        raise HTTPException(422, f"unknown form field(s): {', '.join(sorted(unknown))}")
    given = {name: value for name, value in fields.items() if value != ""}
    given.setdefault("quality", str(get_settings().jpeg_quality))
    try:
        return TaskOptions.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}={error.get('input')!r}: {error['msg']}"
            for error in exc.errors()
        )
        raise HTTPException(422, f"bad option: {problems}") from exc


@uploads.post("/tasks", status_code=201)
async def create_tasks(request: Request) -> list[dict[str, Any]]:
    settings = get_settings()
    try:
        upload = await receive(
            request.headers.get("content-type"),
            request.stream(),
            file_field="files",
            max_file_bytes=settings.max_upload_bytes,
        )
    except UploadError as exc:
        raise HTTPException(exc.status, exc.detail) from exc
    try:
        if not upload.files:
            raise HTTPException(422, "no file given: send one or more in field 'files'")
        options = parse_options(upload.fields)
    except HTTPException:
        upload.discard()
        raise
    try:
        tasks = await run_in_threadpool(intake.submit_all, upload.files, options)
    except OSError as exc:
        upload.discard()
        logger.warning("upload not stored: %s", exc)
        raise HTTPException(507, storage_failure(exc).detail) from exc
    except OperationalError as exc:
        upload.discard()
        logger.warning("upload not stored: database unavailable: %s", exc.orig)
        detail = f"upload not stored: the task database is unavailable ({exc.orig})"
        raise HTTPException(503, detail) from exc
    positions = store.places_in_line(tasks)
    return [task_json(task, positions.get(task.id)) for task in tasks]


router.include_router(uploads)


@router.get("/tasks")
def list_tasks(
    state: TaskState | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> dict[str, Any]:
    page = store.list_tasks(state, limit, offset)
    positions = store.queue_positions() if _any_queued(page.tasks) else {}
    return {
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "tasks": [task_json(task, positions.get(task.id)) for task in page.tasks],
    }


def _any_queued(tasks: list[Task]) -> bool:
    return any(task.state == TaskState.QUEUED for task in tasks)


@router.get("/tasks/{task_id}")
def get_task(task_id: str) -> dict[str, Any]:
    return _json(task_id)


@router.get("/tasks/{task_id}/source")
def get_source(task_id: str) -> FileResponse:
    task = _found(task_id)
    headers = {"Content-Disposition": attachment(task.filename)}
    return FileResponse(source_path(task.id), media_type="image/png", headers=headers)


@router.get("/tasks/{task_id}/result")
def get_result(task_id: str) -> FileResponse:
    task = _found(task_id)
    if task.state != TaskState.COMPLETE:
        raise HTTPException(409, f"task {task_id} is {task.state.value}, not complete")
    headers = {"Content-Disposition": attachment(intake.jpeg_name(task.filename))}
    return FileResponse(result_path(task.id), media_type="image/jpeg", headers=headers)


@router.post("/tasks/{task_id}/cancel")
def cancel_task(task_id: str) -> dict[str, Any]:
    task = _found(task_id)
    if not store.cancel(task_id):
        detail = f"task {task_id} is {task.state}; only queued or running can cancel"
        raise HTTPException(409, detail)
    return _json(task_id)


@router.post("/tasks/{task_id}/retry")
def retry_task(task_id: str) -> dict[str, Any]:
    task = _found(task_id)
    if not store.retry(task_id):
        detail = f"task {task_id} is {task.state}; only error or cancelled can retry"
        raise HTTPException(409, detail)
    enqueue(task_id)
    return _json(task_id)


@router.delete("/tasks/{task_id}", status_code=204)
def delete_task(task_id: str) -> None:
    _found(task_id)
    store.discard(task_id)


@router.get("/health")
def health() -> dict[str, Any]:
    counts = store.count_by_state()
    return {
        "status": "ok",
        "tasks": {state.value: count for state, count in counts.items()},
        "max_running": get_settings().max_running,
    }


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_route(path: str) -> JSONResponse:
    return JSONResponse({"detail": f"no API route /api/{path}"}, status_code=404)
