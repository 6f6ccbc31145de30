"""
Optuna storage for distributed tuning: database URLs get heartbeats, so that a dead worker's trial is retried.

rl_zoo3 passes ``--storage`` to ``optuna.create_study`` as a string, and Optuna opens a database URL
(``postgresql://...``, ``mysql://...``, ``sqlite:///...``) without heartbeats: the trial of a worker that
dies (killed, preempted, out of memory) then stays ``RUNNING`` forever, and with ``--max-total-trials``
it keeps counting against the study. :func:`heartbeat_storage` opens those URLs as Optuna's
``RDBStorage`` with

* a heartbeat: every trial records the time in the database every ``heartbeat_interval`` seconds;
* failed-trial handling: a ``RUNNING`` trial whose last heartbeat is older than ``grace_period`` seconds is
  marked ``FAIL`` by the next worker that starts a trial, or by any worker when it starts, and put back in
  the study as a ``WAITING`` copy with the same hyperparameters (Optuna's retry callback), which the next
  free worker runs. A trial is retried at most :data:`MAX_RETRY` times.

``sb3-maxent train`` turns this on for every database URL (:func:`add_heartbeat_options`:
``--heartbeat-interval``, ``--grace-period``; ``--heartbeat-interval 0`` turns it off). Journal files
(``*.log``) have no heartbeat in Optuna and are left as they are.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import warnings
from collections.abc import Iterator
from typing import Any

import optuna

# Seconds between two heartbeats of a running trial (the value of Optuna's RDBStorage example)
HEARTBEAT_INTERVAL = 60
# How often the trial of a dead worker is run again before it stays failed (a trial whose hyperparameters
# crash the worker itself, out of memory say, must not come back forever)
MAX_RETRY = 2


def add_heartbeat_options(parser: argparse.ArgumentParser) -> None:
    """``sb3-maxent train``'s options for ``-optimize`` with a database ``--storage``, added to ``parser``."""
    group = parser.add_argument_group("sb3-maxent's options for -optimize with a database --storage")
    group.add_argument(
        "--heartbeat-interval",
        type=int,
        default=HEARTBEAT_INTERVAL,
        metavar="SECONDS",
        help=f"a running trial writes a heartbeat to the database this often (default {HEARTBEAT_INTERVAL}; 0: off)",
    )
    group.add_argument(
        "--grace-period",
        type=int,
        default=None,
        metavar="SECONDS",
        help="a running trial without a heartbeat for this long is failed and run again (default: twice the interval)",
    )


def is_database_url(storage: str | None) -> bool:
    """Whether ``--storage`` names a database (SQLAlchemy URL ``dialect[+driver]://...``), not a journal file."""
    return storage is not None and "://" in storage and not storage.endswith(".log")


def _retry_callback() -> Any:
    # Optuna 4.9 renamed RetryFailedTrialCallback (kept as a deprecated alias until 6.0)
    retry_class = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if retry_class is None:
        retry_class = optuna.storages.RetryFailedTrialCallback
    return retry_class(max_retry=MAX_RETRY)


def check_heartbeat(heartbeat_interval: int, grace_period: int | None = None) -> None:
    """ValueError unless the interval is positive and the grace period (if given) is longer than the interval."""
    if heartbeat_interval <= 0:
        raise ValueError(f"the heartbeat interval must be a positive number of seconds, got {heartbeat_interval}")
    if grace_period is not None and grace_period <= heartbeat_interval:
        raise ValueError(
            f"the grace period ({grace_period} s) must exceed the heartbeat interval ({heartbeat_interval} s), "
            "or live trials are failed between two heartbeats"
        )


def database_storage(
    url: str, heartbeat_interval: int = HEARTBEAT_INTERVAL, grace_period: int | None = None
) -> optuna.storages.RDBStorage:
    """
    ``RDBStorage(url)`` with a heartbeat every ``heartbeat_interval`` seconds; a running trial without a
    heartbeat for ``grace_period`` seconds (default: twice the interval, Optuna's default) is failed and
    retried (:data:`MAX_RETRY` times at most).
    """
    check_heartbeat(heartbeat_interval, grace_period)
    # Optuna >= 4.9 names the argument heartbeat_stale_trial_callback (failed_trial_callback is deprecated)
    parameters = inspect.signature(optuna.storages.RDBStorage).parameters
    callback_argument = (
        "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in parameters else "failed_trial_callback"
    )
    with warnings.catch_warnings():
        # heartbeats and the retry callback are marked experimental by Optuna; the choice is deliberate here
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            **{callback_argument: _retry_callback()},
        )


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail (and queue again) the trials of dead workers now, rather than when this worker starts a trial."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


@contextlib.contextmanager
def heartbeat_storage(heartbeat_interval: int = HEARTBEAT_INTERVAL, grace_period: int | None = None) -> Iterator[None]:
    """
    While active, ``optuna.create_study(storage=<database URL>, ...)`` (which rl_zoo3's ``-optimize`` calls)
    opens the URL with :func:`database_storage` and fails the trials of dead workers at once, before
    rl_zoo3 counts the study's trials for ``--max-total-trials``. ``heartbeat_interval=0`` changes nothing.
    """
    if heartbeat_interval <= 0:
        yield
        return
    check_heartbeat(heartbeat_interval, grace_period)
    original = optuna.create_study

    def create_study(*args: Any, storage: Any = None, **kwargs: Any) -> optuna.Study:
        if isinstance(storage, str) and is_database_url(storage):
            storage = database_storage(storage, heartbeat_interval, grace_period)
        study = original(*args, storage=storage, **kwargs)
        fail_stale_trials(study)
        return study

    optuna.create_study = create_study
    try:
        yield
    finally:
        optuna.create_study = original
