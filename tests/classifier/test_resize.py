"""Bicubic resize: the OpenCV INTER_CUBIC arithmetic (a = -0.75, half-pixel centres, replicated
borders). Exact agreement with OpenCV on real windows is checked by the augmented conformance
runs in test_pipeline.py; these tests pin the properties and hand-computed values."""
import numpy as np
import pytest

from classifier.preprocessing.resize import cubic_taps, cubic_weights, resize_cubic


def reference_resize(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Scalar float64 reference written from the definition of Keys cubic convolution."""

    def kernel(t: float) -> float:
        a, t = -0.75, abs(t)
        if t <= 1:
            return (a + 2) * t**3 - (a + 3) * t**2 + 1
        if t < 2:
            return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
        return 0.0

    def taps(src: int, dst: int, d: int):
        f = (d + 0.5) * src / dst - 0.5
        base = int(np.floor(f))
        return [(min(max(base + k, 0), src - 1), kernel(f - (base + k))) for k in range(-1, 3)]

    h, w = image.shape
    horizontal = np.array([[sum(wt * image[y, i] for i, wt in taps(w, out_w, x)) for x in range(out_w)] for y in range(h)])
    return np.array([[sum(wt * horizontal[i, x] for i, wt in taps(h, out_h, y)) for x in range(out_w)] for y in range(out_h)])


def test_kernel_weights_at_known_offsets():
    weights = cubic_weights(np.array([0.0, 0.5]))
    np.testing.assert_array_equal(weights[0], [0, 1, 0, 0])
    np.testing.assert_array_equal(weights[1], [-0.09375, 0.59375, 0.59375, -0.09375])
    assert weights.dtype == np.float32


def test_weights_sum_to_one():
    weights = cubic_weights(np.linspace(0, 1, 101, endpoint=False))
    np.testing.assert_allclose(weights.sum(axis=1), 1, atol=1e-6)


def test_hand_computed_downscale_uses_replicated_border():
    # dst x=0 samples source x=0.5: taps at -1 (replicates 0), 0, 1, 2 with the 0.5 weights.
    row = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    out = resize_cubic(row, (1, 2))
    assert out[0, 0] == pytest.approx(-0.09375 * 1 + 0.59375 * 1 + 0.59375 * 2 - 0.09375 * 3)
    assert out[0, 1] == pytest.approx(-0.09375 * 2 + 0.59375 * 3 + 0.59375 * 4 - 0.09375 * 4)


def test_taps_are_clamped_to_the_image():
    index, _ = cubic_taps(5, 12)
    assert index.min() == 0 and index.max() == 4
    assert index.shape == (12, 4)


@pytest.mark.parametrize("size", [(7, 5), (13, 17), (4, 9), (10, 10)])
def test_matches_scalar_reference(size):
    image = np.random.default_rng(0).normal(size=(9, 11)).astype(np.float32)
    np.testing.assert_allclose(resize_cubic(image, size), reference_resize(image.astype(np.float64), *size), atol=1e-5)


def test_constant_image_stays_constant():
    out = resize_cubic(np.full((31, 17), 3.25, dtype=np.float32), (40, 12))
    np.testing.assert_allclose(out, 3.25, atol=1e-5)


def test_same_size_is_a_copy():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = resize_cubic(image, (3, 4))
    np.testing.assert_array_equal(out, image)
    assert out is not image


def test_channels_are_resized_jointly_and_independently():
    rng = np.random.default_rng(1)
    stack = rng.normal(size=(3, 20, 15)).astype(np.float32)
    joint = resize_cubic(stack, (23, 11))
    assert joint.shape == (3, 23, 11) and joint.dtype == np.float32
    for channel in range(3):
        np.testing.assert_array_equal(joint[channel], resize_cubic(stack[channel], (23, 11)))


def test_overshoot_is_possible_like_opencv():
    # a = -0.75 has negative lobes: a step edge overshoots (a bilinear resize never would).
    step = np.zeros((1, 8), dtype=np.float32)
    step[0, 4:] = 1
    out = resize_cubic(step, (1, 21))
    assert out.max() > 1 and out.min() < 0


def test_rejects_bad_shapes():
    with pytest.raises(ValueError):
        resize_cubic(np.zeros((2, 2, 2, 2), dtype=np.float32), (3, 3))
    with pytest.raises(ValueError):
        cubic_taps(0, 3)
