"""A random sample of exams stratified by ground truth (pure: ids and strata in, ids out).

Strata are exam-level: "malignant" when either breast is malignant, "benign" when a breast has
a benign finding and none is malignant, "negative" when the truth says neither, and "unknown"
when no truth was imported. The sample keeps each stratum's share of the pool (largest
remainder rounding), or takes explicit per-stratum counts.
"""
import random
from collections.abc import Iterable, Mapping

STRATA = ("malignant", "benign", "negative", "unknown")


class SampleError(ValueError):
    """The requested sample cannot be drawn from the pool."""


def stratum(truths: Iterable[tuple[bool, bool]]) -> str:
    """The stratum of one exam from its breasts' (malignant, benign) flags."""
    truths = list(truths)
    if not truths:
        return "unknown"
    if any(malignant for malignant, _ in truths):
        return "malignant"
    if any(benign for _, benign in truths):
        return "benign"
    return "negative"


def proportional_allocation(pool_sizes: Mapping[str, int], size: int) -> dict[str, int]:
    """Per-stratum counts summing to `size`, proportional to the pool (largest remainder)."""
    total = sum(pool_sizes.values())
    if size < 0:
        raise SampleError("The sample size cannot be negative.")
    if size > total:
        raise SampleError(f"A sample of {size} exams was requested but only {total} are available.")
    if total == 0:
        return {name: 0 for name in pool_sizes}
    quotas = {name: size * count / total for name, count in pool_sizes.items()}
    allocation = {name: int(quota) for name, quota in quotas.items()}
    short = size - sum(allocation.values())
    # Ties in the remainder break by stratum name so the allocation itself is deterministic.
    by_remainder = sorted(quotas, key=lambda name: (-(quotas[name] - allocation[name]), name))
    for name in by_remainder[:short]:
        allocation[name] += 1
    return allocation


def draw(pool: Mapping[str, list[int]], allocation: Mapping[str, int], seed: int) -> list[int]:
    """Draw `allocation[s]` exams without replacement from each stratum s; sorted ids."""
    rng = random.Random(seed)
    chosen: list[int] = []
    for name in sorted(allocation):
        wanted = allocation[name]
        candidates = sorted(pool.get(name, []))
        if wanted > len(candidates):
            raise SampleError(f"Stratum {name!r} has {len(candidates)} exams; {wanted} were requested.")
        if wanted < 0:
            raise SampleError(f"Stratum {name!r}: a count cannot be negative.")
        chosen.extend(rng.sample(candidates, wanted))
    return sorted(chosen)


def stratified_sample(pool: Mapping[str, list[int]], *, size: int | None = None, per_stratum: Mapping[str, int] | None = None, seed: int) -> tuple[list[int], dict[str, int]]:
    """(exam ids, allocation): either a total `size` split proportionally, or explicit `per_stratum` counts."""
    if (size is None) == (per_stratum is None):
        raise SampleError("Give either a total sample size or per-stratum counts.")
    if per_stratum is not None:
        unknown = set(per_stratum) - set(STRATA)
        if unknown:
            raise SampleError(f"Unknown strata: {', '.join(sorted(unknown))}.")
        allocation = {name: int(per_stratum.get(name, 0)) for name in STRATA}
    else:
        allocation = proportional_allocation({name: len(pool.get(name, [])) for name in STRATA}, size)
    return draw(pool, allocation, seed), allocation
