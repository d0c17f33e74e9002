"""Generators of the calibrated synthetic ADaM studies bundled with trialpress (``data/<study>/``).

A separate package beside the engine: it uses the engine (its Kaplan–Meier and Cox estimators, its
number formatting) to calibrate the data to what the engine reports, and the engine never imports it
(the ``trialpress synth`` command loads it on demand).

``GENERATORS`` maps a study name to ``generate(seed) -> {"ADSL": ..., "ADTTE": ..., ...}``;
:func:`write_study` writes a study's datasets as deterministic CSV files (same seed, same
bytes). Regenerate the bundled data with ``trialpress synth <name>`` or
``python -m trialpress_synth <name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from trialpress_synth import blinatumomab, velotrepin
from trialpress_synth._common import write_datasets

__all__ = ["DEFAULT_SEEDS", "GENERATORS", "KEYS", "generate", "write_frames", "write_study"]

Generator = Callable[[int], dict[str, pd.DataFrame]]

GENERATORS: dict[str, Generator] = {
    blinatumomab.NAME: blinatumomab.generate,
    velotrepin.NAME: velotrepin.generate,
}
DEFAULT_SEEDS: dict[str, int] = {
    blinatumomab.NAME: blinatumomab.DEFAULT_SEED,
    velotrepin.NAME: velotrepin.DEFAULT_SEED,
}
# Sort keys (one row per key) and column order of each study's datasets.
KEYS: dict[str, dict[str, list[str]]] = {
    blinatumomab.NAME: blinatumomab.KEYS,
    velotrepin.NAME: velotrepin.KEYS,
}
_COLUMNS: dict[str, dict[str, list[str]]] = {
    blinatumomab.NAME: blinatumomab.COLUMNS,
    velotrepin.NAME: velotrepin.COLUMNS,
}


def _check_name(name: str) -> None:
    if name not in GENERATORS:
        known = ", ".join(sorted(GENERATORS))
        raise KeyError(f"unknown synthetic study {name!r}; known: {known}")


def generate(name: str, seed: int | None = None) -> dict[str, pd.DataFrame]:
    """The datasets of study ``name`` for ``seed`` (default: the study's bundled seed)."""
    _check_name(name)
    return GENERATORS[name](DEFAULT_SEEDS[name] if seed is None else int(seed))


def write_study(name: str, folder: Path, seed: int | None = None) -> list[Path]:
    """Generate study ``name`` and write ``<folder>/<dataset lowercase>.csv`` for each dataset.

    Deterministic: rows sorted by the dataset keys, fixed column order, ``\\n`` line ends,
    floats as written by ``%.10g`` after rounding in the generator (AVAL to 4 decimals),
    dates as ``YYYY-MM-DD``, missing values as empty fields. Returns the written paths,
    sorted by dataset name.
    """
    return write_frames(name, generate(name, seed), folder)


def write_frames(name: str, datasets: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Write generated ``datasets`` of study ``name`` exactly as :func:`write_study` does."""
    _check_name(name)
    ordered = {ds: df[_COLUMNS[name][ds]] for ds, df in datasets.items()}
    return write_datasets(ordered, Path(folder), KEYS[name])
