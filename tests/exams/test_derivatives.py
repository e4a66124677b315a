"""Display derivatives (pure): exact pixel byte planes, windowed preview, header contract."""
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


def test_pixel_derivative_is_low_then_high_byte_planes_in_one_gzip_member():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 65536, (300, 257), dtype=np.uint16)
    data = derivatives.pixel_planes_gzip(pixels)
    assert data[:2] == b"\x1f\x8b"  # a gzip member: browsers inflate it for Content-Encoding: gzip
    raw = gzip.decompress(data)
    assert raw == (pixels & 0xFF).astype(np.uint8).tobytes() + (pixels >> 8).astype(np.uint8).tobytes()
    assert np.array_equal(derivatives.decode_pixel_planes(data, 300, 257), pixels)


def test_planes_of_a_non_contiguous_or_big_endian_array():
    pixels = np.arange(64 * 64, dtype=">u2").reshape(64, 64)[:, ::-1]
    assert np.array_equal(derivatives.decode_pixel_planes(derivatives.pixel_planes_gzip(pixels), 64, 64), pixels)


def test_decoding_refuses_damaged_or_mis_sized_data():
    data = derivatives.pixel_planes_gzip(np.ones((10, 10), np.uint16))
    for damaged, shape in ((b"not gzip", (10, 10)), (data[:-12], (10, 10)), (data, (10, 11))):
        with pytest.raises(ValueError, match="cannot be decompressed|bytes"):
            derivatives.decode_pixel_planes(damaged, *shape)


def test_twelve_bit_data_compress_far_better_as_planes():
    """The reason for the layout: the high plane of 12-bit data is nearly constant."""
    pixels = np.random.default_rng(4).normal(2000, 300, (512, 512)).clip(0, 4095).astype(np.uint16)
    plain = zlib.compress(pixels.astype("<u2").tobytes(), 1)
    assert len(derivatives.pixel_planes_gzip(pixels)) < 0.9 * len(plain)


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


def test_multi_chunk_planes_are_one_valid_member():
    pixels = np.random.default_rng(1).integers(0, 4096, (2200, 1100), dtype=np.uint16)  # 2 chunks per plane
    assert pixels.size > derivatives.CHUNK_BYTES
    data = derivatives.pixel_planes_gzip(pixels)
    decompressor = zlib.decompressobj(31)  # plain zlib agrees with ISA-L's stream, CRC and length
    raw = decompressor.decompress(data)
    assert decompressor.eof and decompressor.unused_data == b""  # a single member, nothing trailing
    assert raw[:pixels.size] == (pixels & 0xFF).astype(np.uint8).tobytes()
    assert np.array_equal(derivatives.decode_pixel_planes(data, 2200, 1100), pixels)


@pytest.mark.parametrize("shape", [(1, 1), (7, 1), (1, 9), (300, 257)])
def test_own_png_encoder_round_trips_through_pillow(shape):
    grey = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
    decoded = Image.open(io.BytesIO(derivatives.encode_grey_png(grey)))
    decoded.load()
    assert decoded.mode == "L" and np.array_equal(np.asarray(decoded), grey)


@pytest.mark.parametrize("max_value", [4095, 65535])
def test_reduction_never_overflows(max_value):
    pixels = np.full((4096, 64), max_value, dtype=np.uint16)
    assert (derivatives.reduce_for_preview(pixels, 1024, max_value) == max_value).all()
