"""The report runner's folders under ``<output>/``: scratch, failed runs, publishing.

- ``.runs/<period>-<time>-<id>/``: one run's scratch (artifacts, executed notebooks,
  pages). It holds ``owner.json`` (process id, host, start time) while its run is live.
  Every run starts by removing the scratch of runs that are not live
  (:func:`remove_dead_scratch`): a run killed with ``kill -9``, or one that failed while
  the disk was full, leaves its folder behind, and the next run removes it.
- ``.failed/<run>/notebooks/``: the executed notebooks of a failed run, for the analyst
  (the rest of its scratch is removed at once, so a full disk is not kept full); only the
  newest :data:`KEEP_FAILED` failed runs are kept.
- ``<period>/``: the published report, replaced in one rename (:func:`publish`).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

RUNS, FAILED, OWNER, OLD = ".runs", ".failed", "owner.json", "old-"
#: Failed runs whose executed notebooks are kept under ``.failed/``.
KEEP_FAILED = 5
#: A scratch folder without a readable owner (or owned by another host) counts as dead
#: once it is this old: no run takes a day.
STALE_SECONDS = 24 * 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True


def is_live(scratch: Path, *, now: float | None = None) -> bool:
    """Whether the run owning ``scratch`` may still be running.

    Live when its ``owner.json`` names a process that is alive on this host; a folder
    without an owner (or owned on another host) is taken as live for a day after its last
    change, so two machines sharing a reports folder never remove each other's runs.
    """
    now = time.time() if now is None else now
    if scratch.name.startswith(OLD):  # a replaced report whose removal was cut short
        return False
    try:
        owner = json.loads((scratch / OWNER).read_text(encoding="utf-8"))
        pid, host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        pid, host = None, None
    if pid is not None and host == socket.gethostname():
        return _pid_alive(pid)
    try:
        age = now - scratch.stat().st_mtime
    except OSError:
        return False
    return age < STALE_SECONDS


def remove_dead_scratch(output: Path) -> list[Path]:
    """Remove the scratch folders in ``<output>/.runs/`` whose runs are not live, and all but
    the newest :data:`KEEP_FAILED` failed runs; returns the folders removed."""
    removed: list[Path] = []
    runs = output / RUNS
    for folder in sorted(runs.iterdir()) if runs.is_dir() else []:
        if folder.is_dir() and not is_live(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    failed = output / FAILED
    kept = sorted((f for f in failed.iterdir() if f.is_dir()), key=lambda f: f.stat().st_mtime) if failed.is_dir() else []
    for folder in kept[:-KEEP_FAILED]:
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def new_scratch(output: Path, period: str) -> Path:
    """A new scratch folder for one run of ``period``, owned by this process."""
    scratch = output / RUNS / f"{period}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    scratch.mkdir(parents=True)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    (scratch / OWNER).write_text(json.dumps(owner), encoding="utf-8")
    return scratch


def keep_failed(output: Path, scratch: Path) -> Path:
    """Move a failed run's executed notebooks to ``.failed/<run>/notebooks/`` and remove the
    rest of its scratch; returns the folder kept."""
    kept = output / FAILED / scratch.name
    kept.mkdir(parents=True, exist_ok=True)
    notebooks = scratch / "notebooks"
    if notebooks.is_dir():
        notebooks.rename(kept / "notebooks")
    shutil.rmtree(scratch, ignore_errors=True)
    return kept


def publish(scratch: Path, target: Path) -> None:
    """Swap the finished scratch folder into place as ``target``: the old report goes only
    after the new one is in, and comes back if the swap fails."""
    (scratch / OWNER).unlink(missing_ok=True)
    if not target.exists():
        scratch.rename(target)
        return
    trash = target.parent / RUNS / f"{OLD}{target.name}-{uuid.uuid4().hex[:6]}"
    target.rename(trash)
    try:
        scratch.rename(target)
    except OSError:
        trash.rename(target)
        raise
    shutil.rmtree(trash, ignore_errors=True)
