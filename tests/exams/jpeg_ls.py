"""A minimal lossless JPEG-LS encoder (ITU T.87, LOCO-I) for test data only: pydicom's JPEG-LS
encoder needs pyjpegls (CharLS), which is not installed, and the decoder under test
(pylibjpeg-libjpeg) must see a real stream. One greyscale component, NEAR = 0, default
thresholds, regular and run modes, no restart markers. Slow (pure Python): small images only."""
from __future__ import annotations

import struct

import numpy as np

J = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15]
RESET = 64


def _thresholds(maxval: int) -> tuple[int, int, int]:
    factor = (min(maxval, 4095) + 128) // 256
    clamp = lambda value, low: value if low <= value <= maxval else low  # noqa: E731 - T.87 C.2.4.1.1
    return clamp(factor * (3 - 2) + 2, 1), clamp(factor * (7 - 3) + 3, 2), clamp(factor * (21 - 4) + 4, 3)


def encode(pixels: np.ndarray, precision: int) -> bytes:
    rows, columns = pixels.shape
    maxval = (1 << precision) - 1
    value_range = maxval + 1
    qbpp = max(1, (value_range - 1).bit_length())
    bpp = max(2, (maxval).bit_length())
    limit = 2 * (bpp + max(8, bpp))
    t1, t2, t3 = _thresholds(maxval)
    a_init = max(2, (value_range + 32) // 64)
    A, B, C, N = [a_init] * 367, [0] * 367, [0] * 367, [1] * 367
    Nn = [0, 0]
    bits = _BitWriter()

    def quantize(d: int) -> int:
        if d <= -t3:
            return -4
        if d <= -t2:
            return -3
        if d <= -t1:
            return -2
        if d < 0:
            return -1
        if d == 0:
            return 0
        if d < t1:
            return 1
        if d < t2:
            return 2
        if d < t3:
            return 3
        return 4

    def reduce(error: int) -> int:
        if error < 0:
            error += value_range
        if error >= (value_range + 1) // 2:
            error -= value_range
        return error

    def golomb(value: int, k: int, glimit: int) -> None:
        high = value >> k
        if high < glimit - qbpp - 1:
            bits.write(1, high + 1)  # `high` zeros, then a one
            if k:
                bits.write(value & ((1 << k) - 1), k)
        else:
            bits.write(1, glimit - qbpp)
            bits.write((value - 1) & ((1 << qbpp) - 1), qbpp)

    previous = [0] * (columns + 2)  # index i + 1 holds column i; [0] and [-1] are the edge samples
    run_index = 0
    for y in range(rows):
        current = [0] * (columns + 2)
        row = pixels[y].tolist()
        previous[columns + 1] = previous[columns]
        current[0] = previous[1]
        x = 0
        while x < columns:
            ra, rb, rc, rd = current[x], previous[x + 1], previous[x], previous[x + 2]
            if rd - rb == 0 and rb - rc == 0 and rc - ra == 0:
                run_value, run_count = ra, 0
                while x < columns and row[x] == run_value:
                    current[x + 1] = run_value
                    run_count += 1
                    x += 1
                while run_count >= (1 << J[run_index]):
                    bits.write(1, 1)
                    run_count -= 1 << J[run_index]
                    run_index = min(31, run_index + 1)
                if x == columns:
                    if run_count:
                        bits.write(1, 1)
                    break
                bits.write(0, 1)
                if J[run_index]:
                    bits.write(run_count, J[run_index])
                # Run interruption sample.
                sample, rb = row[x], previous[x + 1]
                ri_type = 1 if ra == rb else 0
                error = sample - (ra if ri_type else rb)
                if not ri_type and ra > rb:
                    error = -error
                error = reduce(error)
                q = 365 + ri_type
                temp = A[q] + (N[q] >> 1) if ri_type else A[q]
                k = 0
                while (N[q] << k) < temp:
                    k += 1
                nn = Nn[ri_type]
                mapped_flag = 1 if ((k == 0 and error > 0 and 2 * nn < N[q]) or (error < 0 and 2 * nn >= N[q])
                                    or (error < 0 and k != 0)) else 0
                em_error = 2 * abs(error) - ri_type - mapped_flag
                golomb(em_error, k, limit - J[run_index] - 1)
                if error < 0:
                    Nn[ri_type] += 1
                A[q] += (em_error + 1 - ri_type) >> 1
                if N[q] == RESET:
                    A[q] >>= 1
                    N[q] >>= 1
                    Nn[ri_type] >>= 1
                N[q] += 1
                run_index = max(0, run_index - 1)
                current[x + 1] = sample
                x += 1
                continue
            q1, q2, q3 = quantize(rd - rb), quantize(rb - rc), quantize(rc - ra)
            sign = 1
            if q1 < 0 or (q1 == 0 and (q2 < 0 or (q2 == 0 and q3 < 0))):
                sign, q1, q2, q3 = -1, -q1, -q2, -q3
            q = (q1 * 9 + q2) * 9 + q3  # any one-to-one numbering of the 365 contexts will do
            if rc >= max(ra, rb):
                prediction = min(ra, rb)
            elif rc <= min(ra, rb):
                prediction = max(ra, rb)
            else:
                prediction = ra + rb - rc
            prediction = min(max(prediction + sign * C[q], 0), maxval)
            sample = row[x]
            error = reduce((sample - prediction) * sign)
            k = 0
            while (N[q] << k) < A[q]:
                k += 1
            if k == 0 and 2 * B[q] <= -N[q]:
                mapped = 2 * error + 1 if error >= 0 else -2 * (error + 1)
            else:
                mapped = 2 * error if error >= 0 else -2 * error - 1
            golomb(mapped, k, limit)
            B[q] += error
            A[q] += abs(error)
            if N[q] == RESET:
                A[q] >>= 1
                B[q] = B[q] >> 1 if B[q] >= 0 else -((1 - B[q]) >> 1)
                N[q] >>= 1
            N[q] += 1
            if B[q] <= -N[q]:
                B[q] += N[q]
                C[q] = max(-128, C[q] - 1)
                if B[q] <= -N[q]:
                    B[q] = -N[q] + 1
            elif B[q] > 0:
                B[q] -= N[q]
                C[q] = min(127, C[q] + 1)
                if B[q] > 0:
                    B[q] = 0
            current[x + 1] = sample
            x += 1
        previous = current
    frame = struct.pack(">BHHB", precision, rows, columns, 1) + bytes([1, 0x11, 0])
    scan = bytes([1, 1, 0, 0, 0, 0])  # one component, no mapping table, NEAR 0, ILV 0, no transform
    return b"\xff\xd8" + _segment(0xF7, frame) + _segment(0xDA, scan) + bits.finish() + b"\xff\xd9"


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


class _BitWriter:
    """MSB-first bits; after a 0xFF byte the next byte carries only 7 bits (its top bit is 0)."""

    def __init__(self):
        self.out = bytearray()
        self.pending: list[int] = []

    def write(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self.pending.append((value >> shift) & 1)
            self._drain()

    def _drain(self) -> None:
        while True:
            width = 7 if self.out and self.out[-1] == 0xFF else 8
            if len(self.pending) < width:
                return
            byte = 0
            for bit in self.pending[:width]:
                byte = (byte << 1) | bit
            del self.pending[:width]
            self.out.append(byte)

    def finish(self) -> bytes:
        width = 7 if self.out and self.out[-1] == 0xFF else 8
        if self.pending:
            self.pending.extend([0] * (width - len(self.pending)))
            self._drain()
        if self.out and self.out[-1] == 0xFF:
            self.out.append(0)
        return bytes(self.out)
