"""Small-matrix algebra of the tracker's measurement update, vectorised over (track, measurement) pairs.

The update itself is compiled in `imm_ekf` (`_ekf_update`, `_mode_probabilities`); its numpy reference
is `imm_update` in tests/tracking/kernel_oracles.py.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def small_inverse(s: NDArray) -> tuple[NDArray, NDArray]:
    """Inverse and determinant of stacked symmetric 2x2 or 3x3 matrices by cofactors.

    numpy's batched LAPACK call costs more per tiny matrix than the arithmetic itself.
    """
    m = s.shape[-1]
    if m == 2:
        a, b, d = s[..., 0, 0], s[..., 0, 1], s[..., 1, 1]
        det = a * d - b * b
        inv = np.empty_like(s)
        inv[..., 0, 0], inv[..., 1, 1] = d / det, a / det
        inv[..., 0, 1] = inv[..., 1, 0] = -b / det
        return inv, det
    if m == 3:
        a, b, c = s[..., 0, 0], s[..., 0, 1], s[..., 0, 2]
        d, e, f = s[..., 1, 1], s[..., 1, 2], s[..., 2, 2]
        c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
        det = a * c00 + b * c01 + c * c02
        inv = np.empty_like(s)
        inv[..., 0, 0] = c00 / det
        inv[..., 0, 1] = inv[..., 1, 0] = c01 / det
        inv[..., 0, 2] = inv[..., 2, 0] = c02 / det
        inv[..., 1, 1] = (a * f - c * c) / det
        inv[..., 1, 2] = inv[..., 2, 1] = (b * c - a * e) / det
        inv[..., 2, 2] = (a * d - b * b) / det
        return inv, det
    return np.linalg.inv(s), np.linalg.det(s)
