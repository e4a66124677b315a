"""A minimal JPEG lossless encoder (ITU T.81 process 14, first-order prediction, selection value 1)
for test data only: pydicom has no encoder for this transfer syntax, and the decoder under test
(pylibjpeg-libjpeg) must see a real stream. One greyscale component, one Huffman table in which
every difference category (0..16) gets a 5-bit code, no restart markers."""
from __future__ import annotations

import struct

import numpy as np

CODE_LENGTH = 5
CATEGORIES = 17


def encode(pixels: np.ndarray, precision: int) -> bytes:
    rows, columns = pixels.shape
    values = pixels.astype(np.int64)
    predicted = np.empty_like(values)
    predicted[0, 0] = 1 << (precision - 1)
    predicted[0, 1:] = values[0, :-1]  # first row: left neighbour
    predicted[1:, 0] = values[:-1, 0]  # first column: neighbour above
    predicted[1:, 1:] = values[1:, :-1]  # selection value 1: left neighbour
    differences = ((values - predicted + 32768) % 65536) - 32768  # modulo 2**16, signed
    bits = _BitWriter()
    for difference in differences.ravel().tolist():
        magnitude = abs(difference)
        category = 16 if difference == -32768 else magnitude.bit_length()
        bits.write(category, CODE_LENGTH)  # canonical code of symbol k is k itself at length 5
        if 0 < category < 16:
            extra = difference if difference > 0 else difference - 1
            bits.write(extra & ((1 << category) - 1), category)
    counts = [0] * 16
    counts[CODE_LENGTH - 1] = CATEGORIES
    huffman = bytes([0x00]) + bytes(counts) + bytes(range(CATEGORIES))
    frame = struct.pack(">BHHB", precision, rows, columns, 1) + bytes([1, 0x11, 0])
    scan = bytes([1, 1, 0x00, 1, 0, 0])  # one component, table 0, predictor 1, Se 0, Ah/Al 0
    return (b"\xff\xd8" + _segment(0xC3, frame) + _segment(0xC4, huffman) + _segment(0xDA, scan)
            + bits.stuffed() + b"\xff\xd9")


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


class _BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.accumulator = 0
        self.count = 0

    def write(self, value: int, length: int) -> None:
        self.accumulator = (self.accumulator << length) | value
        self.count += length
        while self.count >= 8:
            self.count -= 8
            self.out.append((self.accumulator >> self.count) & 0xFF)
        self.accumulator &= (1 << self.count) - 1

    def stuffed(self) -> bytes:
        if self.count:  # pad the last byte with 1 bits, as T.81 requires
            self.write((1 << (8 - self.count)) - 1, 8 - self.count)
        return bytes(self.out).replace(b"\xff", b"\xff\x00")
