"""The one settings object, read from IMAGECONV_* variables and validated once."""

import ipaddress
import logging
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(Exception):
    """A setting has a value the program cannot run with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMAGECONV_", extra="ignore")

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_running: int = Field(default=3, ge=1, le=64)
    workers: int = Field(default=3, ge=1, le=64)
    task_delay: float = Field(default=0.0, ge=0, le=3600)
    max_upload_mb: float = Field(default=50.0, gt=0)
    max_pixels: int = Field(default=100_000_000, ge=1)
    jpeg_quality: int = Field(default=85, ge=1, le=95)
    database_url: str | None = None
    poll_interval: float = Field(default=0.1, gt=0, le=10)
    heartbeat_interval: float = Field(default=1.0, gt=0, le=60)
    heartbeat_timeout: float = Field(default=10.0, gt=0, le=3600)
    log_level: str = "INFO"
    access_token: str | None = Field(default=None, min_length=16)
    retention_days: float | None = Field(default=None, gt=0)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _token_off_loopback(self) -> "Settings":
        if self.access_token is None and not is_loopback(self.host):
            raise ValueError(
                f"listening on {self.host} lets other machines in: set "
                "IMAGECONV_ACCESS_TOKEN (16 characters or more) or use 127.0.0.1"
            )
        return self

    @property
    def database_path(self) -> Path:
        return self.data_dir / "tasks.sqlite3"

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.database_path}"


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        if not problem["loc"]:
            lines.append(problem["msg"].removeprefix("Value error, "))
            continue
        name = "IMAGECONV_" + "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"{name}={problem.get('input')!r}: {problem['msg']}")
    return "invalid setting: " + "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read the environment, apply `overrides` (CLI flags) and validate."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from exc


_current: list[Settings] = []


def get_settings() -> Settings:
    """Return the process-wide settings, reading the environment on first use."""
    if not _current:
        _current.append(load_settings())
    return _current[0]


def configure(**overrides: Any) -> Settings:
    """Set the process-wide settings; call before anything reads them."""
    _current[:] = [load_settings(**overrides)]
    return _current[0]


def configure_logging(settings: Settings) -> None:
    """Send the program's log lines to stderr, one line per event."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    root = logging.getLogger("imageconv")
    if not root.handlers:
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    root.propagate = False
