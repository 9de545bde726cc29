"""API uploads go straight to their route, past the page's middleware."""

from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.access import TokenGate

UPLOAD_PATH = "/api/tasks"


class UploadsFirst:
    """Send `POST /api/tasks` to `uploads` and every other request to `app`.

    NiceGUI wraps its app in BaseHTTPMiddleware classes (prefix redirects,
    cache headers for its own files), and each hands every chunk of a request
    body through a task group of its own: for large uploads that was 40% of
    the web server's time, spent on middleware that has nothing to do with
    an upload.
    """

    def __init__(self, app: ASGIApp, uploads: ASGIApp) -> None:
        self.app = app
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_upload(scope):
            await self.uploads(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_upload(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    path: str = scope["path"]
    return path.rstrip("/") == UPLOAD_PATH


def route_uploads_first(app: FastAPI, uploads: APIRouter, token: str | None) -> None:
    """Serve `uploads` (mounted at /api) ahead of `app`'s middleware stack."""
    direct = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    direct.include_router(uploads, prefix="/api")
    served: ASGIApp = direct if token is None else TokenGate(direct, token)
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    # Starlette builds the stack on the first request, after NiceGUI has added
    # its middleware; wrapping the builder puts this in front of all of it.
    def build_behind_uploads() -> ASGIApp:
        return UploadsFirst(build(), served)

    app.build_middleware_stack = build_behind_uploads  # type: ignore[method-assign]
