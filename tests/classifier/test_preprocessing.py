"""Stages 1, 2 and 4 of the pipeline: PNG reading, cropping, optimal centres, input windows.

Reference values: MODEL.md section 14 (published stages 1 and 2 on the four sample images) and
the conformance fixture expected_pipeline.json (exam C1)."""
import json

import numpy as np
import pytest
from PIL import Image

from classifier.preprocessing import (
    CropError,
    CropMetadata,
    WindowNoise,
    best_center,
    crop_mammogram,
    facing_mode,
    make_window,
    needs_mirror,
    plan_window,
    read_png_uint16,
    standardize,
    to_training_orientation,
    write_png_uint16,
)
from classifier.preprocessing.windows import cut_window
from tests.shared_data import shared_path

VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
C1 = {"L-CC": "1_L_CC", "R-CC": "1_R_CC", "L-MLO": "2_L_CC", "R-MLO": "2_R_CC"}
SIZES = {"CC": (2677, 1942), "MLO": (2974, 1748)}

# MODEL.md section 14: (view, window_location, shape, rightmost_points, bottommost_points, best_center).
SECTION_14 = {
    "1_L_CC": ("L-CC", (233, 2825, 0, 1263), (2592, 1263), ((1336, 1356), 1212), (2541, (100, 103)), (1296, 240)),
    "1_R_CC": ("R-CC", (587, 3011, 1398, 2560), (2424, 1162), ((1215, 1221), 1112), (2373, (101, 101)), (1212, 140)),
    "2_L_CC": ("L-CC", (290, 3154, 0, 1203), (2864, 1203), ((1406, 1410), 1152), (2813, (100, 100)), (1429, 180)),
    "2_R_CC": ("R-CC", (73, 2895, 1358, 2560), (2822, 1202), ((1518, 1519), 1152), (2771, (101, 102)), (1418, 180)),
}


@pytest.fixture(scope="module")
def expected():
    return json.loads(shared_path("data", "conformance", "expected_pipeline.json").read_text())


@pytest.fixture(scope="module")
def sample_crops():
    """Each sample image cropped as its section-14 view, plus the C1 MLO slots."""
    crops = {}
    for stem, (view, *_rest) in SECTION_14.items():
        image = read_png_uint16(shared_path("data", "nyu_sample", f"{stem}.png"))
        crops[(stem, view)] = crop_mammogram(image, view, "NO")
    for view in ("L-MLO", "R-MLO"):
        stem = C1[view]
        crops[(stem, view)] = crop_mammogram(read_png_uint16(shared_path("data", "nyu_sample", f"{stem}.png")), view, "NO")
    return crops


# -- reading and orientation ------------------------------------------------------------------

def test_png_round_trip_is_exact(tmp_path):
    values = np.array([[0, 1, 2, 4095], [32767, 32768, 65534, 65535]], dtype=np.uint16)
    write_png_uint16(tmp_path / "x.png", values)
    read = read_png_uint16(tmp_path / "x.png")
    assert read.dtype == np.uint16
    np.testing.assert_array_equal(read, values)


def test_png_reader_rejects_8_bit_and_missing_files(tmp_path):
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(tmp_path / "eight.png")
    with pytest.raises(ValueError, match="16-bit"):
        read_png_uint16(tmp_path / "eight.png")
    with pytest.raises(FileNotFoundError):
        read_png_uint16(tmp_path / "absent.png")


def test_sample_images_are_16_bit():
    image = read_png_uint16(shared_path("data", "nyu_sample", "1_L_CC.png"))
    assert image.shape == (3328, 2560) and image.dtype == np.uint16
    assert image.max() > 255  # really 16-bit data, not 8-bit widened


@pytest.mark.parametrize(
    "view, flip, mirrored, mode",
    [("L-CC", "NO", False, "right"), ("R-CC", "NO", True, "left"), ("L-MLO", "YES", True, "left"), ("R-MLO", "YES", False, "right")],
)
def test_training_orientation(view, flip, mirrored, mode):
    assert needs_mirror(view, flip) is mirrored
    assert facing_mode(view, flip) == mode
    array = np.arange(6).reshape(2, 3)
    out = to_training_orientation(array, view, flip)
    np.testing.assert_array_equal(out, array[:, ::-1] if mirrored else array)
    np.testing.assert_array_equal(to_training_orientation(out, view, flip), array)


def test_bad_view_and_flip_are_rejected():
    with pytest.raises(ValueError, match="horizontal_flip"):
        needs_mirror("L-CC", "no")
    with pytest.raises(ValueError, match="unknown view"):
        needs_mirror("L-XX", "NO")


# -- stage 1: crop ----------------------------------------------------------------------------

def synthetic_breast(height=400, width=300, faces="right"):
    """A half-disc breast against the chest wall, plus a small burned-in marker."""
    yy, xx = np.mgrid[:height, :width]
    wall = 0 if faces == "right" else width - 1
    image = np.where((yy - height / 2) ** 2 + (xx - wall) ** 2 < (0.4 * height) ** 2, 1000, 0).astype(np.uint16)
    marker_x = width - 30 if faces == "right" else 10
    image[10:20, marker_x : marker_x + 12] = 4000
    return image


def test_crop_removes_markers_and_adds_nipple_side_buffer():
    image = synthetic_breast()
    cropped, meta = crop_mammogram(image, "L-CC", "NO", iterations=5, buffer=10)
    top, bottom, left, right = meta.window_location
    rows = np.flatnonzero((image == 1000).any(axis=1))
    cols = np.flatnonzero((image == 1000).any(axis=0))
    assert (top, bottom) == (rows[0] - 10, rows[-1] + 1 + 10)
    assert (left, right) == (0, cols[-1] + 1 + 10)  # no buffer on the chest-wall side
    assert meta.distance_from_starting_side == 0
    assert cropped.shape == meta.cropped_shape and cropped.dtype == np.uint16
    assert not (cropped == 4000).any()  # the marker lies above the crop
    assert meta.rightmost_points[1] == cols[-1]


def test_crop_mirrors_conventions_for_left_facing_images():
    image = synthetic_breast(faces="left")
    right_view = crop_mammogram(image, "R-CC", "NO", iterations=5, buffer=10)[1]
    left_view = crop_mammogram(image[:, ::-1].copy(), "L-CC", "NO", iterations=5, buffer=10)[1]
    # Mode "left" reports mirrored x one larger than a true mirror index (published quirk).
    assert right_view.rightmost_points[1] == left_view.rightmost_points[1] + 1
    assert right_view.rightmost_points[0] == left_view.rightmost_points[0]
    assert right_view.cropped_shape == left_view.cropped_shape


def test_distance_from_starting_side_flags_a_wrong_flip():
    meta = crop_mammogram(synthetic_breast(faces="left"), "L-CC", "NO", iterations=5, buffer=10)[1]
    assert meta.distance_from_starting_side > 0


def test_crop_fails_cleanly_on_empty_image():
    with pytest.raises(CropError):
        crop_mammogram(np.zeros((300, 200), dtype=np.uint16), "L-CC", "NO")


def test_crop_metadata_round_trips_through_dict():
    meta = CropMetadata((1, 2, 3, 4), ((5, 6), 7), (8, (9, 10)), 0)
    assert CropMetadata.from_dict(json.loads(json.dumps(meta.as_dict()))) == meta
    with pytest.raises(ValueError, match="malformed"):
        CropMetadata.from_dict({"window_location": [1, 2]})


@pytest.mark.parametrize("stem", sorted(SECTION_14))
def test_section_14_crops_and_centres(sample_crops, stem):
    view, window, shape, rightmost, bottommost, center = SECTION_14[stem]
    cropped, meta = sample_crops[(stem, view)]
    assert meta.window_location == window
    assert cropped.shape == shape == meta.cropped_shape
    assert meta.rightmost_points == rightmost
    assert meta.bottommost_points == bottommost
    assert meta.distance_from_starting_side == 0
    assert best_center(to_training_orientation(cropped, view, "NO"), "CC", meta) == center


@pytest.mark.parametrize("view", VIEWS)
def test_conformance_exam_c1_crop_and_centre(sample_crops, expected, view):
    cropped, meta = sample_crops[(C1[view], view)]
    reference = expected["crop"][view]
    assert list(meta.window_location) == reference["window_location"]
    assert meta.as_dict()["rightmost_points"] == reference["rightmost_points"]
    assert meta.as_dict()["bottommost_points"] == reference["bottommost_points"]
    assert meta.distance_from_starting_side == reference["distance_from_starting_side"]
    assert list(cropped.shape) == reference["cropped_shape"] and cropped.dtype == np.dtype(reference["cropped_dtype"])
    center = best_center(to_training_orientation(cropped, view, "NO"), view.split("-")[1], meta)
    assert list(center) == expected["best_center"][view]


# -- stage 2: centres on synthetic images ----------------------------------------------------

def test_cc_search_prefers_the_fullest_window_then_the_centre():
    window = (10, 6)
    image = np.zeros((30, 8), dtype=np.uint16)
    image[20:26, :] = 1  # foreground low in the image
    meta = CropMetadata((0, 30, 0, 8), ((0, 0), 7), (29, (0, 0)), 0)
    cy, cx = best_center(image, "CC", meta, window)
    assert cx == 7 - 3 - 1
    assert 21 <= cy <= 25  # every window holding all 6 rows ties; the one nearest row 15 wins
    assert cy == 21
    flat = np.ones((30, 8), dtype=np.uint16)
    assert best_center(flat, "CC", meta, window)[0] == 15  # all tie: the image centre


def test_cc_without_room_to_search_takes_the_middle_row():
    meta = CropMetadata((0, 9, 0, 8), ((0, 0), 7), (8, (0, 0)), 0)
    assert best_center(np.ones((9, 8), dtype=np.uint16), "CC", meta, (10, 6)) == (4, 3)


def test_mlo_centre_anchors_on_the_lowest_breast_row():
    image = np.zeros((40, 10), dtype=np.uint16)
    image[:25, :] = 1
    meta = CropMetadata((0, 40, 0, 10), ((0, 0), 9), (35, (0, 0)), 0)
    # Foreground in the last w columns ends at row 24, above bottommost (35): 24 wins.
    assert best_center(image, "MLO", meta, (10, 4)) == (24 - 5 - 1, 9 - 2 - 1)


def test_centre_rejects_mismatched_metadata():
    meta = CropMetadata((0, 10, 0, 10), ((0, 0), 9), (9, (0, 0)), 0)
    with pytest.raises(ValueError, match="does not match"):
        best_center(np.ones((5, 5), dtype=np.uint16), "CC", meta)


# -- stage 4: windows -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "run", ["image_only_no_augmentation", "image_only_tta10_seed0", "image_heatmaps_no_augmentation", "image_heatmaps_tta10_seed0"]
)
def test_window_borders_match_every_conformance_pass(expected, run):
    record = expected["predictions"][run]
    rng = np.random.RandomState(record["seed"])
    noise = WindowNoise() if record["augmentation"] else WindowNoise.none()
    for expected_pass in record["passes"]:
        for view in VIEWS:
            kind = view.split("-")[1]
            if record["augmentation"]:
                assert rng.randint(0, 1) == 0  # one image per view: consumes nothing
            _, trace = plan_window(
                tuple(expected["crop"][view]["cropped_shape"]), kind, tuple(expected["best_center"][view]), SIZES[kind], rng, noise
            )
            assert trace.as_dict() == expected_pass["windows"][view], (run, view)


def test_section_14_augmentation_trace():
    rng = np.random.RandomState(0)
    expected = [
        ((210, 2887, 43, 1985), (219, 2891, 38, 1994)),
        ((188, 2865, 78, 2020), (260, 2847, 111, 2023)),
        ((214, 2891, 85, 2027), (141, 2821, 26, 2068)),
    ]
    for after_noise, final in expected:
        _, trace = plan_window((2592, 1263), "CC", (1296, 240), SIZES["CC"], rng, WindowNoise())
        assert trace.padded_shape == (3077, 2142)
        assert (trace.borders_after_crop_noise, trace.borders_final) == (after_noise, final)


def test_size_noise_is_drawn_even_without_augmentation():
    rng, reference = np.random.RandomState(3), np.random.RandomState(3)
    _, trace = plan_window((3000, 2000), "CC", (1500, 1000), SIZES["CC"], rng, WindowNoise.none())
    assert trace.borders_final == trace.borders_after_crop_noise == (162, 2839, 29, 1971)
    reference.uniform(-1, 1, size=4)
    assert rng.uniform() == reference.uniform()


def test_unaugmented_window_is_standardised_and_padded():
    rng = np.random.RandomState(0)
    image = np.random.default_rng(0).integers(1, 4000, size=(1, 300, 200)).astype(np.float32)
    window, trace = make_window(image, "CC", (150, 100), (400, 250), rng, WindowNoise.none())
    assert window.shape == (1, 400, 250)
    assert trace.padded_shape == (400, 250)
    assert abs(float(window.mean())) < 1e-5 and float(window.std()) == pytest.approx(1, abs=1e-5)
    # The zero padding becomes the lowest value after standardisation.
    assert window[0, -1, -1] == pytest.approx(window.min())


def test_heatmap_channels_are_not_standardised():
    rng = np.random.RandomState(0)
    channels = np.stack([np.full((50, 40), 7.0), np.full((50, 40), 0.25), np.full((50, 40), 0.5)]).astype(np.float32)
    window, _ = make_window(channels, "MLO", (25, 20), (50, 40), rng, WindowNoise.none())
    np.testing.assert_array_equal(window[1], 0.25)
    np.testing.assert_array_equal(window[2], 0.5)
    np.testing.assert_array_equal(window[0], 0.0)  # constant image: std floor, no division by zero


def test_reduced_output_size_resizes_the_planned_window():
    rng = np.random.RandomState(0)
    channels = np.random.default_rng(2).random((1, 120, 90)).astype(np.float32)
    window, trace = make_window(channels, "CC", (60, 45), (120, 90), rng, WindowNoise.none(), output_size=(40, 30))
    assert window.shape == (1, 40, 30)
    assert trace.borders_final == (0, 120, 0, 90)


def test_cut_window_places_the_image_on_the_zero_canvas():
    channels = np.arange(1, 13, dtype=np.float32).reshape(1, 3, 4)
    out = cut_window(channels, pad_top=2, borders=(1, 6, 2, 6))
    expected = np.zeros((1, 5, 4), dtype=np.float32)
    expected[0, 1:4, 0:2] = channels[0, :, 2:4]
    np.testing.assert_array_equal(out, expected)


def test_standardize_floors_the_std():
    out = standardize(np.full((3, 3), 5.0, dtype=np.float32))
    np.testing.assert_array_equal(out, 0)
    values = np.array([[0.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(standardize(values), [[-1.0, 1.0]])
