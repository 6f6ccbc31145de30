"""
PPO's update with the maximum-entropy minibatch terms: the one copy of a parent's ``train`` that MaxEntPPO and
MaxEntMaskablePPO share (their parents' ``train`` bodies differ only in how the policy evaluates a minibatch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from sb3_maxent.common.on_policy import MaxEntOnPolicyMixin


class MaxEntClippedSurrogateMixin(MaxEntOnPolicyMixin):
    """``train`` of PPO-style algorithms (clipped surrogate, minibatches, epochs) with the maximum-entropy terms."""

    # declared as the parents do not agree on them (a float before _setup_model, then a schedule; MaskablePPO's
    # batch_size may be None until set up)
    clip_range: Any
    clip_range_vf: Any
    n_epochs: int
    batch_size: Any
    normalize_advantage: bool
    target_kl: float | None

    def _evaluate_minibatch(
        self, rollout_data: Any, actions: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """Values, log pi_theta(a_t|s_t) and entropies (None without a closed form) of a minibatch."""
        return self.policy.evaluate_actions(rollout_data.observations, actions)

    def train(self) -> None:
        """
        Update policy using the currently gathered rollout buffer.

        COPY of ``stable_baselines3.PPO.train`` (SB3 2.9.2; sb3-contrib 2.9.2's ``MaskablePPO.train`` differs only in
        ``evaluate_actions``' action masks). Changes, marked ``# MaxEnt``: the minibatch evaluation goes through
        :meth:`_evaluate_minibatch`, advantages and returns through :meth:`_maxent_advantages`, the entropy
        coefficient through :meth:`_soft_return_entropy_coef`, and the logs add the maximum-entropy keys.
        """
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizer learning rate
        self._update_learning_rate(self.policy.optimizer)
        # Compute current clip range
        clip_range = self.clip_range(self._current_progress_remaining)
        # Optional: clip range for the value function
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)
        beta = self._current_maxent_coef()  # MaxEnt
        entropy_coef = self._soft_return_entropy_coef(beta)  # MaxEnt

        entropy_losses = []
        pg_losses, value_losses = [], []
        clip_fractions = []

        continue_training = True
        # train for n_epochs epochs
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            # Do a complete pass on the rollout buffer
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    # Convert discrete action from float to long
                    actions = rollout_data.actions.long().flatten()

                values, log_prob, entropy = self._evaluate_minibatch(rollout_data, actions)  # MaxEnt
                values = values.flatten()
                # Normalize advantage
                advantages = rollout_data.advantages
                # Normalization does not make sense if mini batchsize == 1, see GH issue #325
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                # MaxEnt: H_t under the current parameters (single-sample estimate without a closed form), and
                # one_step's A_t + beta * H_t, R_t + beta * H_t
                entropy_t = -log_prob if entropy is None else entropy
                advantages, returns = self._maxent_advantages(advantages, rollout_data.returns, entropy_t, beta)

                # ratio between old and new policy, should be one at the first iteration
                ratio = th.exp(log_prob - rollout_data.old_log_prob)

                # clipped surrogate loss
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()

                # Logging
                pg_losses.append(policy_loss.item())
                clip_fraction = th.mean((th.abs(ratio - 1) > clip_range).float()).item()
                clip_fractions.append(clip_fraction)

                if self.clip_range_vf is None:
                    # No clipping
                    values_pred = values
                else:
                    # Clip the difference between old and new value
                    # NOTE: this depends on the reward scaling
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                # Value loss using the TD(gae_lambda) target
                value_loss = F.mse_loss(returns, values_pred)  # MaxEnt: returns from _maxent_advantages
                value_losses.append(value_loss.item())

                # Entropy loss favor exploration
                entropy_loss = -th.mean(entropy_t)
                entropy_losses.append(entropy_loss.item())

                loss = policy_loss + entropy_coef * entropy_loss + self.vf_coef * value_loss  # MaxEnt: entropy_coef

                # Calculate approximate form of reverse KL Divergence for early stopping
                # see issue #417: https://github.com/DLR-RM/stable-baselines3/issues/417
                # and discussion in PR #419: https://github.com/DLR-RM/stable-baselines3/pull/419
                # and Schulman blog: http://joschu.net/blog/kl-approx.html
                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    approx_kl_divs.append(approx_kl_div)

                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div:.2f}")
                    break

                # Optimization step
                self.policy.optimizer.zero_grad()
                loss.backward()
                # Clip grad norm
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())

        # Logs
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if self.clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)
        # MaxEnt: mean H(pi_theta) over the minibatches, beta and the mean bonus
        mean_entropy = -float(np.mean(entropy_losses))
        self.logger.record("train/entropy", mean_entropy)
        self._record_maxent(beta, mean_entropy)
