"""What the person chose on the page, kept in the data directory between visits.

The app is local and single-person, so the choices live beside the tasks
rather than in a browser: they survive reloads, restarts and the native
window (whose web view forgets cookies when it closes).
"""

import json
import logging
import os
import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from models.files import make_dirs
from models.options import TaskOptions
from settings import get_settings

logger = logging.getLogger("imageconv." + __name__)


class Theme(StrEnum):
    AUTO = "auto"
    LIGHT = "light"
    DARK = "dark"


class Preferences(BaseModel):
    model_config = ConfigDict(frozen=True)

    options: TaskOptions
    theme: Theme = Theme.AUTO


def preferences_path() -> Path:
    return get_settings().data_dir / "preferences.json"


def default_preferences() -> Preferences:
    return Preferences(options=TaskOptions(quality=get_settings().jpeg_quality))


def load_preferences() -> Preferences:
    """Read the saved choices; the defaults when there are none or they are bad."""
    path = preferences_path()
    try:
        return Preferences.model_validate(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        return default_preferences()
    except (OSError, ValueError, ValidationError) as exc:
        logger.warning("ignoring unreadable preferences in %s: %s", path, exc)
        return default_preferences()


def save_preferences(preferences: Preferences) -> None:
    make_dirs()
    path = preferences_path()
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temp.write_text(preferences.model_dump_json(indent=2), "utf-8")
    os.replace(temp, path)


def remember(**changes: object) -> Preferences:
    """Save `changes` over what is saved now, so that other tabs' choices stay."""
    preferences = load_preferences().model_copy(update=changes)
    save_preferences(preferences)
    return preferences
