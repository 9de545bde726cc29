"""Per-task conversion options as a person or a script gives them."""

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class TaskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quality: int = Field(default=85, ge=1, le=95)
    background: str = "#ffffff"
    progressive: bool = False
    keep_metadata: bool = True

    @field_validator("background")
    @classmethod
    def _hex_colour(cls, value: str) -> str:
        if not HEX_COLOUR.match(value):
            raise ValueError("must be a colour written #rrggbb, e.g. #ffffff")
        return value.lower()
