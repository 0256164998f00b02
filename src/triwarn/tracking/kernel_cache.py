"""The tracker's compiled kernels, compiled once and cached on disk: a check whether the cache is warm, an
explicit compilation with a notice and a progress bar, and a cache key that also covers the sources numba
does not watch.

    from triwarn.tracking.kernel_cache import compile_kernels
    compile_kernels()            # at a command's start: instant when cached; else a notice, a bar, ~30 s

    python -m triwarn.tracking.kernel_cache     # the same from the shell (`make` runs it after installing)

Why: numba compiles a kernel at its first call. Uncached, the tracker's kernels take about 30 s of CPU,
which a first `triwarn demo` used to spend silently at the first detection, with an empty map. Each
kernel is compiled here for the one signature the tracker calls it with (KERNELS; the tests hold a
tracker run to add no other), so a bar can advance per kernel, and numba writes each to its on-disk cache
(`cache=True`: the .nbi index and .nbc data files in the module's __pycache__, or numba's user-wide cache
directory when that is not writable), where every later process, the baseline worker included, loads it
in milliseconds.

The cache key: numba keys a kernel's cache entry on its own module's file (modification time and size)
and its own bytecode. Code and constants it compiles in from other modules are not part of the key:
`physics/equations.py` (the free-flight equation inlined in the `imm_ekf` kernels), `geo/wgs84.py` (the
Earth constants, frozen into the kernels) and `tracking/models.py` (MAX_STEP_S). After an edit to one of
those, numba would go on loading kernels compiled from the old text. So `match_sources`, run when
`imm_ekf` is imported (before any kernel can be called), compares a SHA-256 of those files and of the
kernels' own modules with the one stored beside the cache (`kernel-sources.sha256`); when they differ,
or none is stored, it deletes the tracking kernels' cache files (and those of the equation's own
compiled copies) and stores the new hash, so the next call compiles afresh (and `compile_kernels` says
so). Add a module to SOURCES when a kernel starts compiling in code or constants from it.
"""

from __future__ import annotations

import hashlib
import importlib
import time
from pathlib import Path
from typing import Any

from triwarn.progress import ProgressLine, notice

NOTICE = "triwarn: compiling the tracker's kernels once (about 30 s); later runs start at once"
STAMP_NAME = "kernel-sources.sha256"
_PKG = Path(__file__).resolve().parent.parent  # src/triwarn

# Everything compiled into the tracker's kernels, their own modules included (relative to the package).
SOURCES = ("physics/equations.py", "geo/wgs84.py", "tracking/models.py", "tracking/imm_ekf.py",
           "tracking/association.py", "tracking/deletion.py", "tracking/initiation.py")
# The modules whose numba cache files (MODULE.*.nbi, MODULE.*.nbc) hold code built from SOURCES.
_CACHED_MODULES = ("tracking/imm_ekf", "tracking/association", "tracking/deletion", "tracking/initiation",
                   "physics/equations")


def _signatures() -> list[tuple[str, str, tuple]]:
    """(module, kernel, argument types) of every kernel the tracker calls from Python, as it calls it."""
    from numba import types as nt

    f8, i8, b1 = nt.float64, nt.int64, nt.boolean

    def a(ndim: int, dtype: Any = f8, layout: str = "C") -> Any:
        return nt.Array(dtype, ndim, layout)

    boost_prob = a(1, layout="A")  # the tracker passes mu[:, MODE_BOOST], a strided column
    imm = "triwarn.tracking.imm_ekf"
    return [
        (imm, "imm_update_radar", (a(3), a(4), a(2), a(2), a(3), a(1), a(1, i8), a(1), a(2), a(1), a(2), a(1), a(1))),
        (imm, "imm_update_los", (a(3), a(4), a(2), a(2), a(3), a(1), a(1, i8), a(1), a(2), a(2), f8, a(1))),
        (imm, "imm_predict_combined", (a(3), a(4), a(2), a(1), a(1, i8), f8, a(1))),
        (imm, "dominant_predict", (a(2), a(3), a(1), boost_prob, a(1, i8), f8, a(1), b1)),
        (imm, "radar_gate_tracks", (a(2), a(3), a(1), boost_prob, a(1, i8), f8, a(1), a(1), a(2)) + (f8,) * 8),
        (imm, "radar_pair_gate", (a(2), a(3), a(1, i8), a(1, i8), a(1), a(2), a(1), a(2), a(1))),
        (imm, "radar_to_ecef_compiled", (a(2), a(1), a(2), a(1))),
        ("triwarn.tracking.association", "_pairs_within", (a(2), a(1), a(2))),
        ("triwarn.tracking.association", "_clusters", (a(1, i8), a(1, i8), i8, i8)),
        ("triwarn.tracking.deletion", "_lost", (f8, a(1, i8), a(1), a(2), a(3), f8, f8, f8, f8, f8)),
        ("triwarn.tracking.initiation", "nearest_within", (a(2), a(2), i8, f8)),
    ]


def _dispatcher(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _is_cached(disp: Any, sig: tuple) -> bool:
    """The kernel is compiled for sig in this process, or numba's on-disk index holds sig for the
    current source (numba's own test: same module file stamp and numba version)."""
    if sig in disp.overloads:
        return True
    try:
        index = disp._cache._cache_file._load_index()  # numba 0.68's FunctionCache (private, pinned)
    except Exception:  # an unreadable or foreign index: numba would recompile too
        return False
    return any(key[0] == sig for key in index)


def kernels_cached() -> bool:
    """Whether every kernel would load from the cache (no compilation at its first call)."""
    return all(_is_cached(_dispatcher(m, n), sig) for m, n, sig in _signatures())


def compile_kernels(*, progress: bool | None = None, quiet: bool = False) -> float:
    """Compile (or load from the cache) every kernel the tracker calls; returns the seconds it took.

    Cached: silent, well under a second. Not cached: NOTICE on stderr first (unless quiet), then a bar
    advancing per kernel (progress None: when stderr is a terminal, triwarn.progress.wanted).
    """
    t0 = time.perf_counter()
    sigs = _signatures()
    if not hasattr(_dispatcher(*sigs[0][:2]), "compile"):  # NUMBA_DISABLE_JIT: plain Python, nothing to do
        return 0.0
    todo = [(m, n, sig) for m, n, sig in sigs if not _is_cached(_dispatcher(m, n), sig)]
    if not todo:
        for m, n, sig in sigs:  # load them now, not at the first detection
            _dispatcher(m, n).compile(sig)
        return time.perf_counter() - t0
    notice(NOTICE, quiet=quiet)
    with ProgressLine("compiling", total=len(sigs), enabled=False if quiet else progress) as bar:
        for k, (m, n, sig) in enumerate(sigs):
            bar.update(k, n)
            _dispatcher(m, n).compile(sig)
            bar.update(k + 1, n)
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------- the sources' hash


def sources_hash() -> str:
    """SHA-256 over SOURCES (names and contents)."""
    h = hashlib.sha256()
    for rel in SOURCES:
        h.update(rel.encode() + b"\0")
        try:
            h.update((_PKG / rel).read_bytes())
        except OSError:
            h.update(b"(missing)")
        h.update(b"\0")
    return h.hexdigest()


def check_sources(tracking_kernel: Any, equations_kernel: Any) -> bool:
    """match_sources for the cache folders of two kernels: one of tracking's, the equation's compiled
    copy (imm_ekf calls this at import). Nothing to do without numba's cache (NUMBA_DISABLE_JIT)."""
    paths = [getattr(getattr(k, "_cache", None), "cache_path", None) for k in (tracking_kernel, equations_kernel)]
    if not all(paths):
        return False
    return match_sources(paths[0], paths[1])


def match_sources(tracking_cache: str | Path, equations_cache: str | Path) -> bool:
    """Clear the kernels' cache files when SOURCES changed since they were compiled (see the module
    docstring). tracking_cache, equations_cache: numba's cache folders of the tracking modules and of
    physics/equations.py. Returns whether it cleared. Never raises: a cache it cannot read or clean is
    left to numba."""
    folder = Path(tracking_cache)
    stamp = folder / STAMP_NAME
    digest = sources_hash()
    try:
        if stamp.read_text().strip() == digest:
            return False
    except OSError:
        pass
    try:
        for rel in _CACHED_MODULES:
            cache = Path(equations_cache) if rel.startswith("physics/") else folder
            prefix = Path(rel).name + "."
            for f in list(cache.glob(prefix + "*.nbi")) + list(cache.glob(prefix + "*.nbc")):
                f.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{STAMP_NAME}.{time.monotonic_ns()}.tmp"
        tmp.write_text(digest + "\n")
        tmp.replace(stamp)
    except OSError:
        return False
    return True


def main() -> None:
    """`python -m triwarn.tracking.kernel_cache`: compile and cache the kernels, saying what it did."""
    cached = kernels_cached()
    took = compile_kernels()
    if cached:
        print(f"triwarn: the tracker's kernels are already compiled and cached ({took:.1f} s to load)")
    else:
        print(f"triwarn: the tracker's kernels are compiled and cached ({took:.0f} s); runs start at once now")


if __name__ == "__main__":  # pragma: no cover
    main()
