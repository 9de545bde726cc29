"""Tell whether Pillow's decoder reached the last row of a PNG's pixels.

Pillow 13 stops without an error when the image data ends early, leaving the
rows it never got as they were. Checking that needs the data inflated once
more, which costs nearly as much as decoding; instead a few pixels of the row
the data ends with are given values before decoding, and looked at after.
A changed value proves that row was decoded, and with it every row before.
All values unchanged proves nothing (the data may hold those very values),
and the caller then checks the data the slow way.
"""

import functools
from typing import Any

from PIL import Image

from jobs.pngcheck import PngHeader

# How many pixels of the row are marked: one unchanged by chance is likely
# in a flat image, all of them together is not.
MARKS = 4

Pixel = Any


class LastRowMark:
    def __init__(self, image: Image.Image, header: PngHeader) -> None:
        """Prepare the image's pixel memory, with the marks in it, before load()."""
        self.marks: dict[tuple[int, int], Pixel] = {}
        row = _last_row(header)
        if row is None:
            return
        # Pillow's load() decodes into image.im when it is already there,
        # as into the one it would make itself; colour None leaves it unfilled.
        image.im = Image.new(image.mode, image.size, None).im
        for x, mark in zip(_columns(image.width), _marks(image.mode), strict=False):
            image.im.putpixel((x, row), mark)
            self.marks[(x, row)] = image.im.getpixel((x, row))

    def reached(self, image: Image.Image) -> bool:
        """True if the decoder has written the last row; False if unknown."""
        return any(image.im.getpixel(xy) != mark for xy, mark in self.marks.items())


def _last_row(header: PngHeader) -> int | None:
    if not header.interlaced:
        return header.height - 1
    if header.height < 2:
        return None
    # Only Adam7's seventh pass, the last in the data, holds odd rows, and it
    # holds every pixel of them.
    return header.height - 1 - header.height % 2


def _columns(width: int) -> list[int]:
    count = min(MARKS, width)
    return sorted({n * (width - 1) // max(1, count - 1) for n in range(count)})


@functools.cache
def _marks(mode: str) -> list[Pixel]:
    bands = Image.getmodebands(mode)
    marks = []
    for number in range(MARKS):
        values = tuple((number * 53 + band * 97 + 29) % 251 + 1 for band in range(4))
        marks.append(values[0] if bands == 1 else values[:bands])
    return marks
