"""Every route of the JSON API against the real `python main.py`."""

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import png_bytes
from tests.processes import App, running, wait_until

TASK_FIELDS = {
    "id",
    "filename",
    "state",
    "error",
    "error_detail",
    "created_at",
    "started_at",
    "finished_at",
    "attempts",
    "source_bytes",
    "result_bytes",
    "width",
    "height",
    "queue_position",
    "options",
}


@pytest.fixture(name="working", scope="module")
def fixture_working(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """An app converting with the workers it starts itself."""
    root = tmp_path_factory.mktemp("working")
    with running(root / "data", root / "app.log") as app:
        yield app


@pytest.fixture(name="idle", scope="module")
def fixture_idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """An app without workers, so that tasks stay queued; 1 MB upload limit."""
    root = tmp_path_factory.mktemp("idle")
    with running(
        root / "data", root / "app.log", "--no-worker", max_upload_mb=1
    ) as app:
        yield app


def upload(app: App, *files: tuple[str, bytes], **fields: str) -> httpx.Response:
    parts = [("files", (name, content, "image/png")) for name, content in files]
    with app.client() as client:
        return client.post("/api/tasks", files=parts, data=fields)


def upload_one(app: App, name: str = "photo.png", **fields: str) -> dict[str, Any]:
    response = upload(app, (name, png_bytes()), **fields)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()[0]
    return task


def fetch(app: App, task_id: str) -> dict[str, Any]:
    with app.client() as client:
        task: dict[str, Any] = client.get(f"/api/tasks/{task_id}").json()
        return task


def wait_for_state(app: App, task_id: str, state: str) -> dict[str, Any]:
    return wait_until(lambda: (t := fetch(app, task_id))["state"] == state and t)


def test_upload_creates_a_queued_task_with_every_field(idle: App) -> None:
    response = upload(idle, ("holiday.png", png_bytes()))

    assert response.status_code == 201
    [task] = response.json()
    assert set(task) >= TASK_FIELDS
    assert task["state"] == "queued"
    assert task["filename"] == "holiday.png"
    assert task["attempts"] == 1
    assert task["queue_position"] >= 1
    assert task["source_bytes"] == len(png_bytes())
    assert task["created_at"].endswith("+00:00")
    assert task["options"] == {
        "quality": 85,
        "background": "#ffffff",
        "progressive": False,
        "keep_metadata": True,
    }


def test_upload_of_many_files_creates_one_task_each(idle: App) -> None:
    files = [(f"many-{n}.png", png_bytes()) for n in range(5)]
    with idle.client() as client:
        already = client.get("/api/tasks", params={"state": "queued"}).json()["total"]

    response = upload(idle, *files, quality="70", progressive="true")

    assert response.status_code == 201
    tasks = response.json()
    assert [t["filename"] for t in tasks] == [name for name, _ in files]
    assert {t["options"]["quality"] for t in tasks} == {70}
    assert all(t["options"]["progressive"] for t in tasks)
    places = [t["queue_position"] for t in tasks]
    assert places == list(range(already + 1, already + 6))


def test_list_is_newest_first_with_filter_and_paging(idle: App) -> None:
    first, second = upload_one(idle, "older.png"), upload_one(idle, "newer.png")

    with idle.client() as client:
        page = client.get("/api/tasks", params={"limit": 2}).json()
        later = client.get("/api/tasks", params={"limit": 1, "offset": 1}).json()
        queued = client.get("/api/tasks", params={"state": "queued"}).json()
        bad = client.get("/api/tasks", params={"state": "sleeping"})

    assert [t["id"] for t in page["tasks"]] == [second["id"], first["id"]]
    assert later["tasks"][0]["id"] == first["id"]
    assert page["total"] == queued["total"] >= 2
    assert all(t["state"] == "queued" for t in queued["tasks"])
    positions = [t["queue_position"] for t in queued["tasks"]]
    assert positions == sorted(positions, reverse=True)
    assert bad.status_code == 422


def test_converted_task_offers_its_jpeg_named_after_the_upload(working: App) -> None:
    task = upload_one(working, "Sunset at sea.png")

    done = wait_for_state(working, task["id"], "complete")
    with working.client() as client:
        result = client.get(f"/api/tasks/{task['id']}/result")

    assert result.status_code == 200
    assert result.headers["content-type"] == "image/jpeg"
    assert 'filename="Sunset at sea.jpg"' in result.headers["content-disposition"]
    assert result.headers["content-disposition"].startswith("attachment")
    image = Image.open(io.BytesIO(result.content))
    assert (image.format, image.size) == ("JPEG", (64, 48))
    assert (done["width"], done["height"]) == (64, 48)
    assert done["result_bytes"] == len(result.content)
    assert done["started_at"] <= done["finished_at"]
    assert done["queue_position"] is None


def test_source_returns_the_uploaded_png(idle: App) -> None:
    task = upload_one(idle)

    with idle.client() as client:
        source = client.get(f"/api/tasks/{task['id']}/source")

    assert source.status_code == 200
    assert source.headers["content-type"] == "image/png"
    assert source.content == png_bytes()


def test_file_that_is_not_a_png_ends_in_error_with_a_plain_message(
    working: App,
) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")

    response = upload(working, ("fake.png", jpeg.getvalue()))
    failed = wait_for_state(working, response.json()[0]["id"], "error")

    assert failed["error"].startswith("not a PNG")
    assert "JPEG" in failed["error"]
    assert failed["error_detail"]


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("GET", ""),
        ("GET", "/source"),
        ("GET", "/result"),
        ("POST", "/cancel"),
        ("POST", "/retry"),
        ("DELETE", ""),
    ],
)
def test_unknown_task_is_404_with_json_detail(
    idle: App, method: str, route: str
) -> None:
    with idle.client() as client:
        response = client.request(method, f"/api/tasks/{'0' * 32}{route}")

    assert response.status_code == 404
    assert "no task" in response.json()["detail"]


def test_result_of_unfinished_task_is_409(idle: App) -> None:
    task = upload_one(idle)

    with idle.client() as client:
        response = client.get(f"/api/tasks/{task['id']}/result")

    assert response.status_code == 409
    assert "queued" in response.json()["detail"]


def test_cancel_retry_and_delete_a_queued_task(idle: App) -> None:
    task = upload_one(idle)

    with idle.client() as client:
        cancelled = client.post(f"/api/tasks/{task['id']}/cancel")
        cancel_again = client.post(f"/api/tasks/{task['id']}/cancel")
        retried = client.post(f"/api/tasks/{task['id']}/retry")
        retry_again = client.post(f"/api/tasks/{task['id']}/retry")
        deleted = client.delete(f"/api/tasks/{task['id']}")
        after = client.get(f"/api/tasks/{task['id']}")

    assert cancelled.json()["state"] == "cancelled"
    assert cancel_again.status_code == 409
    assert retried.json()["state"] == "queued"
    assert retried.json()["attempts"] == 2
    assert retry_again.status_code == 409
    assert deleted.status_code == 204
    assert after.status_code == 404


def test_delete_removes_the_files(working: App, tmp_path: Path) -> None:
    task = upload_one(working)
    wait_for_state(working, task["id"], "complete")
    data_dir = Path(working.env["IMAGECONV_DATA_DIR"])
    assert len(list(data_dir.glob(f"*/{task['id']}.*"))) == 2

    with working.client() as client:
        deleted = client.delete(f"/api/tasks/{task['id']}")

    assert deleted.status_code == 204
    assert list(data_dir.glob(f"*/{task['id']}.*")) == []


def test_upload_over_the_limit_is_413_and_leaves_nothing(idle: App) -> None:
    big = Image.frombytes("L", (1200, 1200), bytes(range(256)) * 5625)
    buffer = io.BytesIO()
    big.save(buffer, "PNG", compress_level=0)
    with idle.client() as client:
        before = client.get("/api/tasks").json()["total"]

    response = upload(idle, ("small.png", png_bytes()), ("huge.png", buffer.getvalue()))

    assert response.status_code == 413
    assert "huge.png" in response.json()["detail"]
    assert "1 MB" in response.json()["detail"]
    with idle.client() as client:
        assert client.get("/api/tasks").json()["total"] == before
    uploads = Path(idle.env["IMAGECONV_DATA_DIR"]) / "uploads"
    assert list(uploads.glob(".upload.*")) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quality", "0"),
        ("quality", "96"),
        ("quality", "best"),
        ("background", "red"),
        ("background", "#12345"),
        ("progressive", "maybe"),
        ("colour", "#ffffff"),
    ],
)
def test_bad_option_is_422_naming_it(idle: App, field: str, value: str) -> None:
    response = upload(idle, ("a.png", png_bytes()), **{field: value})

    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_upload_without_files_or_not_multipart_is_refused(idle: App) -> None:
    with idle.client() as client:
        empty = client.post("/api/tasks", files=[("quality", (None, "80"))])
        plain = client.post(
            "/api/tasks", content=b"{}", headers={"content-type": "application/json"}
        )

    assert empty.status_code == 422
    assert "no file" in empty.json()["detail"]
    assert plain.status_code == 415
    assert "multipart" in plain.json()["detail"]


def test_health_counts_tasks_by_state(idle: App) -> None:
    upload_one(idle)

    with idle.client() as client:
        health = client.get("/api/health").json()

    assert health["status"] == "ok"
    assert health["tasks"]["queued"] >= 1
    assert health["max_running"] == 3


def test_unknown_api_route_is_json_404(idle: App) -> None:
    with idle.client() as client:
        response = client.get("/api/nothing/here")

    assert response.status_code == 404
    assert response.json()["detail"]
