"""The baseline: Pillow alone, as a short script converting PNG to JPEG would."""

import time
from pathlib import Path

from PIL import Image

WHITE = (255, 255, 255)
QUALITY = 85
# The options imageconv uses at its default quality: 4:2:0, baseline.
JPEG_OPTIONS = {"quality": QUALITY, "subsampling": 2, "progressive": False}


def convert(source: Path, dest: Path) -> None:
    """Open, flatten onto white, save as JPEG."""
    with Image.open(source) as image:
        image.load()
        _flatten(image).save(dest, "JPEG", **JPEG_OPTIONS)


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, WHITE)
        flat.paste(image, mask=image)
        return flat
    if image.mode not in ("RGB", "L"):
        return image.convert("RGB")
    return image


def convert_pair(pair: tuple[Path, Path]) -> float:
    """Convert, and return the processor time it took."""
    started = time.process_time()
    convert(*pair)
    return time.process_time() - started
