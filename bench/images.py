"""Photo-like test images, made from a fixed seed so every run sees the same."""

import random
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

SEED = 20240611
# The scene is painted at a fraction of the size and enlarged, as a lens
# softens detail; grain at full size then gives the noise of a sensor.
SCENE_SCALE = 4
GRAIN_LEVELS = 12
SHAPES = 10


def photo(size: tuple[int, int], mode: str, seed: int = SEED) -> Image.Image:
    """Return an "RGB" or "RGBA" image that compresses like a photograph."""
    rng = random.Random(seed)
    small = (max(1, size[0] // SCENE_SCALE), max(1, size[1] // SCENE_SCALE))
    scene = _shapes(_landscape(small, rng), rng).filter(ImageFilter.BoxBlur(1))
    image = _grainy(scene.resize(size, Image.Resampling.BICUBIC), rng)
    if mode == "RGBA":
        image.putalpha(_cutout(size, rng))
    return image


def write_png(path: Path, size: tuple[int, int], mode: str, seed: int = SEED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    photo(size, mode, seed).save(path, "PNG")
    return path


def _noise(size: tuple[int, int], mode: str, rng: random.Random) -> Image.Image:
    bands = len(mode)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * bands))


def _smooth(
    size: tuple[int, int], mode: str, cells: int, rng: random.Random
) -> Image.Image:
    """Noise of about `cells` features across, enlarged into soft gradients."""
    grid = (max(2, cells), max(2, cells * size[1] // max(1, size[0])))
    return _noise(grid, mode, rng).resize(size, Image.Resampling.BICUBIC)


def _landscape(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Broad colour washes lit from above, with a fine surface texture."""
    colour = Image.blend(
        _smooth(size, "RGB", 3, rng), _smooth(size, "RGB", 12, rng), 0.3
    )
    colour = Image.blend(colour, Image.new("RGB", size, (128, 128, 128)), 0.3)
    light = Image.linear_gradient("L").resize(size).point(lambda v: 255 - v // 2)
    lit = ImageChops.multiply(colour, Image.merge("RGB", (light, light, light)))
    texture = _smooth(size, "L", max(8, size[0] // 2), rng).point(
        lambda v: 112 + v // 8
    )
    return ImageChops.overlay(lit, Image.merge("RGB", (texture, texture, texture)))


def _shapes(scene: Image.Image, rng: random.Random) -> Image.Image:
    """Lay soft-edged, shaded objects over the scene."""
    width, height = scene.size
    for _ in range(SHAPES):
        x, y = rng.randrange(width), rng.randrange(height)
        rx, ry = rng.randrange(1, width // 6 + 2), rng.randrange(1, height // 6 + 2)
        mask = Image.new("L", scene.size, 0)
        ImageDraw.Draw(mask).ellipse((x - rx, y - ry, x + rx, y + ry), fill=220)
        hue = tuple(rng.randrange(40, 216) for _ in range(3))
        body = ImageChops.multiply(Image.new("RGB", scene.size, hue), scene)
        body = Image.blend(body, Image.new("RGB", scene.size, hue), 0.6)
        scene.paste(body, mask=mask.filter(ImageFilter.BoxBlur(2)))
    return scene


def _grainy(image: Image.Image, rng: random.Random) -> Image.Image:
    levels = [v * GRAIN_LEVELS // 256 for v in range(256)]
    grain = _noise(image.size, "L", rng).point(levels)
    shift = -(GRAIN_LEVELS // 2)
    rgb = Image.merge("RGB", (grain, grain, grain))
    return ImageChops.add(image, rgb, offset=shift)


def _cutout(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """An opaque subject with a soft edge on a transparent ground."""
    small = (max(1, size[0] // 8), max(1, size[1] // 8))
    mask = Image.new("L", small, 0)
    draw = ImageDraw.Draw(mask)
    width, height = small
    for _ in range(3):
        x, y = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
        rx, ry = rng.uniform(0.15, 0.3) * width, rng.uniform(0.15, 0.3) * height
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(1, width // 100)))
    return mask.resize(size, Image.Resampling.BICUBIC)


# Bump when the pictures change, so that a cache of older ones is not used.
VERSION = 2


def cached(folder: Path, size: tuple[int, int], mode: str, seed: int = SEED) -> Path:
    """The PNG for these parameters under `folder`, made on first use."""
    name = f"v{VERSION}-{size[0]}x{size[1]}-{mode}-{seed}.png"
    path = folder / name
    if not path.exists():
        temp = path.with_suffix(".tmp")
        write_png(temp, size, mode, seed)
        temp.replace(path)
    return path


def batch(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """`count` different RGB photos of one size."""
    return [cached(folder, size, "RGB", SEED + n) for n in range(count)]
