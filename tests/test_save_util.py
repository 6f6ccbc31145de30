"""sb3_maxent.common.save_util: which algorithm saved a file, and loads that refuse another algorithm's file."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sb3_contrib import ARS, QRDQN, TQC, TRPO, CrossQ, MaskablePPO, RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from sb3_maxent import DiscreteSAC, MaxEntA2C, MaxEntMaskablePPO, MaxEntPPO, MaxEntTRPO, SoftDQN
from sb3_maxent.common.save_util import check_saved_algorithm, identify_saved_algorithm

# algorithm -> (policy, env id): every algorithm of FINGERPRINTS, saved untrained with a tiny network
ALGORITHMS: dict[type[BaseAlgorithm], tuple[str, str]] = {
    SoftDQN: ("MlpPolicy", "CartPole-v1"),
    DiscreteSAC: ("MlpPolicy", "CartPole-v1"),
    MaxEntPPO: ("MlpPolicy", "CartPole-v1"),
    MaxEntA2C: ("MlpPolicy", "CartPole-v1"),
    MaxEntMaskablePPO: ("MlpPolicy", "CartPole-v1"),
    MaxEntTRPO: ("MlpPolicy", "CartPole-v1"),
    DQN: ("MlpPolicy", "CartPole-v1"),
    QRDQN: ("MlpPolicy", "CartPole-v1"),
    PPO: ("MlpPolicy", "CartPole-v1"),
    A2C: ("MlpPolicy", "CartPole-v1"),
    MaskablePPO: ("MlpPolicy", "CartPole-v1"),
    RecurrentPPO: ("MlpLstmPolicy", "CartPole-v1"),
    TRPO: ("MlpPolicy", "CartPole-v1"),
    ARS: ("LinearPolicy", "CartPole-v1"),
    SAC: ("MlpPolicy", "Pendulum-v1"),
    TD3: ("MlpPolicy", "Pendulum-v1"),
    TQC: ("MlpPolicy", "Pendulum-v1"),
    CrossQ: ("MlpPolicy", "Pendulum-v1"),
}


def save(algorithm: type[BaseAlgorithm], directory: Path) -> Path:
    policy, env_id = ALGORITHMS[algorithm]
    kwargs: dict[str, Any] = {"buffer_size": 100} if issubclass(algorithm, OffPolicyAlgorithm) else {}
    path = directory / f"{algorithm.__name__}.zip"
    algorithm(policy, env_id, **kwargs).save(path)
    return path


def saved_data(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("data"))


@pytest.mark.parametrize("algorithm", list(ALGORITHMS), ids=lambda algo: algo.__name__)
def test_identify_saved_algorithm(algorithm: type[BaseAlgorithm], tmp_path: Path) -> None:
    fingerprint = identify_saved_algorithm(saved_data(save(algorithm, tmp_path)))
    assert fingerprint is not None
    assert fingerprint.name == algorithm.__name__
    assert fingerprint.package == algorithm.__module__.split(".")[0]


def test_discrete_sac_and_sac_refuse_each_other(tmp_path: Path) -> None:
    """Same saved keys (ent_coef, target_entropy): the policy's module tells DiscreteSAC from SAC."""
    with pytest.raises(ValueError, match=r"saved by SAC, not by DiscreteSAC.*Load it with SAC.load\(\)"):
        DiscreteSAC.load(save(SAC, tmp_path))
    with pytest.raises(ValueError, match="saved by DiscreteSAC, not by SoftDQN"):
        SoftDQN.load(save(DiscreteSAC, tmp_path))
    assert isinstance(DiscreteSAC.load(save(DiscreteSAC, tmp_path)), DiscreteSAC)


def test_maxent_ppo_refuses_ppo_files(tmp_path: Path) -> None:
    """The issue's MaxEntPPO.load("ppo.zip"), which without the check gives a MaxEntPPO with its default beta."""
    ppo_file = save(PPO, tmp_path)
    message = (
        r"PPO.zip was saved by PPO, not by MaxEntPPO: it lacks MaxEntPPO's maxent_coef.*"
        r"Load it with PPO.load\(\) \(from stable_baselines3 import PPO\)"
    )
    with pytest.raises(ValueError, match=message):
        check_saved_algorithm(ppo_file, MaxEntPPO)
    with pytest.raises(ValueError, match="saved by PPO, not by MaxEntPPO"):
        MaxEntPPO.load(ppo_file)
    with pytest.raises(ValueError, match="saved by SoftDQN, not by MaxEntPPO"):
        MaxEntPPO.load(save(SoftDQN, tmp_path))
    maxent_file = tmp_path / "maxent.zip"
    MaxEntPPO("MlpPolicy", "CartPole-v1", maxent_coef=0.2).save(maxent_file)
    check_saved_algorithm(maxent_file, MaxEntPPO)  # its own files pass
    assert MaxEntPPO.load(maxent_file).maxent_coef(1.0) == pytest.approx(0.2)  # type: ignore[operator]


def test_unrecognised_or_unreadable_files_are_left_to_sb3(tmp_path: Path) -> None:
    not_a_zip = tmp_path / "model.zip"
    not_a_zip.write_text("not a zip archive")
    check_saved_algorithm(not_a_zip, SoftDQN)
    check_saved_algorithm(tmp_path / "missing.zip", SoftDQN)
    with pytest.raises(ValueError, match=r"Error: the file .* wasn.t a zip-file"):
        SoftDQN.load(not_a_zip)  # SB3's own error
    unknown = tmp_path / "unknown.zip"
    with zipfile.ZipFile(unknown, "w") as archive:
        archive.writestr("data", json.dumps({"gamma": 0.99}))
    check_saved_algorithm(unknown, SoftDQN)


def test_file_object_is_rewound(tmp_path: Path) -> None:
    buffer = io.BytesIO(save(SoftDQN, tmp_path).read_bytes())
    buffer.seek(0)
    check_saved_algorithm(buffer, SoftDQN)
    assert buffer.tell() == 0
    assert isinstance(SoftDQN.load(buffer), SoftDQN)


def test_maxent_ppo_starts_from_ppo_weights_as_documented(tmp_path: Path) -> None:
    """The docstring's way to start a MaxEntPPO from a PPO file: same policy class, so the weights carry over."""
    ppo = PPO("MlpPolicy", "CartPole-v1", seed=0)
    ppo.save(tmp_path / "ppo.zip")
    model = MaxEntPPO("MlpPolicy", "CartPole-v1", seed=1)
    model.set_parameters(PPO.load(tmp_path / "ppo.zip").get_parameters())
    obs = ppo.observation_space.sample()[None]
    assert (model.predict(obs, deterministic=True)[0] == ppo.predict(obs, deterministic=True)[0]).all()
    for name, tensor in ppo.policy.state_dict().items():
        assert (model.policy.state_dict()[name] == tensor).all(), name
