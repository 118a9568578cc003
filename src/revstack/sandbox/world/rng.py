"""Independent, reproducible random streams derived from one seed.

Every customer (and every other simulated entity) draws from its own stream keyed by the world
seed, a purpose and an index, so the result does not depend on the order or the process in
which entities are simulated.
"""

from __future__ import annotations

import hashlib
import math
import random

import numpy as np


def stream_seed(seed: int, purpose: str, index: int = 0) -> int:
    digest = hashlib.blake2b(f"{seed}/{purpose}/{index}".encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big")


def stream(seed: int, purpose: str, index: int = 0) -> random.Random:
    """A `random.Random` for one purpose and entity."""
    return random.Random(stream_seed(seed, purpose, index))


def np_stream(seed: int, purpose: str, index: int = 0) -> np.random.Generator:
    """A NumPy generator for one purpose and entity (vectorised draws)."""
    return np.random.Generator(np.random.PCG64(stream_seed(seed, purpose, index)))


def chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def geometric(rng: random.Random, mean: float) -> int:
    """A draw from {0, 1, 2, ...} with the given mean."""
    if mean <= 0:
        return 0
    p = 1.0 / (1.0 + mean)
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - p))


def weighted(rng: random.Random, options: dict[str, float]) -> str:
    """One key of `options`, drawn with probability proportional to its weight."""
    keys = list(options)
    return rng.choices(keys, weights=[options[k] for k in keys], k=1)[0]
