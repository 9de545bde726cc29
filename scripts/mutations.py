"""Damage PNG files the ways files get damaged, for fuzzing the conversion.

A file is split into its chunks; a recipe names a seed file and a list of
mutations, and `build` applies them. Checksums are fixed up afterwards by
default, so that most damage gets past the chunk walk and reaches Pillow's
decoder instead of stopping at the first checksum.
"""

import random
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

SIGNATURE_SIZE = 8
MAX_WHERE = 64
MAX_AT = 2**20
MAX_VALUE = 2**32 - 1


@dataclass(frozen=True)
class Chunk:
    name: bytes
    data: bytes
    crc: int
    # A length field that lies about the data; None writes the true length.
    length: int | None = None

    def pack(self, fix_crc: bool) -> bytes:
        length = len(self.data) if self.length is None else self.length
        crc = zlib.crc32(self.name + self.data) if fix_crc else self.crc
        start = struct.pack(">I4s", length, self.name)
        return start + self.data + struct.pack(">I", crc)


@dataclass(frozen=True)
class Seed:
    name: str
    head: bytes
    chunks: tuple[Chunk, ...]
    tail: bytes


class Kind(StrEnum):
    FLIP_BIT = "flip a bit"
    SET_BYTE = "set a byte"
    CUT_BYTES = "cut bytes"
    INSERT_BYTES = "insert bytes"
    DUPLICATE_CHUNK = "duplicate a chunk"
    DROP_CHUNK = "drop a chunk"
    MOVE_CHUNK = "move a chunk"
    WRONG_LENGTH = "write a wrong length"
    DAMAGE_PIXELS = "change a byte of the inflated image data"
    RESIZE_PIXELS = "cut or pad the inflated image data"
    TRUNCATE = "truncate the file"


@dataclass(frozen=True)
class Mutation:
    kind: Kind
    where: int
    at: int
    value: int

    def __str__(self) -> str:
        return f"{self.kind} (chunk {self.where}, at {self.at}, value {self.value})"


@dataclass(frozen=True)
class Recipe:
    seed: Seed
    mutations: tuple[Mutation, ...]
    fix_crc: bool = True

    def __str__(self) -> str:
        steps = "\n".join(f"  {mutation}" for mutation in self.mutations)
        return f"{self.seed.name}, checksums fixed: {self.fix_crc}\n{steps}"


def parse(name: str, content: bytes) -> Seed:
    """Split a file into chunks; whatever cannot be read as one is the tail."""
    chunks, at = [], SIGNATURE_SIZE
    while at + 12 <= len(content):
        length, kind = struct.unpack(">I4s", content[at : at + 8])
        end = at + 8 + length
        if not kind.isalpha() or end + 4 > len(content):
            break
        (crc,) = struct.unpack(">I", content[end : end + 4])
        chunks.append(Chunk(kind, content[at + 8 : end], crc))
        at = end + 4
    return Seed(name, content[:SIGNATURE_SIZE], tuple(chunks), content[at:])


def load_seeds(folder: Path) -> list[Seed]:
    return [
        parse(path.name, path.read_bytes()) for path in sorted(folder.glob("*.png"))
    ]


def build(recipe: Recipe) -> bytes:
    chunks = list(recipe.seed.chunks)
    for mutation in recipe.mutations:
        if mutation.kind is not Kind.TRUNCATE:
            _MUTATORS[mutation.kind](chunks, mutation)
    body = b"".join(chunk.pack(recipe.fix_crc) for chunk in chunks)
    content = recipe.seed.head + body + recipe.seed.tail
    for mutation in recipe.mutations:
        if mutation.kind is Kind.TRUNCATE:
            content = content[: mutation.at % (len(content) + 1)]
    return content


def random_recipe(rng: random.Random, seeds: Sequence[Seed]) -> Recipe:
    mutations = tuple(_random_mutation(rng) for _ in range(rng.randint(1, 4)))
    return Recipe(rng.choice(seeds), mutations, fix_crc=rng.random() < 0.85)


def _random_mutation(rng: random.Random) -> Mutation:
    return Mutation(
        rng.choice(list(Kind)),
        rng.randrange(MAX_WHERE),
        rng.randrange(MAX_AT),
        rng.randrange(MAX_VALUE + 1),
    )


# Each mutator changes the list of chunks in place.
Mutator = Callable[[list[Chunk], Mutation], None]


def _on_data(edit: Callable[[bytes, Mutation], bytes]) -> Mutator:
    def mutate(chunks: list[Chunk], mutation: Mutation) -> None:
        if chunks:
            index = mutation.where % len(chunks)
            chunk = chunks[index]
            chunks[index] = replace(chunk, data=edit(chunk.data, mutation))

    return mutate


def _flip_bit(data: bytes, mutation: Mutation) -> bytes:
    if not data:
        return data
    at = mutation.at % len(data)
    return data[:at] + bytes([data[at] ^ (1 << mutation.value % 8)]) + data[at + 1 :]


def _set_byte(data: bytes, mutation: Mutation) -> bytes:
    if not data:
        return data
    at = mutation.at % len(data)
    return data[:at] + bytes([mutation.value & 0xFF]) + data[at + 1 :]


def _cut_bytes(data: bytes, mutation: Mutation) -> bytes:
    at = mutation.at % (len(data) + 1)
    return data[:at] + data[at + 1 + mutation.value % 64 :]


def _insert_bytes(data: bytes, mutation: Mutation) -> bytes:
    at = mutation.at % (len(data) + 1)
    inserted = bytes([mutation.value & 0xFF]) * (1 + (mutation.value >> 8) % 64)
    return data[:at] + inserted + data[at:]


def _wrong_length(chunk: Chunk, mutation: Mutation) -> Chunk:
    # Half the lies are small, as a miscounted write makes them; half are
    # any 32-bit value, up to lengths the format forbids.
    if mutation.at % 2:
        return replace(chunk, length=mutation.value)
    near = len(chunk.data) + mutation.value % 33 - 16
    return replace(chunk, length=max(0, near))


def _duplicate_chunk(chunks: list[Chunk], mutation: Mutation) -> None:
    if chunks:
        index = mutation.where % len(chunks)
        chunks.insert(index, chunks[index])


def _drop_chunk(chunks: list[Chunk], mutation: Mutation) -> None:
    if chunks:
        del chunks[mutation.where % len(chunks)]


def _move_chunk(chunks: list[Chunk], mutation: Mutation) -> None:
    if chunks:
        chunk = chunks.pop(mutation.where % len(chunks))
        chunks.insert(mutation.at % (len(chunks) + 1), chunk)


def _lie_about_length(chunks: list[Chunk], mutation: Mutation) -> None:
    if chunks:
        index = mutation.where % len(chunks)
        chunks[index] = _wrong_length(chunks[index], mutation)


def _damage_pixels(raw: bytes, mutation: Mutation) -> bytes:
    return _set_byte(raw, mutation)


def _resize_pixels(raw: bytes, mutation: Mutation) -> bytes:
    if mutation.value % 2 and raw:
        return raw[: len(raw) - 1 - mutation.at % len(raw)]
    return raw + bytes([(mutation.value >> 8) & 0xFF]) * (1 + mutation.at % 4096)


def _on_pixels(edit: Callable[[bytes, Mutation], bytes]) -> Mutator:
    """Edit the inflated image data and deflate it again into one IDAT chunk.

    The damage then passes zlib and reaches the filters and the pixels.
    """

    def mutate(chunks: list[Chunk], mutation: Mutation) -> None:
        places = [i for i, chunk in enumerate(chunks) if chunk.name == b"IDAT"]
        if not places:
            return
        compressed = b"".join(chunks[i].data for i in places)
        try:
            raw = zlib.decompress(compressed)
        except zlib.error:
            return
        # The first chunk's checksum stays as it was, like any edited chunk's.
        data = zlib.compress(edit(raw, mutation))
        chunks[places[0]] = replace(chunks[places[0]], data=data)
        for index in reversed(places[1:]):
            del chunks[index]

    return mutate


_MUTATORS: dict[Kind, Mutator] = {
    Kind.FLIP_BIT: _on_data(_flip_bit),
    Kind.SET_BYTE: _on_data(_set_byte),
    Kind.CUT_BYTES: _on_data(_cut_bytes),
    Kind.INSERT_BYTES: _on_data(_insert_bytes),
    Kind.DUPLICATE_CHUNK: _duplicate_chunk,
    Kind.DROP_CHUNK: _drop_chunk,
    Kind.MOVE_CHUNK: _move_chunk,
    Kind.WRONG_LENGTH: _lie_about_length,
    Kind.DAMAGE_PIXELS: _on_pixels(_damage_pixels),
    Kind.RESIZE_PIXELS: _on_pixels(_resize_pixels),
}
