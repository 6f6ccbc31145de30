"""What every benchmark script shares: result paths, quick/full budgets, the machine header, JSON in and out,
mean ± std and markdown tables. Each script keeps only its experiment.

The scripts run as ``python benchmarks/<name>.py``, so this module is imported as ``harness`` (the script's
folder is first on ``sys.path``); tests put ``benchmarks/`` on the path the same way.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"

Number = float | int | None


# --------------------------------------------------------------------------------------------------
# Paths, budgets, command line
# --------------------------------------------------------------------------------------------------
def result_path(name: str, quick: bool, suffix: str = ".json", part: str = "") -> Path:
    """``results/<name>[_<part>][_quick]<suffix>``: quick runs never overwrite the full results the docs show."""
    stem = f"{name}_{part}" if part else name
    return RESULTS_DIR / f"{stem}{'_quick' if quick else ''}{suffix}"


def budget(full: Mapping[str, Any], quick: Mapping[str, Any], is_quick: bool, **overrides: Any) -> dict[str, Any]:
    """The quick or full budget, with every override that is not None applied."""
    chosen = dict(quick if is_quick else full)
    chosen.update({key: value for key, value in overrides.items() if value is not None})
    return chosen


def add_run_arguments(parser: argparse.ArgumentParser, quick_help: str, report: bool = True) -> None:
    """The flags every experiment script has: ``--quick`` (writes ``*_quick.*``) and ``--report`` (re-render)."""
    parser.add_argument("--quick", action="store_true", help=quick_help)
    if report:
        parser.add_argument("--report", action="store_true", help="only re-render the markdown and PNGs from the JSON")


def command_line(prefix: str = "OMP_NUM_THREADS=1 .venv/bin/python") -> str:
    """The command that produced a result, as the reports print it."""
    return " ".join([prefix, Path(sys.argv[0]).as_posix(), *map(shlex.quote, sys.argv[1:])])


# --------------------------------------------------------------------------------------------------
# Machine header
# --------------------------------------------------------------------------------------------------
def machine(torch_threads: int | None = 1) -> str:
    """Processor, torch threads and OMP_NUM_THREADS, in one line."""
    threads = "" if torch_threads is None else f", torch threads {torch_threads}"
    return (
        f"{platform.processor() or platform.machine()}{threads}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )


def versions(*modules: str) -> dict[str, str]:
    """Versions of the named (already importable) packages, plus Python's."""
    out: dict[str, str] = {}
    for module in modules:
        imported = __import__(module)
        out[module] = str(getattr(imported, "__version__", "unknown"))
    out["python"] = platform.python_version()
    return out


# --------------------------------------------------------------------------------------------------
# JSON in and out
# --------------------------------------------------------------------------------------------------
def write_json(path: Path, data: Any, indent: int = 1) -> Path:
    """Write ``data`` as JSON (creating the folder), ending with a newline unless ``indent`` says otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + ("\n" if indent == 1 else ""))
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------------------------------
# Statistics and tables
# --------------------------------------------------------------------------------------------------
def mean_std(values: Sequence[Number]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof=1; 0 for one value) and count of the non-missing values."""
    array = np.asarray([v for v in values if v is not None and not math.isnan(float(v))], dtype=np.float64)
    if array.size == 0:
        return math.nan, math.nan, 0
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return float(array.mean()), std, int(array.size)


def fmt(values: Sequence[Number], digits: int = 2, percent: bool = False) -> str:
    """``mean ± std`` of the values (``(k/n runs)`` appended when some runs have no value)."""
    mean, std, count = mean_std(values)
    if count == 0:
        return "n/a"
    scale = 100.0 if percent else 1.0
    unit = "%" if percent else ""
    text = f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}{unit}"
    return text if count == len(values) else f"{text} ({count}/{len(values)} runs)"


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A markdown table as lines (no trailing blank line)."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines
