"""Check that two report folders hold the same numbers and the same artifacts.

    python benchmarks/compare_metrics.py BASELINE_PERIOD_DIR NEW_PERIOD_DIR

Both folders are period folders of a report (``reports/2011-11``). Every numeric value
(ints and floats, nested anywhere) of every ``artifacts/metrics/*.json`` of the baseline
must be present in the new folder and equal (floats to 1e-9 relative); keys only in the
new folder are listed, not failed. The artifact file names must be the same, and every
parquet and CSV artifact the same table. Exits 1 on any difference.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from crmlib.core import layout


def numbers(value: Any, path: str = "") -> dict[str, float]:
    """Every number in ``value`` by its dotted path (lists by index)."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, (int, float)):
        return {path: float(value)}
    out: dict[str, float] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(numbers(v, f"{path}.{k}" if path else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(numbers(v, f"{path}[{i}]"))
    return out


def _table_difference(old: Path, new: Path) -> str | None:
    """``None`` when two parquet or CSV artifacts hold the same table, else what differs."""
    import pandas as pd

    read = pd.read_parquet if old.suffix == ".parquet" else pd.read_csv
    try:
        pd.testing.assert_frame_equal(read(old), read(new), check_exact=False, rtol=1e-9)
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    return None


def compare(baseline: Path, new: Path) -> list[str]:
    """Differences between the two period folders, in words (empty when equal)."""
    problems: list[str] = []
    old_art, new_art = layout.artifacts_dir(baseline), layout.artifacts_dir(new)  # either report layout
    old_files = sorted(p.relative_to(old_art).as_posix() for p in old_art.rglob("*") if p.is_file())
    new_files = sorted(p.relative_to(new_art).as_posix() for p in new_art.rglob("*") if p.is_file())
    for name in sorted(set(old_files) - set(new_files)):
        problems.append(f"artifact missing: {name}")
    extra_files = sorted(set(new_files) - set(old_files))
    for name in sorted(set(old_files) & set(new_files)):
        if name.endswith((".parquet", ".csv")):
            problem = _table_difference(old_art / name, new_art / name)
            if problem:
                problems.append(f"{name}: {problem}")
    checked = 0
    for path in sorted((old_art / "metrics").glob("*.json")):
        other = new_art / "metrics" / path.name
        if not other.is_file():
            problems.append(f"{path.name}: missing")
            continue
        old = numbers(json.loads(path.read_text(encoding="utf-8")))
        now = numbers(json.loads(other.read_text(encoding="utf-8")))
        for key, value in old.items():
            checked += 1
            if key not in now:
                problems.append(f"{path.name}: {key} missing (was {value})")
            elif not math.isclose(value, now[key], rel_tol=1e-9, abs_tol=1e-12):
                problems.append(f"{path.name}: {key} = {now[key]} (was {value})")
        added = sorted(set(now) - set(old))
        if added:
            print(f"{path.name}: new keys {', '.join(added)}")
    print(f"{checked} numbers compared in {len(list((old_art / 'metrics').glob('*.json')))} metrics files; "
          f"{len(old_files)} baseline artifacts" + (f"; new artifacts: {', '.join(extra_files)}" if extra_files else ""))
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:  # `make bench` runs every script without arguments: nothing to compare
        print(__doc__)
        return 0
    problems = compare(Path(argv[0]), Path(argv[1]))
    for p in problems:
        print("DIFF", p)
    print("equal" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
