"""Each reader's random case order: seeded, reproducible, stored once in `Assignment.case_order`.

The seed of an order is derived from (study seed, reader id, reading set id, arm kind) only, so
the same inputs always give the same order, two readers (or two arms of a crossover) get
independent orders, and nothing outside the reading set (exams added to another set, other
assignments) can change it. The order is stored at creation and never re-derived per request.
"""
import hashlib
import random
from collections.abc import Sequence

_SEED_BITS = 63  # fits a signed 64-bit database integer


def order_seed(study_seed: int, reader_id: int, reading_set_id: int, arm_kind: str) -> int:
    """A stable seed for one (study, reader, reading set, arm); independent of Python's hash salt."""
    material = f"{int(study_seed)}:{int(reader_id)}:{int(reading_set_id)}:{arm_kind}".encode()
    digest = hashlib.sha256(material).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - _SEED_BITS)


def shuffled(exam_ids: Sequence[int], seed: int) -> list[int]:
    """The exams of a reading set (in set order) permuted by a generator seeded with `seed`."""
    order = [int(exam_id) for exam_id in exam_ids]
    random.Random(seed).shuffle(order)
    return order


def case_order(exam_ids: Sequence[int], *, study_seed: int, reader_id: int, reading_set_id: int, arm_kind: str) -> tuple[list[int], int]:
    """(order, seed) for a new assignment."""
    seed = order_seed(study_seed, reader_id, reading_set_id, arm_kind)
    return shuffled(exam_ids, seed), seed
