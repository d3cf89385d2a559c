"""Minimal pure-Python safetensors reader/writer for the PyTorch reference side.

Debian 12 ships no `safetensors` package, so tests use this. It writes the same
layout as the Rust crate (dtype rank descending, then name; compact JSON with
__metadata__ first; header space-padded to a multiple of 8) and reads back with
the basic checks. Bytes are handled through uint8 views because numpy has no
bfloat16.
"""

import json
import struct

import torch

DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}

# Rank in the Rust crate's Dtype enum; its writer sorts by rank descending.
_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "F16": 7, "BF16": 8,
         "I32": 9, "F32": 11, "F64": 12, "I64": 13}


def tensor_bytes(t: torch.Tensor) -> bytes:
    """Raw little-endian bytes of a CPU tensor, row-major."""
    t = t.detach().to("cpu").contiguous().reshape(-1)
    if t.numel() == 0:
        return b""
    return bytes(t.view(torch.uint8).numpy().tobytes())


def dumps(tensors: dict, metadata: dict = None) -> bytes:
    """Serializes {name: tensor} (and optional str->str metadata) to bytes."""
    for name, t in tensors.items():
        if t.dtype not in NAMES:
            raise ValueError(f"tensor {name!r}: unsupported dtype {t.dtype}")
    order = sorted(tensors, key=lambda n: (-_RANK[NAMES[tensors[n].dtype]], n.encode()))
    parts = []
    if metadata is not None:
        parts.append('"__metadata__":' + json.dumps(metadata, separators=(",", ":"),
                                                     ensure_ascii=False))
    blobs = []
    offset = 0
    for name in order:
        t = tensors[name]
        b = tensor_bytes(t)
        info = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                "data_offsets": [offset, offset + len(b)]}
        parts.append(json.dumps(name, ensure_ascii=False) + ":" +
                     json.dumps(info, separators=(",", ":")))
        blobs.append(b)
        offset += len(b)
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(blobs)


def save(tensors: dict, path: str, metadata: dict = None) -> None:
    with open(path, "wb") as f:
        f.write(dumps(tensors, metadata))


def loads_with_metadata(data: bytes):
    """Parses bytes into ({name: tensor}, metadata or None)."""
    if len(data) < 8:
        raise ValueError("truncated safetensors data")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("header length past end of data")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    buf = data[8 + n:]
    out = {}
    end_prev = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        dtype = DTYPES[info["dtype"]]
        shape = [int(d) for d in info["shape"]]
        begin, end = info["data_offsets"]
        if begin != end_prev or end > len(buf):
            raise ValueError(f"tensor {name!r}: bad data_offsets {begin},{end}")
        end_prev = end
        size = torch.empty((), dtype=dtype).element_size()
        numel = 1
        for d in shape:
            numel *= d
        if end - begin != numel * size:
            raise ValueError(f"tensor {name!r}: byte length does not match shape")
        if numel == 0:
            out[name] = torch.empty(shape, dtype=dtype)
        else:
            raw = torch.frombuffer(bytearray(buf[begin:end]), dtype=torch.uint8)
            out[name] = raw.view(dtype).reshape(shape)
    if end_prev != len(buf):
        raise ValueError("data buffer has bytes not covered by any tensor")
    return out, metadata


def load_with_metadata(path: str):
    with open(path, "rb") as f:
        return loads_with_metadata(f.read())


def load(path: str) -> dict:
    """Reads a safetensors file into {name: tensor} (CPU)."""
    return load_with_metadata(path)[0]
