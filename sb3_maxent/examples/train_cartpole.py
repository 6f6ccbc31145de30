"""Train MaxEntPPO on CartPole-v1 through the Python API and print a deterministic evaluation.

``python -m sb3_maxent.examples.train_cartpole``; the README's ``make train`` is the rl-zoo counterpart
(``sb3-maxent train`` on GridWorld-v0).
"""

from __future__ import annotations

import argparse

from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_maxent import MaxEntPPO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--maxent-mode", choices=["one_step", "soft_return"], default="one_step")
    parser.add_argument("--maxent-coef", type=float, default=None, help="beta (default: MaxEntPPO's)")
    args = parser.parse_args()

    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    extra = {} if args.maxent_coef is None else {"maxent_coef": args.maxent_coef}
    # rl-zoo's tuned PPO CartPole-v1 settings (rl-baselines3-zoo hyperparams/ppo.yml)
    model = MaxEntPPO(
        "MlpPolicy",
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        learning_rate=1e-3,
        clip_range=0.2,
        maxent_mode=args.maxent_mode,
        seed=args.seed,
        verbose=1,
        **extra,
    )
    model.learn(args.timesteps)
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=args.seed + 1000)
    mean, std = evaluate_policy(model, eval_env, n_eval_episodes=20, deterministic=True)
    print(f"MaxEntPPO ({args.maxent_mode}) on CartPole-v1 after {args.timesteps} steps: {mean:.1f} +/- {std:.1f}")


if __name__ == "__main__":
    main()
