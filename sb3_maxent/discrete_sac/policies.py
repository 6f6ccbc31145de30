"""
Policies for DiscreteSAC: a categorical actor, twin critics with one output per action, and their target copies.

SB3's ``SACPolicy`` is built for Box actions (a squashed Gaussian actor, critics that take the action as input);
for a Discrete action space the actor outputs logits and each critic outputs Q(s, .) for all actions at once, so
that the expectations over actions are exact sums (Christodoulou 2019). The structure, names and constructor
arguments otherwise follow ``SACPolicy`` (``policy.actor``, ``policy.critic``, ``policy.critic_target``,
``n_critics``, ``share_features_extractor``, ``net_arch`` as a list or ``dict(pi=..., qf=...)``).

Shared features extractor (``share_features_extractor=True``): the critics train it and the actor reads its
features detached, as in SAC-AE and DrQ (Yarats et al.), unless ``actor_trains_features_extractor=True``. The
critic's TD loss is the denser signal for an image encoder, and an actor loss flowing into the encoder that
the critics rely on would move their inputs under them. SB3's ``SACPolicy`` does the opposite (the actor trains
a shared extractor, the critics read it detached); this policy does not copy that choice.
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel, BasePolicy
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    NatureCNN,
    create_mlp,
    get_actor_critic_arch,
)
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn
from torch.distributions import Categorical

from sb3_maxent.common.torch_layers import ImpalaCnn

__all__ = [
    "CategoricalActor",
    "CnnPolicy",
    "DiscreteCritic",
    "DiscreteSACPolicy",
    "ImpalaCnnPolicy",
    "MlpPolicy",
    "MultiInputPolicy",
]


class CategoricalActor(BasePolicy):
    """
    Categorical actor: features -> MLP -> one logit per action; pi(.|s) = softmax(logits).

    :param observation_space: Observation space
    :param action_space: Action space (Discrete)
    :param net_arch: Hidden layers of the MLP after the features extractor
    :param features_extractor: Network to extract features
    :param features_dim: Number of features
    :param activation_fn: Activation function
    :param normalize_images: Whether to normalize images or not, dividing by 255.0 (True by default)
    :param detach_features: compute the features without gradient (a features extractor that the critics train)
    """

    action_space: spaces.Discrete

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        detach_features: bool = False,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = net_arch
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        self.detach_features = detach_features
        self.logits_net = nn.Sequential(*create_mlp(features_dim, int(action_space.n), net_arch, activation_fn))

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            dict(
                net_arch=self.net_arch,
                features_dim=self.features_dim,
                activation_fn=self.activation_fn,
                features_extractor=self.features_extractor,
                detach_features=self.detach_features,
            )
        )
        return data

    def log_probs(self, obs: PyTorchObs) -> th.Tensor:
        """log pi(.|s) of a batch of observations, shape (batch, n_actions), by ``log_softmax`` (never log 0)."""
        with th.set_grad_enabled(th.is_grad_enabled() and not self.detach_features):
            features = self.extract_features(obs, self.features_extractor)
        return th.log_softmax(self.logits_net(features), dim=1)

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        """The most probable action (``deterministic=True``) or a sample of pi(.|s), shape (batch,)."""
        log_pi = self.log_probs(observation)
        if deterministic:
            return log_pi.argmax(dim=1)
        return Categorical(logits=log_pi).sample()


class DiscreteCritic(BaseModel):
    """
    ``n_critics`` Q-networks that each output Q(s, .) for every action (one features extractor for all of them,
    as SB3's ``ContinuousCritic``).

    :param observation_space: Observation space
    :param action_space: Action space (Discrete)
    :param net_arch: Hidden layers of each Q-network
    :param features_extractor: Network to extract features
    :param features_dim: Number of features
    :param activation_fn: Activation function
    :param normalize_images: Whether to normalize images or not, dividing by 255.0 (True by default)
    :param n_critics: Number of Q-networks
    """

    action_space: spaces.Discrete

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        n_critics: int = 2,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.n_critics = n_critics
        n_actions = int(action_space.n)
        self.q_networks = nn.ModuleList(
            nn.Sequential(*create_mlp(features_dim, n_actions, net_arch, activation_fn)) for _ in range(n_critics)
        )

    def forward(self, obs: PyTorchObs) -> tuple[th.Tensor, ...]:
        """Q_i(s, .) of each critic, each of shape (batch, n_actions)."""
        assert self.features_extractor is not None
        features = self.extract_features(obs, self.features_extractor)
        return tuple(q_net(features) for q_net in self.q_networks)


class DiscreteSACPolicy(BasePolicy):
    """
    Policy class (actor, critics and target critics) for DiscreteSAC.

    :param observation_space: Observation space
    :param action_space: Action space (Discrete)
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Hidden layers of the actor and of each critic: a list for both, or ``dict(pi=[...], qf=[...])``;
        None: [256, 256] (SB3's SAC) for the MLP policies, [] for the image policies (CleanRL's sac_atari: linear
        heads on the CNN features)
    :param activation_fn: Activation function
    :param features_extractor_class: Features extractor to use
    :param features_extractor_kwargs: Keyword arguments to pass to the features extractor
    :param normalize_images: Whether to normalize images or not, dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use, ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments, excluding the learning rate, to pass to the optimizer
    :param n_critics: Number of critic networks (2: the clipped double-Q of SAC)
    :param share_features_extractor: one features extractor for the actor and the critics (the target critics
        keep their own copy); it is trained by the critics' loss only, unless ``actor_trains_features_extractor``
    :param actor_trains_features_extractor: with a shared features extractor, let the actor's loss train it too
        (it is then stepped on the sum of the critics' and the actor's gradients)
    """

    actor: CategoricalActor
    critic: DiscreteCritic
    critic_target: DiscreteCritic
    action_space: spaces.Discrete

    #: Default ``net_arch`` (None: SB3's SAC default)
    default_net_arch: list[int] | None = None

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 2,
        share_features_extractor: bool = False,
        actor_trains_features_extractor: bool = False,
    ) -> None:
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"DiscreteSACPolicy needs a Discrete action space, got {action_space}")
        if isinstance(n_critics, bool) or not isinstance(n_critics, int) or n_critics < 1:
            raise ValueError(f"n_critics must be an int >= 1, got {n_critics!r}")
        if actor_trains_features_extractor and not share_features_extractor:
            raise ValueError(
                "actor_trains_features_extractor=True needs share_features_extractor=True (without sharing, the "
                "actor always trains its own features extractor)"
            )
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=normalize_images,
        )
        if net_arch is None:
            net_arch = [256, 256] if self.default_net_arch is None else list(self.default_net_arch)
        actor_arch, critic_arch = get_actor_critic_arch(net_arch)
        self.net_arch = net_arch
        self.activation_fn = activation_fn
        self.net_args = {
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "activation_fn": self.activation_fn,
            "normalize_images": normalize_images,
        }
        self.actor_kwargs = {**self.net_args, "net_arch": actor_arch}
        self.critic_kwargs = {**self.net_args, "net_arch": critic_arch, "n_critics": n_critics}
        self.n_critics = n_critics
        self.share_features_extractor = share_features_extractor
        self.actor_trains_features_extractor = actor_trains_features_extractor
        self._build(lr_schedule)

    def _build(self, lr_schedule: Schedule) -> None:
        features_extractor = self.make_features_extractor()
        self.actor = CategoricalActor(
            features_extractor=features_extractor,
            features_dim=features_extractor.features_dim,
            detach_features=self.share_features_extractor and not self.actor_trains_features_extractor,
            **self.actor_kwargs,  # type: ignore[arg-type]
        )
        self.critic = self.make_critic(features_extractor if self.share_features_extractor else None)
        # A shared features extractor belongs to the critics' optimizer only: with actor_trains_features_extractor
        # it receives the sum of both losses' gradients and is stepped once (DiscreteSAC.train)
        if self.share_features_extractor:
            actor_parameters = [p for name, p in self.actor.named_parameters() if "features_extractor" not in name]
        else:
            actor_parameters = list(self.actor.parameters())
        self.actor.optimizer = self.optimizer_class(
            actor_parameters,
            lr=lr_schedule(1),  # type: ignore[call-arg]
            **self.optimizer_kwargs,
        )
        # The critics own (and train) the features extractor, shared or not
        self.critic.optimizer = self.optimizer_class(
            self.critic.parameters(),
            lr=lr_schedule(1),  # type: ignore[call-arg]
            **self.optimizer_kwargs,
        )
        # Target critics: their own features extractor, a copy of the critics' one, updated by Polyak averaging
        self.critic_target = self.make_critic(features_extractor=None)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.set_training_mode(False)

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> DiscreteCritic:
        if features_extractor is None:
            features_extractor = self.make_features_extractor()
        return DiscreteCritic(
            features_extractor=features_extractor,
            features_dim=features_extractor.features_dim,
            **self.critic_kwargs,  # type: ignore[arg-type]
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            dict(
                net_arch=self.net_arch,
                activation_fn=self.activation_fn,
                n_critics=self.n_critics,
                lr_schedule=self._dummy_schedule,  # dummy lr schedule, not needed for loading policy alone
                optimizer_class=self.optimizer_class,
                optimizer_kwargs=self.optimizer_kwargs,
                features_extractor_class=self.features_extractor_class,
                features_extractor_kwargs=self.features_extractor_kwargs,
                share_features_extractor=self.share_features_extractor,
                actor_trains_features_extractor=self.actor_trains_features_extractor,
            )
        )
        return data

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self.actor(observation, deterministic)

    def set_training_mode(self, mode: bool) -> None:
        """Put the actor and the critics (not the target critics) in training or evaluation mode."""
        self.actor.set_training_mode(mode)
        self.critic.set_training_mode(mode)
        self.training = mode


MlpPolicy = DiscreteSACPolicy


class CnnPolicy(DiscreteSACPolicy):
    """:class:`DiscreteSACPolicy` on SB3's NatureCNN features; ``net_arch`` defaults to [] (CleanRL's sac_atari)."""

    default_net_arch = []

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 2,
        share_features_extractor: bool = False,
        actor_trains_features_extractor: bool = False,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch,
            activation_fn,
            features_extractor_class,
            features_extractor_kwargs,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
            n_critics,
            share_features_extractor,
            actor_trains_features_extractor,
        )


class ImpalaCnnPolicy(CnnPolicy):
    """
    :class:`DiscreteSACPolicy` on the IMPALA CNN (:class:`sb3_maxent.common.torch_layers.ImpalaCnn`) features, with
    linear heads by default. Images are divided by 255 by SB3 before the extractor (the fused division of the
    PPO/DQN IMPALA policies is not applied here).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = ImpalaCnn,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 2,
        share_features_extractor: bool = False,
        actor_trains_features_extractor: bool = False,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch,
            activation_fn,
            features_extractor_class,
            features_extractor_kwargs,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
            n_critics,
            share_features_extractor,
            actor_trains_features_extractor,
        )


class MultiInputPolicy(DiscreteSACPolicy):
    """:class:`DiscreteSACPolicy` for Dict observation spaces (SB3's ``CombinedExtractor``)."""

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 2,
        share_features_extractor: bool = False,
        actor_trains_features_extractor: bool = False,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch,
            activation_fn,
            features_extractor_class,
            features_extractor_kwargs,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
            n_critics,
            share_features_extractor,
            actor_trains_features_extractor,
        )
