"""Plain JSON values from result objects: NumPy scalars to Python numbers, tuples to lists,
and NaN or infinity to None, so the output is strict JSON that any client can parse."""
import math
from dataclasses import asdict, is_dataclass

import numpy as np


def jsonable(value):
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
