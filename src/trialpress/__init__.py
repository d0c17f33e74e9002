"""trialpress: clinical-trial ADaM data to a versioned, publication-style report."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
