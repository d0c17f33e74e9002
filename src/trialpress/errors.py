"""Errors a user can act on, each with its own exit status.

Every error raised for bad input (plan, data, usage) is a `TrialpressError`: the CLI
prints its message (what, where, what to do) and exits with its code, never a traceback.
A traceback is reserved for bugs.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2          # wrong command line, missing file named on the command line
    PLAN = 3           # the analysis plan is invalid
    DATA = 4           # a dataset cannot be read or fails the quality gate
    RENDER = 5         # the document engines failed
    ARTEFACT = 6       # version store problem (disk full, permission, tampering)


class TrialpressError(Exception):
    """Base of all user-facing errors."""

    code: ExitCode = ExitCode.USAGE
    title: str = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UsageError(TrialpressError):
    code = ExitCode.USAGE
    title = "Usage error"


class PlanError(TrialpressError):
    code = ExitCode.PLAN
    title = "Analysis plan error"


class DataError(TrialpressError):
    code = ExitCode.DATA
    title = "Data error"


class QualityGateError(DataError):
    """Raised when error-level expectations fail; carries the gate report."""

    title = "Quality gate failed"

    def __init__(self, message: str, *, report: object, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class RenderError(TrialpressError):
    code = ExitCode.RENDER
    title = "Render error"


class ArtefactError(TrialpressError):
    code = ExitCode.ARTEFACT
    title = "Artefact error"
