"""Off loopback the app needs an access token, on the page and every API route."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import png_bytes
from tests.processes import REPO, App, app_env, free_port, running

TOKEN = "correct-horse-battery-staple"


def test_app_refuses_to_listen_beyond_loopback_without_a_token(data_dir: Path) -> None:
    command = [
        sys.executable,
        "main.py",
        "--host",
        "0.0.0.0",
        "--port",
        str(free_port()),
    ]

    finished = subprocess.run(
        command,
        cwd=REPO,
        env=app_env(data_dir),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert finished.returncode == 2
    assert "IMAGECONV_ACCESS_TOKEN" in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.fixture(name="guarded", scope="module")
def fixture_guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    root = tmp_path_factory.mktemp("guarded")
    flags = ("--host", "0.0.0.0", "--no-worker")
    with running(root / "data", root / "app.log", *flags, access_token=TOKEN) as app:
        yield app


@pytest.mark.parametrize(
    "path", ["/api/tasks", "/api/health", "/", "/api/tasks/x/result"]
)
def test_requests_without_the_token_are_refused(guarded: App, path: str) -> None:
    response = httpx.get(f"{guarded.url}{path}")

    assert response.status_code == 401
    assert "token" in response.json()["detail"]


@pytest.mark.parametrize("token", ["x", "wrong-token-of-some-length", TOKEN[:-1]])
def test_a_wrong_token_is_refused(guarded: App, token: str) -> None:
    response = httpx.get(
        f"{guarded.url}/api/tasks", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401


def test_the_bearer_token_opens_the_api(guarded: App) -> None:
    with guarded.client() as client:
        response = client.get("/api/tasks")

    assert response.status_code == 200


def test_uploads_need_the_token_too(guarded: App) -> None:
    files = [("files", ("guarded.png", png_bytes(), "image/png"))]
    with guarded.client() as client:
        before = client.get("/api/tasks").json()["total"]

        refused = httpx.post(f"{guarded.url}/api/tasks", files=files)
        wrong = httpx.post(
            f"{guarded.url}/api/tasks",
            files=files,
            headers={"Authorization": "Bearer wrong-token-of-some-length"},
        )
        between = client.get("/api/tasks").json()["total"]
        accepted = client.post("/api/tasks", files=files)

    assert refused.status_code == wrong.status_code == 401
    assert between == before
    assert accepted.status_code == 201


def test_a_link_with_the_token_opens_the_page_and_sets_a_cookie(guarded: App) -> None:
    with httpx.Client(base_url=guarded.url) as browser:
        first = browser.get("/", params={"token": TOKEN})
        again = browser.get("/")
        api = browser.get("/api/tasks")

    assert first.status_code == 200
    assert "httponly" in first.headers["set-cookie"].lower()
    assert again.status_code == 200
    assert api.status_code == 200
