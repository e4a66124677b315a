"""Stage 3: patch grid, patch classification and heatmap assembly.

The full exact heatmaps of exam C1 (2163 DenseNet-121 patches, minutes on 2 cores) are computed
once per test session by `c1_prepared()` and shared with test_pipeline.py and test_cli.py."""
import functools
import json
import random

import numpy as np
import pytest
import torch

from classifier import weights
from classifier.exam import Exam
from classifier.heatmaps import (
    PATCH_SIZE,
    PatchGrid,
    assemble,
    classify_patches,
    compute_heatmaps,
    estimated_patches,
    patch_strides,
    standardize_crop,
)
from classifier.predict import prepare_exam, prepare_image
from tests.shared_data import shared_path

VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
C1 = {"L-CC": "1_L_CC", "R-CC": "1_R_CC", "L-MLO": "2_L_CC", "R-MLO": "2_R_CC"}
TOLERANCE = 1e-4
# (max abs, mean abs) deviation of the fast mode from the exact heatmaps on C1: measured 0.0381 /
# 0.0109 (benign) and 0.1427 / 0.0573 (malignant), see classifier.heatmaps; bounds with headroom.
FAST_MODE_BOUNDS = {"benign": (0.04, 0.012), "malignant": (0.15, 0.06)}


def conformance(name):
    return shared_path("data", "conformance", name)


@functools.cache
def expected_pipeline() -> dict:
    return json.loads(conformance("expected_pipeline.json").read_text())


def c1_exam() -> Exam:
    return Exam("C1", "NO", {view: shared_path("data", "nyu_sample", f"{stem}.png") for view, stem in C1.items()})


@functools.cache
def patch_model():
    return weights.load(conformance("patch_densenet121.p"), device="cpu", kind="patch")


@functools.cache
def c1_prepared():
    """Stages 1-3 of exam C1 with exact heatmaps, Python random stream seeded with 0 (published run).

    Shared by the slow tests of this module, test_pipeline.py and test_cli.py (one computation
    per session)."""
    with torch.inference_mode():
        return prepare_exam(c1_exam(), patch_model().model, random.Random(0))


def stored_heatmaps(view: str):
    """The heatmaps of a C1 view in the cropped PNG's stored orientation (as in the fixture)."""
    maps = c1_prepared()[view][0].heatmaps
    return maps.mirrored() if view.startswith("R") else maps


# -- grid ----------------------------------------------------------------------------------------

def test_stride_lists_match_conformance_stream():
    expected = expected_pipeline()
    stream = random.Random(0)
    for view in VIEWS:
        grid = PatchGrid.for_shape(tuple(expected["crop"][view]["cropped_shape"]), stream)
        reference = expected["heatmaps"][view]
        assert list(grid.row_strides) == reference["row_strides"]
        assert list(grid.col_strides) == reference["col_strides"]
        assert grid.n_patches == reference["n_patches"] == estimated_patches(tuple(expected["crop"][view]["cropped_shape"]))


@pytest.mark.parametrize("length", [256, 257, 326, 396, 397, 1000, 2677, 2974])
def test_grid_starts_at_zero_and_ends_at_the_edge(length):
    steps = patch_strides(length, random.Random(1))
    assert sum(steps) == length - PATCH_SIZE
    assert all(step <= 70 for step in steps)
    if steps:
        assert max(steps) - min(steps) <= 1


def test_exact_stride_consumes_no_random_numbers():
    stream, reference = random.Random(5), random.Random(5)
    assert patch_strides(256 + 3 * 70, stream) == [70, 70, 70]
    assert stream.random() == reference.random()


def test_grid_rejects_small_images():
    with pytest.raises(ValueError, match="smaller than"):
        patch_strides(200, random.Random(0))


def test_positions_are_column_major():
    grid = PatchGrid((70, 70), (60,))
    assert grid.positions().tolist() == [[0, 0], [70, 0], [140, 0], [0, 60], [70, 60], [140, 60]]


# -- assembly ----------------------------------------------------------------------------------

def test_assembly_averages_overlapping_patches():
    shape = (PATCH_SIZE, PATCH_SIZE + 10)
    heatmap = assemble(shape, np.array([[0, 0], [0, 10]]), np.array([0.2, 0.6]))
    assert heatmap.dtype == np.float32
    assert heatmap[5, 5] == pytest.approx(0.2)
    assert heatmap[5, 100] == pytest.approx(0.4)
    assert heatmap[5, PATCH_SIZE + 5] == pytest.approx(0.6)


def test_assembly_requires_full_coverage():
    with pytest.raises(ValueError, match="cover"):
        assemble((PATCH_SIZE + 5, PATCH_SIZE), np.array([[0, 0]]), np.array([0.5]))


def test_standardize_crop_uses_population_statistics():
    image = np.array([[0.0, 2.0], [4.0, 6.0]])
    out = standardize_crop(image)
    assert out.dtype == np.float64
    assert out.mean() == pytest.approx(0) and out.std() == pytest.approx(1)


# -- network -----------------------------------------------------------------------------------

def test_sampled_values_covered_by_few_patches_match_conformance():
    """Cheap conformance check: classify only the patches covering 3 sampled pixels per view."""
    expected = expected_pipeline()
    model = patch_model().model
    stream = random.Random(0)
    exam = c1_exam()
    for view in VIEWS:
        item = prepare_image(view, "NO", exam.images[view][0])
        grid = PatchGrid.for_shape(item.image.shape, stream)
        positions = grid.positions()
        reference = expected["heatmaps"][view]
        ys, xs = np.array(reference["coordinates"]["y"]), np.array(reference["coordinates"]["x"])
        if view.startswith("R"):
            xs = item.image.shape[1] - 1 - xs  # fixture coordinates are in stored orientation
        covers = [
            np.flatnonzero((positions[:, 0] <= y) & (y < positions[:, 0] + PATCH_SIZE) & (positions[:, 1] <= x) & (x < positions[:, 1] + PATCH_SIZE))
            for y, x in zip(ys, xs, strict=False)
        ]
        chosen = np.argsort([len(cover) for cover in covers], kind="stable")[:3]
        needed = sorted({int(i) for k in chosen for i in covers[k]})
        with torch.inference_mode():
            probabilities = dict(zip(needed, classify_patches(model, standardize_crop(item.image), positions[needed]), strict=False))
        for k in chosen:
            benign = np.mean([probabilities[i][1] for i in covers[k]])
            malignant = np.mean([probabilities[i][0] for i in covers[k]])
            assert benign == pytest.approx(reference["benign"]["values"][k], abs=TOLERANCE)
            assert malignant == pytest.approx(reference["malignant"]["values"][k], abs=TOLERANCE)


def test_compute_heatmaps_on_a_small_image_in_both_modes():
    image = np.random.default_rng(0).integers(0, 4000, size=(300, 320)).astype(np.float32)
    model = patch_model().model
    with torch.inference_mode():
        exact = compute_heatmaps(image, model, random.Random(0), batch_size=3)
        fast = compute_heatmaps(image, model, random.Random(0), mode="fast")
    assert exact.grid == fast.grid and exact.grid.n_patches == 4
    for maps in (exact, fast):
        for heatmap in (maps.benign, maps.malignant):
            assert heatmap.shape == image.shape and heatmap.dtype == np.float32
            assert 0 <= heatmap.min() and heatmap.max() <= 1
    with torch.inference_mode():
        logits = model(torch.from_numpy(standardize_crop(image)[:256, :256].astype(np.float32))[None, None].expand(1, 3, -1, -1))
    top_left = torch.softmax(logits, dim=1)[0]
    assert exact.malignant[0, 0] == pytest.approx(float(top_left[0]), abs=1e-6)
    assert exact.benign[0, 0] == pytest.approx(float(top_left[1]), abs=1e-6)
    with pytest.raises(ValueError, match="mode"):
        compute_heatmaps(image, model, random.Random(0), mode="approximate")


# -- full conformance (slow: the whole exam C1) -------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("view", VIEWS)
def test_c1_heatmaps_match_conformance(view):
    reference = expected_pipeline()["heatmaps"][view]
    maps = stored_heatmaps(view)
    assert maps.grid.n_patches == reference["n_patches"]
    assert list(maps.grid.row_strides) == reference["row_strides"]
    ys, xs = reference["coordinates"]["y"], reference["coordinates"]["x"]
    for name in ("benign", "malignant"):
        heatmap, expected = getattr(maps, name), reference[name]
        assert list(heatmap.shape) == expected["shape"] and heatmap.dtype == np.dtype(expected["dtype"])
        np.testing.assert_allclose(heatmap[ys, xs], expected["values"], rtol=0, atol=TOLERANCE)
        assert heatmap.mean(dtype=np.float64) == pytest.approx(expected["mean"], abs=TOLERANCE)
        assert float(heatmap.min()) == pytest.approx(expected["min"], abs=TOLERANCE)
        assert float(heatmap.max()) == pytest.approx(expected["max"], abs=TOLERANCE)
        assert heatmap.sum(dtype=np.float64) == pytest.approx(expected["sum"], abs=TOLERANCE * heatmap.size)


@pytest.mark.slow
def test_fast_mode_deviation_on_c1_stays_within_the_documented_figures():
    """The fast (fully convolutional) mode against the exact heatmaps of exam C1; the bounds are
    the deviations measured and stated in classifier.heatmaps, with a little headroom."""
    stream = random.Random(0)
    differences = {"benign": [], "malignant": []}
    with torch.inference_mode():
        for view in VIEWS:
            exact = c1_prepared()[view][0]
            fast = compute_heatmaps(exact.image, patch_model().model, stream, mode="fast")
            assert fast.grid == exact.heatmaps.grid
            for name in differences:
                differences[name].append(np.abs(getattr(fast, name) - getattr(exact.heatmaps, name)).ravel())
    for name, (max_bound, mean_bound) in FAST_MODE_BOUNDS.items():
        values = np.concatenate(differences[name])
        assert values.max() <= max_bound, name
        assert values.mean() <= mean_bound, name
