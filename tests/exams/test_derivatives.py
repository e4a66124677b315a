"""Display derivatives (pure): exact gzip pixels, windowed preview, header contract."""
import gzip
import io
import zlib

import numpy as np
import pytest
from PIL import Image

from readerstudy.exams import derivatives
from readerstudy.exams.dicom_reader import MammoImage, VoiLut, WindowPair


def image(pixels, **fields) -> MammoImage:
    return MammoImage(laterality="L", view="L-CC", pixels=pixels, bits_stored=12, **fields)


def test_gzip_pixels_are_exact_little_endian_uint16():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 4096, (300, 257), dtype=np.uint16)
    data = derivatives.gzip_pixels(pixels)
    assert data[:2] == b"\x1f\x8b"  # a gzip member: browsers inflate it for Content-Encoding: gzip
    assert np.array_equal(np.frombuffer(gzip.decompress(data), dtype="<u2").reshape(pixels.shape), pixels)
    assert zlib.decompress(data, 31) == pixels.astype("<u2").tobytes()


def test_gzip_of_a_non_contiguous_or_big_endian_array():
    pixels = np.arange(64 * 64, dtype=">u2").reshape(64, 64)[:, ::-1]
    raw = gzip.decompress(derivatives.gzip_pixels(pixels))
    assert np.array_equal(np.frombuffer(raw, dtype="<u2").reshape(64, 64), pixels)


@pytest.mark.parametrize("rows, columns", [(4096, 3328), (2000, 1000), (1024, 800), (500, 300), (2047, 33)])
def test_preview_at_most_1024_rows_keeping_the_aspect(rows, columns):
    pixels = np.zeros((rows, columns), dtype=np.uint16)
    reduced = derivatives.reduce_for_preview(pixels, 1024)
    assert reduced.shape[0] <= 1024
    assert abs(reduced.shape[1] / reduced.shape[0] - columns / rows) < 0.05 or reduced.shape[1] <= 2


def test_block_mean_reduction():
    pixels = np.array([[0, 2, 10, 10], [4, 6, 10, 10]], dtype=np.uint16)
    assert derivatives.reduce_for_preview(pixels, 1).tolist() == [[3, 10]]


def test_preview_uses_the_first_window_and_inverts_monochrome1():
    ramp = np.tile(np.arange(0, 4096, 16, dtype=np.uint16), (64, 1))
    windowed = image(ramp, windows=[WindowPair(1024, 512)])
    grey = np.asarray(Image.open(io.BytesIO(derivatives.preview_png(windowed, (0, 4080)))))
    assert grey[0, 0] == 0 and grey[0, -1] == 255
    assert grey[0, ramp[0].tolist().index(1024)] in (127, 128)
    inverted = image(ramp, windows=[WindowPair(1024, 512)], photometric="MONOCHROME1")
    flipped = np.asarray(Image.open(io.BytesIO(derivatives.preview_png(inverted, (0, 4080)))))
    assert np.array_equal(flipped, 255 - grey)


def test_window_functions_follow_ps3_3():
    x = np.array([0.0, 99.5, 100.0, 200.0])
    linear = derivatives.apply_window(x, 100, 101, "LINEAR")
    assert linear[0] == 0 and linear[-1] == 1 and linear[1] == pytest.approx(0.5)
    exact = derivatives.apply_window(x, 100, 100, "LINEAR_EXACT")
    assert exact[2] == pytest.approx(0.5)
    sigmoid = derivatives.apply_window(x, 100, 100, "SIGMOID")
    assert sigmoid[2] == pytest.approx(0.5) and 0 < sigmoid[0] < 0.02


def test_lut_from_voi_lut_sequence_or_min_max():
    lut = derivatives.display_lut(image(np.zeros((1, 1), np.uint16), voi_lut=VoiLut(0, 8, [255, 0, 128])), (0, 3))
    assert lut.tolist() == [255, 0, 128, 128]
    plain = derivatives.display_lut(image(np.zeros((1, 1), np.uint16)), (100, 200))
    assert plain[100] == 0 and plain[200] == 255 and plain[150] in (127, 128)


def test_header_contract_keys():
    header = derivatives.header(image(np.zeros((3, 2), np.uint16), pixel_spacing=(0.1, 0.1)), (0, 0))
    assert header["rows"] == 3 and header["columns"] == 2 and header["pixel_spacing"] == [0.1, 0.1]
    assert header["invert"] is False and header["voi_lut"] is None and header["view"] == "L-CC"


def test_multi_chunk_gzip_is_one_valid_member():
    pixels = np.random.default_rng(1).integers(0, 4096, (2200, 1100), dtype=np.uint16)  # > 4 MiB: 2 chunks
    assert pixels.nbytes > derivatives.CHUNK_BYTES
    data = derivatives.gzip_pixels(pixels)
    decompressor = zlib.decompressobj(31)
    assert decompressor.decompress(data) == pixels.tobytes()
    assert decompressor.eof and decompressor.unused_data == b""  # a single member, nothing trailing


@pytest.mark.parametrize("shape", [(1, 1), (7, 1), (1, 9), (300, 257)])
def test_own_png_encoder_round_trips_through_pillow(shape):
    grey = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
    decoded = Image.open(io.BytesIO(derivatives.encode_grey_png(grey)))
    decoded.load()
    assert decoded.mode == "L" and np.array_equal(np.asarray(decoded), grey)


def test_zlib_fallback_writes_the_same_pixels(monkeypatch):
    monkeypatch.setattr(derivatives, "deflate_module", zlib)
    pixels = np.random.default_rng(3).integers(0, 4096, (2200, 1100), dtype=np.uint16)
    assert gzip.decompress(derivatives.gzip_pixels(pixels)) == pixels.tobytes()
    grey = (pixels[:50, :60] // 16).astype(np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(derivatives.encode_grey_png(grey)))), grey)


@pytest.mark.parametrize("max_value", [4095, 65535])
def test_reduction_never_overflows(max_value):
    pixels = np.full((4096, 64), max_value, dtype=np.uint16)
    assert (derivatives.reduce_for_preview(pixels, 1024, max_value) == max_value).all()
