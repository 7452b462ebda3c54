"""PCM bytes ⇄ numpy conversion for 16- and 24-bit little-endian audio (any thread)."""
from __future__ import annotations

import numpy as np

__all__ = ["to_int32", "to_float", "from_float"]


def to_int32(data: bytes | memoryview | np.ndarray, sample_width: int, channels: int) -> np.ndarray:
    """Samples as int32 of shape (frames, channels), scaled to their own bit depth."""
    raw = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8)
    if sample_width == 2:
        samples = raw.view("<i2").astype(np.int32)
    elif sample_width == 3:
        triples = raw.reshape(-1, 3)
        widened = np.zeros((triples.shape[0], 4), dtype=np.uint8)
        widened[:, 1:] = triples
        samples = widened.view("<i4").reshape(-1) >> 8
    else:
        raise ValueError(f"unsupported sample width {sample_width}")
    return samples.reshape(-1, channels)


def to_float(data: bytes | memoryview | np.ndarray, sample_width: int, channels: int) -> np.ndarray:
    """Samples as float32 in [-1, 1), shape (frames, channels)."""
    scale = np.float32(1.0 / (1 << (8 * sample_width - 1)))
    if sample_width == 2 and not isinstance(data, np.ndarray):
        return np.frombuffer(data, dtype="<i2").reshape(-1, channels).astype(np.float32) * scale
    return to_int32(data, sample_width, channels).astype(np.float32) * scale


def from_float(samples: np.ndarray, sample_width: int) -> bytes:
    """Float samples in [-1, 1] to interleaved PCM bytes (clipped)."""
    full = (1 << (8 * sample_width - 1)) - 1
    ints = np.clip(np.round(np.asarray(samples, dtype=np.float64) * full), -full - 1, full).astype("<i4")
    if sample_width == 2:
        return ints.astype("<i2").tobytes()
    if sample_width == 3:
        return ints.reshape(-1, 1).view(np.uint8)[:, :3].tobytes()
    raise ValueError(f"unsupported sample width {sample_width}")
