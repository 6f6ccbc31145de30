"""Distributed tuning on a real PostgreSQL server: ``sb3-maxent train -optimize --storage postgresql://...``.

The test starts its own server (``initdb`` and ``pg_ctl`` in a temporary folder, listening on a free
loopback port, as the ``postgres`` system user when the tests run as root, since PostgreSQL refuses to
run as root), creates one database per test with ``createdb``, and runs real worker processes on one
Optuna study, as on several machines. It is skipped only when PostgreSQL's server programs are missing
(Debian: ``apt-get install postgresql``, which ``.ci/run`` does).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import optuna
import pytest
from optuna.trial import TrialState

from sb3_maxent.zoo.storage import database_storage, heartbeat_storage

REPO = Path(__file__).resolve().parents[1]
SERVER_PROGRAMS = ("initdb", "pg_ctl", "createdb")
SUPERUSER = "optuna"  # the database superuser created by initdb (trust authentication, loopback only)

# One trial: 1024 GridWorld steps in one environment (a whole rollout when n_steps is larger), evaluated once
WORKER_ARGS = ["--algo", "maxent_ppo", "--env", "GridWorld-v0", "-optimize", "-n", "1024", "--n-evaluations", "1"]
WORKER_ARGS += ["--eval-episodes", "2", "--sampler", "random", "--pruner", "none", "--no-optim-plots"]
WORKER_ARGS += ["--num-threads", "1", "--hyperparams", "n_envs:1"]
# A trial's cost is set by its sampled n_steps, batch size and epochs (from 2 to 20,000 gradient steps). The
# random sampler draws from --seed, so these seeds fix each worker's trials: cheap ones (at most 320 gradient
# steps in the first four), and for the worker that is killed a longer first trial (2048 steps, 1280 gradient
# steps), so that it is killed inside it.
CHEAP_SEEDS = (2, 29)
SURVIVOR_SEED, KILLED_SEED = 15, 5
# Short heartbeats, so that a killed worker's trial is failed within seconds
GRACE_PERIOD = 5
HEARTBEAT = ["--heartbeat-interval", "1", "--grace-period", str(GRACE_PERIOD)]
FINISHED = re.compile(r"Trial (\d+) finished with value")


def _server_programs() -> Path | None:
    """The folder with initdb, pg_ctl and createdb: $PG_BIN, the PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    candidates = [os.environ.get("PG_BIN"), *(os.path.dirname(shutil.which(name) or "") for name in SERVER_PROGRAMS)]
    candidates += sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")), key=_version, reverse=True)
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).is_file() for name in SERVER_PROGRAMS):
            return Path(candidate)
    return None


def _version(bin_dir: str) -> float:
    with contextlib.suppress(ValueError):
        return float(Path(bin_dir).parent.name)
    return 0.0


def _server_user() -> str | None:
    """Who runs the server: ourselves, or when we are root (initdb refuses root) Debian's `postgres` user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    pytest.fail("running as root, and neither a `postgres` nor a `nobody` user exists to run the server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bin_dir: Path
    port: int

    def create_database(self, name: str) -> str:
        """``createdb name`` on the server; returns the database's SQLAlchemy URL."""
        command = [str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name]
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = _server_programs()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL's server programs (initdb, pg_ctl, createdb) were not found on the PATH, in $PG_BIN or "
            "under /usr/lib/postgresql/*/bin: apt-get install postgresql"
        )
    user = _server_user()
    base = Path(tempfile.mkdtemp(prefix="sb3-maxent-postgres-"))
    if user is not None:
        shutil.chown(base, user)
    data, log = base / "data", base / "server.log"
    port = _free_port()

    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, user=user, cwd=base, timeout=120)

    settings = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base} -c fsync=off"
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", settings, "-w", "start")
    except subprocess.CalledProcessError as error:
        server_log = log.read_text() if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {error}\n{error.stderr.decode()}\n{server_log}")
    try:
        yield PostgresServer(bin_dir, port)
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Worker:
    """One ``sb3-maxent train -optimize`` process; its output goes to a file (pipes could fill up)."""

    process: subprocess.Popen[str]
    output: IO[str]
    path: Path

    def log(self) -> str:
        return self.path.read_text()

    def finished_trials(self) -> list[int]:
        """Numbers of the trials this worker finished (Optuna logs each one on stderr)."""
        return [int(number) for number in FINISHED.findall(self.log())]

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.output.close()


def start_worker(name: str, url: str, study: str, folder: Path, seed: int, *extra: str) -> Worker:
    path = folder / f"{name}.txt"
    output = open(path, "w")  # noqa: SIM115 (closed by Worker.wait)
    command = [sys.executable, "-m", "sb3_maxent.train", *WORKER_ARGS, *HEARTBEAT, "-f", str(folder / name)]
    command += ["--seed", str(seed)]
    command += ["--storage", url, "--study-name", study, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    return Worker(process, output, path)


@contextlib.contextmanager
def workers_stopped(workers: list[Worker]) -> Iterator[None]:
    """Kill whatever is left running when the test fails."""
    try:
        yield
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
            worker.output.close()


def trials_by_state(study: optuna.Study) -> dict[TrialState, list[int]]:
    trials = study.get_trials(deepcopy=False)
    return {state: sorted(t.number for t in trials if t.state == state) for state in TrialState}


def wait_for(condition: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {condition}")
        time.sleep(0.1)


def test_two_workers_finish_the_study_together(postgres: PostgresServer, tmp_path: Path) -> None:
    """Two workers, 2 trials each (``--n-trials`` is per worker): 4 trials, each run by exactly one worker."""
    url = postgres.create_database("together")
    # Workers that start together on a new database collide while creating Optuna's tables: create the
    # study first, as the docs say (`optuna create-study` does the same from the shell)
    study = optuna.create_study(study_name="together", storage=url, direction="maximize")
    workers = [
        start_worker(f"worker{i}", url, "together", tmp_path, seed, "--n-trials", "2")
        for i, seed in enumerate(CHEAP_SEEDS)
    ]
    with workers_stopped(workers):
        for worker in workers:
            assert worker.wait() == 0, worker.log()

    states = trials_by_state(study)
    reported = [worker.finished_trials() for worker in workers]
    # no trial lost: the study holds exactly the 4 trials the workers report, all complete ...
    assert states[TrialState.COMPLETE] == [0, 1, 2, 3], states
    assert [len(numbers) for numbers in reported] == [2, 2], reported
    # ... and none duplicated: each trial was run by one worker only
    assert sorted(reported[0] + reported[1]) == [0, 1, 2, 3], reported
    assert all(trial.params for trial in study.trials)


def test_killed_worker_trial_is_retried(postgres: PostgresServer, tmp_path: Path) -> None:
    """
    Two workers on a study of 4 trials (``--max-total-trials``, shared by all workers); one is killed
    (SIGKILL) in the middle of its first trial. Its trial stops sending heartbeats, is failed after the
    grace period and queued again with the same hyperparameters; the other worker runs it. A worker
    started afterwards (as a job scheduler restarts a lost job) finishes whatever the survivor left, or
    runs nothing when the study is already complete.
    """
    url = postgres.create_database("killed")
    study = optuna.create_study(study_name="killed", storage=url, direction="maximize")
    n_trials = 4
    total = ["--max-total-trials", str(n_trials)]
    killed = start_worker("killed", url, "killed", tmp_path, KILLED_SEED, *total)
    survivor = start_worker("survivor", url, "killed", tmp_path, SURVIVOR_SEED, *total)
    workers = [killed, survivor]
    with workers_stopped(workers):

        def both_inside_a_trial() -> bool:
            """Two running trials, each with all its hyperparameters drawn (maxent_grad is the last): training."""
            running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            return len(running) == 2 and all("maxent_grad" in trial.params for trial in running)

        wait_for("both workers inside a trial", both_inside_a_trial, timeout=180)
        os.kill(killed.process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        assert killed.wait() == -signal.SIGKILL

        assert survivor.wait() == 0, survivor.log()
        # The survivor stops once the study counts 4 trials; the dead trial counts as running until someone
        # fails it, so the survivor may stop one short. A worker started after the grace period fails it at start.
        time.sleep(max(0.0, killed_at + GRACE_PERIOD + 1 - time.monotonic()))
        restarted = start_worker("restarted", url, "killed", tmp_path, SURVIVOR_SEED + 1, *total)
        workers.append(restarted)
        assert restarted.wait() == 0, restarted.log()

    states = trials_by_state(study)
    assert states[TrialState.RUNNING] == [], states
    assert states[TrialState.WAITING] == [], states
    # the killed worker's trial failed, and only that one
    assert len(states[TrialState.FAIL]) == 1, states
    dead = study.trials[states[TrialState.FAIL][0]]
    # it was run again, once, with the same hyperparameters, and finished
    retries = [trial for trial in study.trials if trial.system_attrs.get("failed_trial") == dead.number]
    assert len(retries) == 1, [trial.system_attrs for trial in study.trials]
    assert retries[0].state == TrialState.COMPLETE
    assert retries[0].params == dead.params
    # the study is complete: 4 finished trials, each run by exactly one worker
    assert len(states[TrialState.COMPLETE]) == n_trials, states
    reported = [worker.finished_trials() for worker in workers]
    finished = sorted(number for numbers in reported for number in numbers)
    assert finished == states[TrialState.COMPLETE], reported
    print(
        f"killed in trial {dead.number}, run again as trial {retries[0].number}; trials finished by the killed, "
        f"surviving and restarted workers: {reported}"
    )


def test_heartbeat_storage_opens_database_urls_with_heartbeats(tmp_path: Path) -> None:
    """What `sb3-maxent train` hands to rl_zoo3's `optuna.create_study`: database URLs get heartbeats."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with heartbeat_storage(heartbeat_interval=5, grace_period=12):
        study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    assert study._storage.get_heartbeat_interval() == 5
    # journal files and in-memory studies are left alone, and so is everything outside the block
    with heartbeat_storage(heartbeat_interval=5):
        assert optuna.create_study().trials == []
    plain = optuna.create_study(study_name="s", storage=url, load_if_exists=True)
    assert plain._storage.get_heartbeat_interval() is None
    with pytest.raises(ValueError, match="grace period"):
        database_storage(url, heartbeat_interval=5, grace_period=5)
