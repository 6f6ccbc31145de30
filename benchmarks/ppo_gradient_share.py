"""How much of PPO's clipped gradient is the value loss's: SB3's loss against ppo2's, at a FruitBot checkpoint.

The IMPALA anchor (docs/benchmarks.md) trails the Procgen paper's runs, and one known difference between
SB3's PPO and the paper's (openai/baselines ppo2, also CleanRL's ``ppo_procgen.py``) is the value term of the
loss: SB3 adds ``vf_coef * MSE(V, R)``, ppo2 adds ``vf_coef * 0.5 * mean(max((V - R)^2, (V_clip - R)^2))`` with
``V_clip = V_old + clip(V - V_old, -eps, eps)``: half the weight, and the larger of the clipped and unclipped
errors. With one network for the policy and the value (the IMPALA CNN) and the gradient's norm clipped at
``max_grad_norm`` = 0.5, the value term's size decides both how much of the shared layers' update serves the
value and how much the clipping shrinks the policy's step.

This script loads a ``fruitbot_paper.py`` checkpoint (model and ``VecNormalize`` statistics), collects one
rollout with its policy on its training levels (the run's environments x n_steps), and over the minibatches
of one epoch (the run's batch size) measures the gradient norms of the policy part (clipped surrogate plus
entropy bonus), of each value term, of each total, the factor ``min(1, max_grad_norm / |total|)`` the clipping
applies, and the cosine between the policy and value gradients. Nothing is trained.

.. code-block:: bash

    python benchmarks/ppo_gradient_share.py \\
        benchmarks/results/checkpoints/fruitbot_impala_glorot_anchor/ppo_0.01_200levels_seed0
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import harness
import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBufferSamples
from stable_baselines3.common.vec_env import VecNormalize

from sb3_maxent.envs.procgen import make_procgen_vec_env

OUT = harness.RESULTS_DIR / "ppo_gradient_share"
PARTS = ("policy", "value_sb3", "value_ppo2")


def ppo2_value_loss(values: th.Tensor, old_values: th.Tensor, returns: th.Tensor, clip: float) -> th.Tensor:
    """openai/baselines ppo2's value loss: 0.5 * mean(max((V - R)^2, (V_old + clip(V - V_old) - R)^2))."""
    clipped = old_values + th.clamp(values - old_values, -clip, clip)
    return 0.5 * th.max((values - returns) ** 2, (clipped - returns) ** 2).mean()


def minibatch_gradients(model: PPO, data: RolloutBufferSamples, clip_range: float) -> dict[str, th.Tensor]:
    """
    Flat gradients over the policy's parameters of the three parts of the loss on one minibatch: ``policy``
    (SB3's clipped surrogate with per-minibatch advantage normalisation, plus ``ent_coef`` times the entropy
    loss), ``value_sb3`` (``vf_coef * MSE``, as SB3's ``PPO.train``) and ``value_ppo2`` (``vf_coef`` times
    :func:`ppo2_value_loss`). SB3's total gradient is ``policy + value_sb3``.
    """
    policy = model.policy
    params = [param for param in policy.parameters() if param.requires_grad]
    values, log_prob, entropy = policy.evaluate_actions(data.observations, data.actions.long().flatten())
    values = values.flatten()
    advantages = data.advantages
    if model.normalize_advantage and len(advantages) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    ratio = th.exp(log_prob - data.old_log_prob)
    surrogate = -th.min(advantages * ratio, advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)).mean()
    assert entropy is not None
    losses = {
        "policy": surrogate - model.ent_coef * entropy.mean(),
        "value_sb3": model.vf_coef * F.mse_loss(data.returns, values),
        "value_ppo2": model.vf_coef * ppo2_value_loss(values, data.old_values, data.returns, clip_range),
    }
    gradients = {}
    for name, loss in losses.items():
        grads = th.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        gradients[name] = th.cat(
            [
                (grad if grad is not None else th.zeros_like(param)).flatten()
                for grad, param in zip(grads, params, strict=True)
            ]
        )
    return gradients


def share(gradients: dict[str, th.Tensor], max_grad_norm: float) -> dict[str, float]:
    """Norms, clipping factors and the policy-value cosine of one minibatch's gradients."""
    row = {f"norm_{name}": float(gradients[name].norm()) for name in PARTS}
    for loss in ("sb3", "ppo2"):
        value = gradients[f"value_{loss}"]
        total = float((gradients["policy"] + value).norm())
        row[f"norm_total_{loss}"] = total
        row[f"clip_factor_{loss}"] = min(1.0, max_grad_norm / total)
        row[f"cosine_{loss}"] = float(F.cosine_similarity(gradients["policy"], value, dim=0))
    return row


def collect(model: PPO) -> None:
    """One rollout of ``model`` from freshly reset environments into its rollout buffer, no update."""
    env = model.get_env()
    assert env is not None
    _, callback = model._setup_learn(model.n_steps * env.num_envs, reset_num_timesteps=True)
    callback.on_training_start(locals(), globals())
    model.collect_rollouts(env, callback, model.rollout_buffer, model.n_steps)


def measure(checkpoint: Path, seed: int) -> dict[str, Any]:
    """Load a ``fruitbot_paper.py`` checkpoint (a copy: the run may replace it meanwhile) and measure."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "checkpoint"
        shutil.copytree(checkpoint, copy)
        with open(copy / "state.pkl", "rb") as handle:
            state = pickle.load(handle)
        record = state["record"]
        monitor = make_procgen_vec_env(
            n_envs=64, num_levels=record["num_levels"], start_level=0, distribution_mode="easy", seed=seed
        )
        env = VecNormalize.load(str(copy / "vecnormalize.pkl"), monitor)
        env.training = False  # the statistics stay as saved
        model = PPO.load(copy / "model.zip", env=env, device="cpu", seed=seed)
    collect(model)
    clip_range = float(model.clip_range(1.0))  # type: ignore[operator]
    rows = [
        share(minibatch_gradients(model, data, clip_range), model.max_grad_norm)
        for data in model.rollout_buffer.get(model.batch_size)
    ]
    env.close()
    return {
        "checkpoint": checkpoint.as_posix(),
        "run": checkpoint.parent.parent.name,  # checkpoints/<results name>/<agent_levels_seed>/t<steps>
        "timesteps": int(state["num_timesteps"]),
        "agent": record["agent"],
        "network": record["network"],
        "seed": seed,
        "minibatches": len(rows),
        "mean": {key: float(np.mean([row[key] for row in rows])) for key in rows[0]},
        "max_grad_norm": model.max_grad_norm,
        "vf_coef": model.vf_coef,
    }


def render(data: dict[str, Any], command: str) -> str:
    lines = harness.command_block(command)
    lines += [
        "Gradient norms over the policy's parameters, mean over the minibatches of one epoch on one fresh rollout "
        "with the checkpoint's policy (nothing trained). *policy*: clipped surrogate + entropy bonus; *value*: "
        "SB3's `vf_coef * MSE` or ppo2's `vf_coef * 0.5 * max(clipped, unclipped)`; *clip factor*: "
        "`min(1, max_grad_norm / |total|)`, the scale the clipping gives the whole step; *cos*: cosine between "
        "the policy and value gradients.",
        "",
    ]
    rows = []
    for run in data["runs"]:
        mean = run["mean"]
        rows.append(
            [
                run["run"],
                run["network"].get("weight_init") or "SB3 orthogonal",
                f"{run['timesteps']:,d}",
                f"{mean['norm_policy']:.3f}",
                f"{mean['norm_value_sb3']:.3f}",
                f"{mean['norm_total_sb3']:.3f}",
                f"{mean['clip_factor_sb3']:.2f}",
                f"{mean['cosine_sb3']:+.2f}",
                f"{mean['norm_value_ppo2']:.3f}",
                f"{mean['norm_total_ppo2']:.3f}",
                f"{mean['clip_factor_ppo2']:.2f}",
            ]
        )
    lines += harness.md_table(
        [
            "run",
            "initialisation",
            "steps",
            "policy",
            "value (SB3)",
            "total (SB3)",
            "clip factor (SB3)",
            "cos (SB3)",
            "value (ppo2)",
            "total (ppo2)",
            "clip factor (ppo2)",
        ],
        rows,
        "llrrrrrrrrr",
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "run", type=Path, help="a fruitbot_paper.py run's checkpoint folder (its LATEST is read) or one t* folder"
    )
    parser.add_argument("--seed", type=int, default=123, help="seed of the rollout's levels and actions")
    args = parser.parse_args()
    th.set_num_threads(1)
    checkpoint = args.run
    if (checkpoint / "LATEST").exists():
        checkpoint = checkpoint / (checkpoint / "LATEST").read_text().strip()
    if not (checkpoint / "state.pkl").exists():
        raise SystemExit(f"{checkpoint}: no fruitbot_paper.py checkpoint (state.pkl, model.zip, vecnormalize.pkl)")
    result = measure(checkpoint, args.seed)
    data = harness.read_json(OUT.with_suffix(".json"), default={"runs": []})
    data["runs"] = [
        run
        for run in data["runs"]
        if (run["checkpoint"], run["timesteps"]) != (result["checkpoint"], result["timesteps"])
    ]
    data["runs"].append(result)
    harness.write_json(OUT.with_suffix(".json"), data)
    harness.write_text(OUT.with_suffix(".md"), render(data, harness.command_line()))
    print(render({"runs": [result]}, harness.command_line()))


if __name__ == "__main__":
    main()
