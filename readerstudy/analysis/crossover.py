"""The counterbalanced two-period crossover: results per sequence group and the period-effect check.

Pure NumPy/SciPy, no Django. Readers are randomised to two sequences: unaided first (period 1
unaided, period 2 AI-aided) or AI-aided first (the opposite). For each reader

    d = AUC(period 2) - AUC(period 1),

each period's AUC taken in the modality the reader's sequence puts in that period. With a
treatment effect tau (test minus reference modality, e.g. AI-aided minus unaided) and a period
effect pi (period 2 minus period 1), E[d] = pi + tau for unaided first and pi - tau for aided
first, so (Grizzle 1965; Jones and Kenward, Design and Analysis of Cross-Over Trials, ch. 2):

    period effect    pi  = (mean d_UF + mean d_AF) / 2,  t-test of d_UF against -d_AF
    treatment effect tau = (mean d_UF - mean d_AF) / 2,  t-test of d_UF against  d_AF

both two-sample t-tests with the pooled variance on n1 + n2 - 2 degrees of freedom; the
standard error of an estimate is half that of the difference of the two means. A carry-over
effect cannot be told apart from the sequence-by-treatment interaction with one case set and is
not estimated. Each test needs at least two readers in each group ("not estimable" otherwise).

With split halves (each session holds one half of the cases in each modality), the AUC of a
period is that of the cases read in that period in the sequence's modality: the half read first
in the group's first modality, read again in period 2 in the other modality. Per-reader cells
are keyed (modality, period); `cell_aucs` computes them from long-format rows.

Results are small frozen dataclasses with named fields, like scipy.stats; `to_dict` gives JSON.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .roc import auc as empirical_auc
from .serialize import jsonable

UNAIDED_FIRST = "unaided_first"
AIDED_FIRST = "aided_first"
GROUPS = (UNAIDED_FIRST, AIDED_FIRST)
REFERENCE, TEST = "unaided", "ai_aided"
NOT_ESTIMABLE = "not estimable: fewer than 2 readers in a sequence group"


@dataclass(frozen=True)
class EffectTest:
    """One effect of the 2x2 crossover and its two-sample t-test (pooled variance).

    `estimate`, `se`, `statistic`, `pvalue` and `ci` are NaN and `df` None when not estimable.
    `n` is the number of readers in (unaided first, aided first)."""

    effect: str
    estimate: float
    se: float
    statistic: float
    df: int | None
    pvalue: float
    ci: tuple[float, float]
    level: float
    n: tuple[int, int]
    estimable: bool
    note: str


@dataclass(frozen=True)
class ReaderPeriods:
    """One reader: the AUC of each period (in the modality the sequence puts there) and d = period 2 - period 1;
    `aucs` holds the reader's AUC per modality."""

    reader: str
    group: str
    period_1_modality: str
    period_1_auc: float
    period_2_modality: str
    period_2_auc: float
    difference: float
    aucs: dict[str, float]


@dataclass(frozen=True)
class SequenceGroup:
    """A sequence group: its readers, the reader-averaged AUC per modality and per period, the mean
    test-minus-reference difference (e.g. AI-aided minus unaided) and the mean of d."""

    group: str
    first: str
    second: str
    readers: tuple[str, ...]
    mean_auc: dict[str, float]
    mean_period_auc: dict[int, float]
    mean_difference: float
    mean_period_difference: float

    @property
    def n_readers(self) -> int:
        return len(self.readers)


@dataclass(frozen=True)
class CrossoverResult:
    reference: str
    test: str
    groups: dict[str, SequenceGroup]
    readers: tuple[ReaderPeriods, ...]
    period: EffectTest
    treatment: EffectTest
    left_out: dict[str, str]  # reader -> why they are not in the analysis

    def to_dict(self) -> dict:
        def group(g: SequenceGroup) -> dict:
            return {"sequence_group": g.group, "first": g.first, "second": g.second, "readers": g.n_readers,
                    "reader_ids": list(g.readers),
                    "mean_auc": g.mean_auc, "mean_period_auc": {str(p): v for p, v in g.mean_period_auc.items()},
                    "mean_difference": g.mean_difference, "mean_period_difference": g.mean_period_difference}

        def test(t: EffectTest) -> dict:
            return {"estimate": t.estimate, "se": t.se, "t": t.statistic, "df": t.df, "p": t.pvalue,
                    "ci": list(t.ci), "level": t.level, "n": list(t.n), "estimable": t.estimable, "note": t.note}

        return jsonable({
            "reference": self.reference,
            "test": self.test,
            "difference": f"{self.test} - {self.reference}",
            "groups": [group(g) for g in self.groups.values()],  # unaided first, then aided first
            "readers": [{"reader": r.reader, "group": r.group, "period_1_modality": r.period_1_modality,
                         "period_1_auc": r.period_1_auc, "period_2_modality": r.period_2_modality,
                         "period_2_auc": r.period_2_auc, "period_difference": r.difference, "aucs": r.aucs}
                        for r in self.readers],
            "period_effect": test(self.period),
            "treatment_effect": test(self.treatment),
            "left_out": self.left_out,
        })

    def table(self) -> list[dict]:
        """Rows for crossover.csv: one per reader, one per group, one per effect (column `row` says which)."""
        ref, tst = f"auc_{self.reference}", f"auc_{self.test}"
        rows = []
        for r in self.readers:
            rows.append({"row": "reader", "sequence_group": r.group, "reader": r.reader, "n_readers": 1,
                         "period_1_modality": r.period_1_modality, "period_1_auc": r.period_1_auc,
                         "period_2_modality": r.period_2_modality, "period_2_auc": r.period_2_auc,
                         "period_difference": r.difference, ref: r.aucs[self.reference], tst: r.aucs[self.test],
                         "test_minus_reference": r.aucs[self.test] - r.aucs[self.reference]})
        for name, g in self.groups.items():
            rows.append({"row": "group", "sequence_group": name, "n_readers": g.n_readers,
                         "period_1_modality": g.first, "period_1_auc": g.mean_period_auc[1],
                         "period_2_modality": g.second, "period_2_auc": g.mean_period_auc[2],
                         "period_difference": g.mean_period_difference, ref: g.mean_auc[self.reference],
                         tst: g.mean_auc[self.test], "test_minus_reference": g.mean_difference})
        for name, t in (("period_effect", self.period), ("treatment_effect", self.treatment)):
            rows.append({"row": name, "n_readers": sum(t.n), "estimate": t.estimate, "se": t.se, "t": t.statistic,
                         "df": t.df, "p": t.pvalue, "ci_low": t.ci[0], "ci_high": t.ci[1], "note": t.note})
        return [jsonable(row) for row in rows]

    def table_columns(self) -> list[str]:
        return ["row", "sequence_group", "reader", "n_readers", "period_1_modality", "period_1_auc",
                "period_2_modality", "period_2_auc", "period_difference", f"auc_{self.reference}",
                f"auc_{self.test}", "test_minus_reference", "estimate", "se", "t", "df", "p", "ci_low", "ci_high", "note"]


def sequence_of(group: str, reference: str = REFERENCE, test: str = TEST) -> tuple[str, str]:
    """(modality of period 1, modality of period 2) of a sequence group."""
    if group == UNAIDED_FIRST:
        return reference, test
    if group == AIDED_FIRST:
        return test, reference
    raise ValueError(f"unknown sequence group {group!r}; use {' or '.join(GROUPS)}")


def pooled_t(x, y, *, scale: float = 1.0, level: float = 0.95, effect: str = "") -> EffectTest:
    """Two-sample t-test of mean(x) - mean(y) with the pooled variance (df = n1 + n2 - 2), for the
    estimate `scale` * (mean(x) - mean(y)) (its se and CI scaled alike; t and p do not change).
    Not estimable with fewer than 2 values in either sample."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = x.size, y.size
    nan = float("nan")
    if n1 < 2 or n2 < 2:
        return EffectTest(effect, nan, nan, nan, None, nan, (nan, nan), level, (n1, n2), False, NOT_ESTIMABLE)
    df = n1 + n2 - 2
    difference = float(x.mean() - y.mean())
    pooled = (((x - x.mean()) ** 2).sum() + ((y - y.mean()) ** 2).sum()) / df
    se_difference = math.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
    estimate, se = scale * difference, abs(scale) * se_difference
    if se_difference == 0.0:
        note = "no variation between readers: the t statistic is undefined"
        return EffectTest(effect, estimate, 0.0, nan, df, nan, (estimate, estimate), level, (n1, n2), True, note)
    statistic = difference / se_difference
    pvalue = float(2.0 * stats.t.sf(abs(statistic), df))
    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    return EffectTest(effect, estimate, se, float(statistic), df, pvalue, (estimate - half, estimate + half), level,
                      (n1, n2), True, "")


def crossover_analysis(cells: Mapping[str, Mapping[tuple[str, int], float]], groups: Mapping[str, str], *,
                       aucs: Mapping[str, Mapping[str, float]] | None = None, reference: str = REFERENCE,
                       test: str = TEST, level: float = 0.95) -> CrossoverResult:
    """Sequence groups, the period-effect check and the treatment effect of a 2x2 crossover.

    `cells`: reader -> {(modality, period): AUC}; `groups`: reader -> UNAIDED_FIRST or AIDED_FIRST
    (UNAIDED_FIRST reads `reference` in period 1). `aucs`: reader -> {modality: AUC over all the
    reader's cases in that modality}, for the per-modality group averages; by default the mean of the
    reader's cells of that modality (without split halves, the one cell). A reader without a finite
    AUC in both periods of their sequence (or in both modalities) is left out, with the reason.
    """
    readers, left_out = [], {}
    for reader in sorted(cells, key=str):
        group = groups.get(reader, "")
        if group not in GROUPS:
            left_out[str(reader)] = f"no sequence group ({group!r})"
            continue
        first, second = sequence_of(group, reference, test)
        reader_cells = cells[reader]
        p1, p2 = reader_cells.get((first, 1), float("nan")), reader_cells.get((second, 2), float("nan"))
        if aucs is not None and reader in aucs:
            per_modality = {m: float(aucs[reader].get(m, float("nan"))) for m in (reference, test)}
        else:
            per_modality = {m: _mean([v for (cm, _), v in reader_cells.items() if cm == m]) for m in (reference, test)}
        missing = [f"period {p} ({m})" for p, m, v in ((1, first, p1), (2, second, p2)) if not np.isfinite(v)]
        missing += [m for m, v in per_modality.items() if not np.isfinite(v)]
        if missing:
            left_out[str(reader)] = "no AUC in " + ", ".join(missing)
            continue
        readers.append(ReaderPeriods(str(reader), group, first, float(p1), second, float(p2), float(p2 - p1), per_modality))

    summaries = {}
    for group in GROUPS:
        first, second = sequence_of(group, reference, test)
        members = [r for r in readers if r.group == group]
        summaries[group] = SequenceGroup(
            group=group, first=first, second=second, readers=tuple(r.reader for r in members),
            mean_auc={m: _mean([r.aucs[m] for r in members]) for m in (reference, test)},
            mean_period_auc={1: _mean([r.period_1_auc for r in members]), 2: _mean([r.period_2_auc for r in members])},
            mean_difference=_mean([r.aucs[test] - r.aucs[reference] for r in members]),
            mean_period_difference=_mean([r.difference for r in members]),
        )
    d_uf = [r.difference for r in readers if r.group == UNAIDED_FIRST]
    d_af = [r.difference for r in readers if r.group == AIDED_FIRST]
    period = pooled_t(d_uf, -np.asarray(d_af, dtype=float), scale=0.5, level=level, effect="period")
    treatment = pooled_t(d_uf, d_af, scale=0.5, level=level, effect="treatment")
    return CrossoverResult(reference=reference, test=test, groups=summaries, readers=tuple(readers),
                           period=period, treatment=treatment, left_out=left_out)


def cell_aucs(rows: Iterable[Mapping]) -> tuple[dict, dict, dict]:
    """From long-format rows with `reader_id, modality, truth, rating, period, sequence_group`:
    (cells, aucs, groups) for `crossover_analysis`. Cells are the AUCs of each (reader, modality,
    period) on that cell's rows; aucs per (reader, modality) on all the reader's rows of the modality.
    Rows without a sequence group (the model) are skipped; a cell lacking a positive or a negative
    case has a NaN AUC."""
    cell_rows: dict[tuple, list[tuple[int, float]]] = {}
    modality_rows: dict[tuple, list[tuple[int, float]]] = {}
    groups: dict[str, str] = {}
    for row in rows:
        group = row.get("sequence_group") or ""
        if not group:
            continue
        reader, modality, period = str(row["reader_id"]), str(row["modality"]), int(row["period"])
        value = (int(row["truth"]), float(row["rating"]))
        groups[reader] = group
        cell_rows.setdefault((reader, modality, period), []).append(value)
        modality_rows.setdefault((reader, modality), []).append(value)
    cells: dict[str, dict] = {}
    for (reader, modality, period), values in cell_rows.items():
        cells.setdefault(reader, {})[(modality, period)] = _auc(values)
    aucs: dict[str, dict] = {}
    for (reader, modality), values in modality_rows.items():
        aucs.setdefault(reader, {})[modality] = _auc(values)
    return cells, aucs, groups


def crossover_from_rows(rows: Iterable[Mapping], *, reference: str = REFERENCE, test: str = TEST,
                        level: float = 0.95) -> CrossoverResult:
    """`crossover_analysis` on long-format rows (see `cell_aucs`)."""
    cells, aucs, groups = cell_aucs(rows)
    return crossover_analysis(cells, groups, aucs=aucs, reference=reference, test=test, level=level)


def _auc(values: list[tuple[int, float]]) -> float:
    truth = np.array([t for t, _ in values])
    if truth.all() or not truth.any():
        return float("nan")
    return float(empirical_auc(truth, np.array([r for _, r in values])))


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")
