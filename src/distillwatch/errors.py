"""Exception types raised by distillwatch. All derive from :class:`DistillwatchError`."""

from __future__ import annotations


class DistillwatchError(Exception):
    """Base class for every error distillwatch raises on purpose."""


class InputError(DistillwatchError, ValueError):
    """An input file cannot be read at all (missing, unknown format, no usable rows).

    Row-level contract violations never raise: they go to the quarantine file.
    The message always names the file, and the line and field where one applies.
    """


class EngineError(DistillwatchError, RuntimeError):
    """A SQL step failed. Carries the stage name and the failing SQL (as Splink does)."""

    def __init__(self, stage: str, sql: str, cause: BaseException):
        self.stage, self.sql, self.cause = stage, sql, cause
        super().__init__(f"stage {stage!r} failed: {cause}\n--- SQL ---\n{sql.strip()[:2000]}")


def folder_problem(path, exc: OSError) -> str:
    """Why ``path`` cannot be used as a folder, in words, for an error message.

    ``os.makedirs`` on a path that is a regular file reports "File exists", and on a path under a
    file "Not a directory"; both are named here as "<path> is a file, not a folder". Other errors
    give the operating system's text (e.g. "Permission denied").
    """
    from pathlib import Path

    p = Path(path)
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                return f"{q} is a file, not a folder"
            break
    return exc.strerror or str(exc)
