"""The 2x2 crossover: sequence groups, the period-effect check and the treatment effect, against
values worked out by hand and against scipy.stats.ttest_ind."""
import json
import math

import numpy as np
import pytest
from scipy import stats

from readerstudy.analysis.crossover import (
    AIDED_FIRST,
    NOT_ESTIMABLE,
    UNAIDED_FIRST,
    cell_aucs,
    crossover_analysis,
    crossover_from_rows,
    pooled_t,
    sequence_of,
)
from readerstudy.analysis.roc import auc
from readerstudy.analysis.serialize import jsonable

U, A = "unaided", "ai_aided"

# Three readers unaided first, two aided first; (modality, period) -> AUC.
CELLS = {
    "u1": {(U, 1): 0.70, (A, 2): 0.80},  # d = +0.10
    "u2": {(U, 1): 0.75, (A, 2): 0.81},  # d = +0.06
    "u3": {(U, 1): 0.72, (A, 2): 0.80},  # d = +0.08
    "a1": {(A, 1): 0.82, (U, 2): 0.80},  # d = -0.02
    "a2": {(A, 1): 0.78, (U, 2): 0.78},  # d =  0.00
}
GROUPS = {"u1": UNAIDED_FIRST, "u2": UNAIDED_FIRST, "u3": UNAIDED_FIRST, "a1": AIDED_FIRST, "a2": AIDED_FIRST}


def test_sequences():
    assert sequence_of(UNAIDED_FIRST) == (U, A)
    assert sequence_of(AIDED_FIRST) == (A, U)
    with pytest.raises(ValueError):
        sequence_of("whatever")


def test_hand_computed_example():
    result = crossover_analysis(CELLS, GROUPS)
    uf, af = result.groups[UNAIDED_FIRST], result.groups[AIDED_FIRST]
    assert uf.readers == ("u1", "u2", "u3") and af.readers == ("a1", "a2")
    assert (uf.first, uf.second, af.first, af.second) == (U, A, A, U)
    # (a) reader-averaged AUC per modality and the mean aided - unaided difference, per group
    assert uf.mean_auc[U] == pytest.approx((0.70 + 0.75 + 0.72) / 3)
    assert uf.mean_auc[A] == pytest.approx((0.80 + 0.81 + 0.80) / 3)
    assert uf.mean_difference == pytest.approx(0.08)
    assert af.mean_auc == pytest.approx({U: 0.79, A: 0.80})
    assert af.mean_difference == pytest.approx(0.01)
    assert uf.mean_period_auc == pytest.approx({1: uf.mean_auc[U], 2: uf.mean_auc[A]})
    assert uf.mean_period_difference == pytest.approx(0.08) and af.mean_period_difference == pytest.approx(-0.01)
    assert {r.reader: r.difference for r in result.readers} == pytest.approx(
        {"u1": 0.10, "u2": 0.06, "u3": 0.08, "a1": -0.02, "a2": 0.0})

    # (b) period effect: (0.08 + (-0.01)) / 2 = 0.035. d_UF = [.10, .06, .08] against -d_AF = [.02, 0]:
    # difference of means 0.07; SS = 0.0008 + 0.0002, pooled variance 0.001 / 3,
    # se of the difference sqrt(0.001/3 * (1/3 + 1/2)) = 1/60, t = 0.07 * 60 = 4.2 on 3 df.
    period = result.period
    assert period.estimable and period.effect == "period" and period.n == (3, 2)
    assert period.estimate == pytest.approx(0.035)
    assert period.statistic == pytest.approx(4.2)
    assert period.df == 3
    assert period.se == pytest.approx(1 / 120)  # half the se of the difference
    assert period.pvalue == pytest.approx(2 * stats.t.sf(4.2, 3))
    half = stats.t.ppf(0.975, 3) / 120
    assert period.ci == pytest.approx((0.035 - half, 0.035 + half))

    # (c) treatment effect: (0.08 - (-0.01)) / 2 = 0.045; d_UF against d_AF: difference 0.09, t = 5.4.
    treatment = result.treatment
    assert treatment.estimate == pytest.approx(0.045)
    assert treatment.statistic == pytest.approx(5.4)
    assert treatment.df == 3 and treatment.pvalue == pytest.approx(2 * stats.t.sf(5.4, 3))
    assert result.left_out == {}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_t_statistics_match_scipy(seed):
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(2, 9, size=2)
    cells, groups = {}, {}
    for i in range(n1 + n2):
        group = UNAIDED_FIRST if i < n1 else AIDED_FIRST
        first, second = sequence_of(group)
        cells[f"r{i}"] = {(first, 1): rng.uniform(0.6, 0.9), (second, 2): rng.uniform(0.6, 0.9)}
        groups[f"r{i}"] = group
    result = crossover_analysis(cells, groups)
    d_uf = np.array([r.difference for r in result.readers if r.group == UNAIDED_FIRST])
    d_af = np.array([r.difference for r in result.readers if r.group == AIDED_FIRST])
    period = stats.ttest_ind(d_uf, -d_af, equal_var=True)
    treatment = stats.ttest_ind(d_uf, d_af, equal_var=True)
    assert result.period.statistic == pytest.approx(period.statistic, rel=1e-12)
    assert result.period.pvalue == pytest.approx(period.pvalue, rel=1e-9)
    assert result.treatment.statistic == pytest.approx(treatment.statistic, rel=1e-12)
    assert result.treatment.pvalue == pytest.approx(treatment.pvalue, rel=1e-9)
    assert result.period.df == result.treatment.df == n1 + n2 - 2
    assert result.period.estimate == pytest.approx((d_uf.mean() + d_af.mean()) / 2)
    assert result.treatment.estimate == pytest.approx((d_uf.mean() - d_af.mean()) / 2)


def test_fewer_than_two_readers_in_a_group_is_not_estimable():
    cells = {k: v for k, v in CELLS.items() if k != "a2"}
    result = crossover_analysis(cells, GROUPS)
    for test in (result.period, result.treatment):
        assert not test.estimable and test.note == NOT_ESTIMABLE and test.df is None
        assert math.isnan(test.estimate) and math.isnan(test.statistic) and test.n == (3, 1)
    assert result.groups[AIDED_FIRST].mean_difference == pytest.approx(0.82 - 0.80)
    # A fixed-sequence study: every reader unaided first.
    fixed = crossover_analysis({k: v for k, v in CELLS.items() if k.startswith("u")}, GROUPS)
    assert not fixed.period.estimable and fixed.groups[AIDED_FIRST].readers == ()
    assert math.isnan(fixed.groups[AIDED_FIRST].mean_difference)


def test_readers_without_both_periods_are_left_out():
    cells = {**CELLS, "late": {(U, 1): 0.7}, "odd": {(U, 1): 0.7, (A, 2): 0.8}, "nan": {(U, 1): float("nan"), (A, 2): 0.8}}
    groups = {**GROUPS, "late": UNAIDED_FIRST, "nan": UNAIDED_FIRST}
    result = crossover_analysis(cells, groups)
    assert set(result.left_out) == {"late", "odd", "nan"}
    assert "period 2 (ai_aided)" in result.left_out["late"] and "period 1 (unaided)" in result.left_out["nan"]
    assert result.period.statistic == pytest.approx(4.2)


def test_no_variation_between_readers():
    cells = {f"u{i}": {(U, 1): 0.7, (A, 2): 0.8} for i in range(2)}
    cells.update({f"a{i}": {(A, 1): 0.8, (U, 2): 0.7} for i in range(2)})
    groups = {k: UNAIDED_FIRST if k.startswith("u") else AIDED_FIRST for k in cells}
    result = crossover_analysis(cells, groups)
    assert result.period.estimate == pytest.approx(0.0) and result.treatment.estimate == pytest.approx(0.1)
    assert result.treatment.se == 0.0 and math.isnan(result.treatment.statistic) and "no variation" in result.treatment.note


def test_pooled_t_scale_changes_estimate_not_statistic():
    x, y = [1.0, 2.0, 4.0], [0.0, 1.5]
    half = pooled_t(x, y, scale=0.5)
    whole = pooled_t(x, y)
    assert half.statistic == whole.statistic and half.pvalue == whole.pvalue
    assert half.estimate == pytest.approx(whole.estimate / 2) and half.se == pytest.approx(whole.se / 2)


def _rows(reader, group, modality, period, truth, ratings):
    return [{"reader_id": reader, "sequence_group": group, "modality": modality, "period": period,
             "truth": t, "rating": r, "case_id": f"c{i}"} for i, (t, r) in enumerate(zip(truth, ratings, strict=True))]


def test_cells_from_rows_with_split_halves():
    """With split halves each (reader, modality, period) cell holds one half; the period AUCs are
    those of the sequence's cells and the per-modality AUC uses both halves."""
    rng = np.random.default_rng(4)
    truth = np.array([1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1])
    half1, half2 = np.arange(6), np.arange(6, 12)
    rows, expected = [], {}
    for reader, group in (("u1", UNAIDED_FIRST), ("u2", UNAIDED_FIRST), ("a1", AIDED_FIRST), ("a2", AIDED_FIRST)):
        first, second = sequence_of(group)
        scores = {m: truth * rng.uniform(0.1, 0.6) + rng.uniform(0, 1, truth.size) for m in (U, A)}
        # session 1: half 1 in the first modality, half 2 in the other; session 2 the opposite
        for modality, period, half in ((first, 1, half1), (second, 1, half2), (second, 2, half1), (first, 2, half2)):
            rows += _rows(reader, group, modality, period, truth[half], scores[modality][half])
        expected[reader] = {
            "p1": auc(truth[half1], scores[first][half1]), "p2": auc(truth[half1], scores[second][half1]),
            U: auc(truth, np.r_[scores[U][half1], scores[U][half2]]),
            A: auc(truth, np.r_[scores[A][half1], scores[A][half2]]),
        }
    rows.append({"reader_id": "model:x", "sequence_group": "", "modality": "model", "period": None, "truth": 1, "rating": 0.3})
    cells, _, _ = cell_aucs(rows)
    assert set(cells) == {"u1", "u2", "a1", "a2"} and len(cells["u1"]) == 4
    result = crossover_from_rows(rows)
    for r in result.readers:
        assert r.period_1_auc == pytest.approx(expected[r.reader]["p1"])
        assert r.period_2_auc == pytest.approx(expected[r.reader]["p2"])
        assert r.aucs[U] == pytest.approx(expected[r.reader][U]) and r.aucs[A] == pytest.approx(expected[r.reader][A])
    d = {r.reader: r.difference for r in result.readers}
    assert result.period.estimate == pytest.approx(((d["u1"] + d["u2"]) / 2 + (d["a1"] + d["a2"]) / 2) / 2)


def test_a_cell_without_both_classes_has_no_auc():
    rows = _rows("u1", UNAIDED_FIRST, U, 1, [1, 1], [0.2, 0.3]) + _rows("u1", UNAIDED_FIRST, A, 2, [1, 0], [0.2, 0.3])
    cells, _, _ = cell_aucs(rows)
    assert math.isnan(cells["u1"][(U, 1)]) and cells["u1"][(A, 2)] == 0.0
    assert "u1" in crossover_from_rows(rows).left_out


def test_results_are_strict_json_and_a_table():
    result = crossover_analysis({k: v for k, v in CELLS.items() if k != "a2"}, GROUPS)
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["period_effect"]["estimate"] is None and data["period_effect"]["note"] == NOT_ESTIMABLE
    full = crossover_analysis(CELLS, GROUPS)
    data = full.to_dict()
    assert [g["sequence_group"] for g in data["groups"]] == [UNAIDED_FIRST, AIDED_FIRST]
    assert [g["readers"] for g in data["groups"]] == [3, 2] and data["groups"][1]["reader_ids"] == ["a1", "a2"]
    assert data["period_effect"]["t"] == pytest.approx(4.2)
    table = full.table()
    assert [row["row"] for row in table] == ["reader"] * 5 + ["group", "group", "period_effect", "treatment_effect"]
    assert set().union(*(row.keys() for row in table)) <= set(full.table_columns())
    assert jsonable(table) == table
