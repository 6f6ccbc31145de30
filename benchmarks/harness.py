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
import time
from collections.abc import Callable, Mapping, Sequence
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


def add_run_arguments(
    parser: argparse.ArgumentParser,
    quick_help: str | None,
    report: bool = True,
    report_help: str = "only re-render the markdown and PNGs from the JSON",
) -> None:
    """
    The flags every experiment script has: ``--quick`` (writes ``*_quick.*``; left out when ``quick_help`` is
    None) and ``--report`` (re-render; left out when ``report`` is False).
    """
    if quick_help is not None:
        parser.add_argument("--quick", action="store_true", help=quick_help)
    if report:
        parser.add_argument("--report", action="store_true", help=report_help)


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
def write_json(path: Path, data: Any, indent: int = 1, newline: bool = True) -> Path:
    """Write ``data`` as JSON (creating the folder), with a final newline unless ``newline`` is False."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + ("\n" if newline else ""))
    return path


_NO_DEFAULT: Any = object()


def read_json(path: Path, default: Any = _NO_DEFAULT) -> Any:
    """The JSON in ``path``; ``default`` instead when given and the file does not exist (a first run)."""
    if default is not _NO_DEFAULT and not path.exists():
        return default
    return json.loads(path.read_text())


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def report_requested(args: argparse.Namespace, json_path: Path, render: Callable[[Any, bool], Any]) -> bool:
    """``--report``: re-render from the stored results (``render(data, quick)``) and return True: the caller stops."""
    if not args.report:
        return False
    render(read_json(json_path), args.quick)
    return True


def write_report(md_path: Path, markdown: str, plot: Callable[[], Any]) -> None:
    """Write a report's markdown, draw its figure (``plot`` returns where) and say where both went."""
    write_text(md_path, markdown)
    print(f"wrote {md_path}, {plot()}")


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


def command_block(command: str) -> list[str]:
    """The "Command:" block that opens every generated report."""
    return ["Command:", "", "```bash", command, "```", ""]


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> list[str]:
    """
    A markdown table as lines (no trailing blank line). ``align``: one letter per column, ``r`` for a
    right-aligned column (``---:``), anything else (or a column beyond the string) left as ``---``.
    """
    rules = ["---:" if align[index : index + 1] == "r" else "---" for index in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rules) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------
def zoo_settings(algo: str, env_id: str) -> dict[str, Any]:
    """
    The rl-zoo hyperparameters of ``algo`` for ``env_id`` (packaged ``zoo_configs/<algo>.yml``), as model kwargs;
    a ``policy_kwargs`` string (rl-zoo's ``"dict(...)"`` form) is resolved as ``sb3-maxent train`` resolves it.
    """
    import yaml

    from sb3_maxent.zoo.configs import config_path

    path = config_path(algo)
    if path is None:
        raise FileNotFoundError(f"no packaged zoo configuration for {algo!r}")
    entry = dict(yaml.safe_load(path.read_text())[env_id])
    for key in ("n_timesteps", "monitor_kwargs", "env_kwargs", "n_envs"):
        entry.pop(key, None)
    if isinstance(entry.get("policy_kwargs"), str):
        from sb3_maxent.zoo.exp_manager import resolve_policy_kwargs  # imports rl_zoo3: only when needed

        entry["policy_kwargs"] = resolve_policy_kwargs(entry["policy_kwargs"])
    return entry


def zoo_timesteps(algo: str, env_id: str) -> int:
    """The ``n_timesteps`` budget of ``algo``'s packaged rl-zoo entry for ``env_id``."""
    import yaml

    from sb3_maxent.zoo.configs import config_path

    path = config_path(algo)
    if path is None:
        raise FileNotFoundError(f"no packaged zoo configuration for {algo!r}")
    return int(float(yaml.safe_load(path.read_text())[env_id]["n_timesteps"]))


# Settings that several scripts measure with (one home, so that their numbers stay comparable)
#: PPO on FruitBot: the MaxEnt PPO paper's values (throughput.py, throughput_fruitbot.py)
FRUITBOT_PPO_SETTINGS: dict[str, float] = dict(
    learning_rate=5e-4, gamma=0.999, gae_lambda=0.95, clip_range=0.2, vf_coef=0.5, max_grad_norm=0.5
)
#: rl-zoo's DQN CartPole-v1 settings, shortened: the same replay/train cadence for DQN and SoftDQN (overhead.py,
#: throughput.py)
DQN_CARTPOLE_SETTINGS: dict[str, Any] = dict(
    learning_starts=500,
    batch_size=64,
    buffer_size=50_000,
    train_freq=256,
    gradient_steps=128,
    target_update_interval=10,
    policy_kwargs=dict(net_arch=[256, 256]),
)


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------
def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and process-CPU seconds of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def machine_details() -> dict[str, Any]:
    """The timing scripts' machine header: CPUs available to this process, processor, torch and its threads, load."""
    import torch as th

    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": th.__version__,
        "torch_threads": th.get_num_threads(),
        "torch_interop_threads": th.get_num_interop_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "load_before": os.getloadavg()[0],
    }
