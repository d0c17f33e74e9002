"""Building a version where nobody can see it, then publishing it with one atomic rename.

A render is built in a hidden staging folder `.<version>.tmp-XXXX` beside the final one and renamed into
place only when complete (every file fsync'ed first; `rename` is atomic on one file system). While a render
runs it holds an exclusive `flock` on `.<version>.tmp-XXXX.lock`; a staging folder whose lock is free
belongs to a render that died (kill -9, power loss) and is removed by the next render. A version folder
therefore either exists complete, with its manifest, or not at all.

Publishing never writes into anything that is already at the version's path: a complete version there (a
concurrent render of the same inputs won the race) is kept and the staging copy dropped; anything else
there (a file, an empty or half-copied folder) is an `ArtefactError` naming it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

from trialpress.errors import ArtefactError
from trialpress.store.folders import MANIFEST, STAGING_MARK, is_staging, occupied, occupied_error

STALE_UNLOCKED_SECONDS = 60

_DISK_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
                errno.EROFS: "the file system is read-only", errno.ENOTDIR: "a path component is a file, not a folder",
                errno.EEXIST: "a file is in the way"}
HINT = "Check that the report folder exists, is writable and has free space, or choose another with --out."


def why(exc: OSError) -> str:
    """An OS error in words (disk full, permission denied …)."""
    return _DISK_ERRNOS.get(exc.errno or 0, exc.strerror or str(exc))


class StagingArea:
    """A temporary folder beside the final one, renamed into place on success, removed on failure.

    OS errors inside the block (disk full, permission denied, read-only file system) become an
    `ArtefactError` naming the folder; the staging folder is removed and no version folder appears.
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path: Path | None = None
        self._lock_fd: int | None = None
        self._lock_path: Path | None = None

    def __enter__(self) -> Path:
        parent = self.final.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            # the lock exists (and is held) before the folder it guards, so a cleaner never sees an
            # unguarded live staging folder
            fd, lock = tempfile.mkstemp(prefix=f".{self.final.name}{STAGING_MARK}", suffix=".lock", dir=parent)
            self._lock_fd, self._lock_path = fd, Path(lock)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.path = Path(lock[: -len(".lock")])
            self.path.mkdir()
        except OSError as exc:
            self._release()
            raise ArtefactError(f"Cannot create a staging folder under {parent}: {why(exc)}.", hint=HINT) from None
        return self.path

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._lock_path is not None:
            self._lock_path.unlink(missing_ok=True)
            self._lock_path = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        assert self.path is not None
        try:
            if exc_type is not None:
                shutil.rmtree(self.path, ignore_errors=True)
                if isinstance(exc, OSError):
                    raise ArtefactError(f"Cannot write the render under {self.final.parent}: {why(exc)}"
                                        f"{f' ({exc.filename})' if exc.filename else ''}.", hint=HINT) from None
                return
            self._publish()
        finally:
            self._release()

    def _publish(self) -> None:
        assert self.path is not None
        try:
            if self._taken():
                return
            _fsync_tree(self.path)
            self.path.chmod(0o755)
            try:
                # os.rename silently replaces an empty folder: look just before (what appears in the
                # moment between is caught by the rename itself unless it is an empty folder)
                if self.final.exists() or self.final.is_symlink():
                    raise FileExistsError(errno.EEXIST, "exists", str(self.final))
                os.rename(self.path, self.final)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and self._taken():
                    return
                raise
            _fsync_dir(self.final.parent)
        except ArtefactError:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        except OSError as exc2:
            shutil.rmtree(self.path, ignore_errors=True)
            raise ArtefactError(f"Cannot move the finished render into {self.final}: {why(exc2)}.",
                                hint=HINT) from None

    def _taken(self) -> bool:
        """True if a complete version is already at the final path (a concurrent render of the same inputs:
        identical content by construction; the staging copy is dropped). Anything else there is an error."""
        assert self.path is not None
        if not self.final.exists() and not self.final.is_symlink():
            return False
        reason = occupied(self.final)
        if reason is not None:
            raise occupied_error(self.final, reason)
        shutil.rmtree(self.path, ignore_errors=True)
        return True


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
    for d in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        _fsync_dir(d)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _lock_is_free(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_stale_staging(study_dir: Path) -> list[Path]:
    """Remove what interrupted renders left (staging folders whose lock is free), never a live render's
    staging folder and never a finished version. Returns what was removed."""
    removed: list[Path] = []
    if not study_dir.is_dir():
        return removed
    now = time.time()

    def old(p: Path) -> bool:   # a lock without its folder (or the reverse) is young only mid-creation
        try:
            return now - p.stat().st_mtime > STALE_UNLOCKED_SECONDS
        except OSError:
            return False

    for p in sorted(study_dir.iterdir()):
        if not is_staging(p):
            continue
        if p.is_dir():
            lock = p.with_name(p.name + ".lock")
            if (_lock_is_free(lock) if lock.exists() else old(p)):
                shutil.rmtree(p, ignore_errors=True)
                lock.unlink(missing_ok=True)
                removed.append(p)
        elif (p.name.endswith(".lock") and not p.with_name(p.name[: -len(".lock")]).exists() and old(p)
              and _lock_is_free(p)):
            p.unlink(missing_ok=True)
    return removed


__all__ = ["MANIFEST", "StagingArea", "clean_stale_staging", "is_staging", "why"]
