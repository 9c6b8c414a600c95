#!/usr/bin/env python3
"""Writes a deterministic sample 3D model: a glTF 2.0 binary (.glb) holding a height-field mesh
(float32 positions and normals, uint32 triangle indices) and an uncompressed RGBA texture.

usage: sample-model.py OUT.glb [GRID]   (GRID x GRID vertices, default 700 -> about 16 MiB)
"""
import json
import math
import random
import struct
import sys


def build(grid):
    rng = random.Random(1234)
    positions, normals = bytearray(), bytearray()
    for j in range(grid):
        for i in range(grid):
            x, z = i * 0.1, j * 0.1
            y = math.sin(x * 0.7) * math.cos(z * 0.5) + rng.random() * 0.01
            positions += struct.pack("<3f", x, y, z)
            nx, nz = -0.7 * math.cos(x * 0.7) * math.cos(z * 0.5), 0.5 * math.sin(x * 0.7) * math.sin(z * 0.5)
            n = math.sqrt(nx * nx + 1 + nz * nz)
            normals += struct.pack("<3f", nx / n, 1 / n, nz / n)
    indices = bytearray()
    for j in range(grid - 1):
        for i in range(grid - 1):
            a = j * grid + i
            indices += struct.pack("<6I", a, a + grid, a + 1, a + 1, a + grid, a + grid + 1)
    side = 512
    texture = bytearray()
    for y in range(side):
        for x in range(side):
            texture += bytes(((x // 32) * 16 % 256, (y // 32) * 16 % 256, 128, 255))
    return positions, normals, indices, texture


def glb(grid):
    positions, normals, indices, texture = build(grid)
    views, offset, blob = [], 0, bytearray()
    for part in (positions, normals, indices, texture):
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(part)})
        blob += part
        offset += len(part)
    count = grid * grid
    doc = {
        "asset": {"version": "2.0", "generator": "kura sample-model"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "name": "terrain"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2}]}],
        "buffers": [{"byteLength": len(blob)}], "bufferViews": views,
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": count, "type": "VEC3",
             "min": [0, -1.1, 0], "max": [grid * 0.1, 1.1, grid * 0.1]},
            {"bufferView": 1, "componentType": 5126, "count": count, "type": "VEC3"},
            {"bufferView": 2, "componentType": 5125, "count": len(indices) // 4, "type": "SCALAR"},
        ],
        "extras": {"rawTexture": {"bufferView": 3, "width": 512, "height": 512, "format": "RGBA8"}},
    }
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    blob += b"\0" * (-len(blob) % 4)
    total = 12 + 8 + len(text) + 8 + len(blob)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(text), b"JSON") + text
            + struct.pack("<I4s", len(blob), b"BIN\0") + blob)


if __name__ == "__main__":
    out = sys.argv[1]
    grid = int(sys.argv[2]) if len(sys.argv) > 2 else 700
    with open(out, "wb") as f:
        f.write(glb(grid))
