"""IMPALA CNN features extractor (Espeholt et al. 2018), the network of the maximum-entropy PPO paper (Fig. 1).

The network is the one of the Procgen benchmark: three stacks of
``conv 3x3 -> max-pool 3x3 / stride 2 -> 2 residual blocks`` (16, 32, 32 channels), then
``flatten -> ReLU -> Linear(256) -> ReLU``. A residual block is ``x + conv(relu(conv(relu(x))))``.

It is written for speed on CPU without changing the function it computes:

* activations are kept in the ``channels_last`` memory layout (NHWC strides behind NCHW shapes), the
  layout oneDNN's (MKL-DNN) convolutions, pooling and their backward passes are fastest in: on a
  two-core machine forward+backward of a 2048-image minibatch takes about 40% less time than with the
  contiguous NCHW tensors SB3's rollout buffer hands over;
* the input is converted to that layout and divided by 255 in one pass (``normalize_input=True``,
  which :class:`ImpalaCnnPolicy` sets, skipping SB3's own division);
* ReLUs and residual additions whose input the backward pass does not need are done in place: fewer
  large allocations (each one costs page faults on CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn
from torch.nn import functional as F

WEIGHT_INITS = (None, "glorot_uniform")

__all__ = ["ImpalaCnn", "ImpalaCnnPolicy", "ImpalaCnnQPolicy", "ImpalaResidualBlock", "ImpalaStack"]


class ImpalaResidualBlock(nn.Module):
    """
    Residual block of the IMPALA CNN: ``x + conv1(relu(conv0(relu(x))))``, 3x3 convolutions, same width.

    :param channels: Number of input (and output) channels
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: th.Tensor) -> th.Tensor:
        # relu(x) must be a new tensor: x itself is the skip connection.
        out = self.conv0(F.relu(x))
        # conv0's output is read only by this ReLU (a convolution's backward needs its input, not its
        # output), so the ReLU may overwrite it.
        out = self.conv1(F.relu(out, inplace=True))
        # Same argument for conv1's output and the addition (whose backward needs no operand).
        return out.add_(x)


class ImpalaStack(nn.Module):
    """
    One stack of the IMPALA CNN: ``conv 3x3 -> max-pool 3x3 stride 2 -> two residual blocks``.

    :param in_channels: Number of input channels
    :param out_channels: Number of output channels
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.res0 = ImpalaResidualBlock(out_channels)
        self.res1 = ImpalaResidualBlock(out_channels)

    def forward(self, x: th.Tensor) -> th.Tensor:
        x = self.conv(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        return self.res1(self.res0(x))


class ImpalaCnn(BaseFeaturesExtractor):
    """
    IMPALA CNN features extractor ("IMPALA: Scalable Distributed Deep-RL with Importance Weighted
    Actor-Learner Architectures", Espeholt et al. 2018, https://arxiv.org/abs/1802.01561), as used by the
    Procgen benchmark and the maximum-entropy PPO paper (Fig. 1).

    ``[conv 3x3 -> max-pool 3x3/2 -> 2 x residual block] x 3 -> flatten -> ReLU -> Linear -> ReLU``.
    With 64x64 images and channels (16, 32, 32) the flattened size is 32 * 8 * 8 = 2048.

    Images may be channel-first (what SB3's ``VecTransposeImage`` produces) or channel-last (HWC, read
    without a copy). All activations use the ``channels_last`` memory layout, which is faster on CPU;
    the values computed are those of the plain NCHW network.

    :param observation_space: The observation space (an image ``Box``, channel-first or channel-last)
    :param features_dim: Number of features extracted (units of the last linear layer)
    :param channels: Output channels of the three (or more) stacks
    :param normalized_image: Whether to assume that the image is already normalized (disables the
        dtype and bounds checks, as in SB3's ``NatureCNN``)
    :param normalize_input: Divide the input by 255 inside the network, in the same pass as the layout
        change. Leave False when SB3's preprocessing already divides (``normalize_images=True`` on a
        standard SB3 policy); :class:`ImpalaCnnPolicy` sets it and turns SB3's division off.
    :param weight_init: Initialisation of the convolutions and the linear layer. ``None`` (this class's
        default): left to the policy, i.e. SB3's orthogonal initialisation with gain sqrt(2) on every layer
        when the policy has ``ortho_init=True`` (SB3's on-policy default), PyTorch's defaults otherwise
        (SB3's DQN). ``"glorot_uniform"``: Glorot-uniform weights and zero biases, the TensorFlow defaults
        that openai/baselines' ``build_impala_cnn`` (the Procgen paper's network) keeps;
        :class:`ImpalaCnnPolicy` uses it unless told otherwise, and applies it again after SB3's orthogonal
        initialisation, so it holds with ``ortho_init=True`` (the heads keep theirs).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        features_dim: int = 256,
        channels: Sequence[int] = (16, 32, 32),
        normalized_image: bool = False,
        normalize_input: bool = False,
        weight_init: str | None = None,
    ) -> None:
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
            raise ValueError(
                f"ImpalaCnn needs an image observation space (a 3D Box), got {observation_space}; "
                "use MlpPolicy or MultiInputPolicy for other observations."
            )
        if not is_image_space(observation_space, check_channels=False, normalized_image=normalized_image):
            raise ValueError(
                f"ImpalaCnn expects uint8 images with values in [0, 255], got {observation_space}. "
                "If the images are already normalized (e.g. by VecNormalize), pass "
                "features_extractor_kwargs=dict(normalized_image=True) and normalize_images=False."
            )
        channels = tuple(int(c) for c in channels)
        if len(channels) == 0 or min(channels) <= 0:
            raise ValueError(f"channels must be a non-empty sequence of positive integers, got {channels}")
        if features_dim <= 0:
            raise ValueError(f"features_dim must be positive, got {features_dim}")
        if weight_init not in WEIGHT_INITS:
            raise ValueError(
                f"weight_init must be one of {WEIGHT_INITS}, got {weight_init!r}: None leaves the layers to the "
                "policy's initialisation (SB3's ortho_init), 'glorot_uniform' is openai/baselines' IMPALA CNN."
            )
        super().__init__(observation_space, features_dim)
        self.weight_init = weight_init

        self.channels_first = is_image_space_channels_first(observation_space)
        if self.channels_first:
            n_input_channels, height, width = observation_space.shape
        else:
            height, width, n_input_channels = observation_space.shape
        self.normalize_input = normalize_input

        stacks = []
        in_channels = n_input_channels
        for out_channels in channels:
            stacks.append(ImpalaStack(in_channels, out_channels))
            in_channels = out_channels
            # max-pool 3x3, stride 2, padding 1: ceil(size / 2)
            height, width = (height + 1) // 2, (width + 1) // 2
        self.stacks = nn.Sequential(*stacks)
        self.n_flatten = in_channels * height * width
        self.linear = nn.Linear(self.n_flatten, features_dim)
        self.init_weights()

    def init_weights(self) -> None:
        """Apply ``weight_init`` to every convolution and linear layer (nothing when it is ``None``)."""
        if self.weight_init is None:
            return
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _to_network_input(self, observations: th.Tensor) -> th.Tensor:
        """NCHW-shaped float tensor in the channels_last layout, divided by 255 if ``normalize_input``."""
        x = observations if self.channels_first else observations.permute(0, 3, 1, 2)
        if self.normalize_input:
            # Layout change, dtype conversion and division in one pass over the batch.
            out = th.empty(x.shape, dtype=th.float32, device=x.device, memory_format=th.channels_last)
            return th.div(x, 255.0, out=out)
        return x.float().contiguous(memory_format=th.channels_last)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        x = self.stacks(self._to_network_input(observations))
        # Flatten in (C, H, W) order, like the plain network (a copy when x is channels_last).
        x = F.relu(th.flatten(x, 1), inplace=True)
        return F.relu(self.linear(x), inplace=True)


def _fuse_image_normalization(
    observation_space: spaces.Space,
    normalize_images: bool,
    features_extractor_class: type[BaseFeaturesExtractor],
    features_extractor_kwargs: dict[str, Any] | None,
) -> tuple[bool, dict[str, Any]]:
    """
    Move SB3's division by 255 into an :class:`ImpalaCnn` extractor (same result, one pass less).

    :return: the ``normalize_images`` to give SB3's policy and the extractor's keyword arguments
    """
    extractor_kwargs = dict(features_extractor_kwargs or {})
    fuse = (
        normalize_images
        and issubclass(features_extractor_class, ImpalaCnn)
        and is_image_space(observation_space, check_channels=False)
        and "normalize_input" not in extractor_kwargs
    )
    if fuse:
        extractor_kwargs["normalize_input"] = True
    return normalize_images and not fuse, extractor_kwargs


class ImpalaCnnPolicy(ActorCriticPolicy):
    """
    Actor-critic policy on the IMPALA CNN (the maximum-entropy PPO paper's network, Fig. 1): shared
    :class:`ImpalaCnn` features, then a linear policy head and a linear value head (``net_arch=[]``).

    Same arguments as SB3's ``ActorCriticCnnPolicy``; only the defaults of ``features_extractor_class``
    (:class:`ImpalaCnn`) and ``net_arch`` (``[]``: no hidden layer after the 256 features) differ, and the
    IMPALA layers' initialisation: Glorot-uniform weights and zero biases, as the Procgen paper's network
    (openai/baselines' ``build_impala_cnn``), unless ``features_extractor_kwargs`` sets ``weight_init``
    (``None``: SB3's orthogonal initialisation with gain sqrt(2) on every layer, with which PPO trails the
    paper's FruitBot runs; see docs/benchmarks.md, "The IMPALA anchor"). The heads keep
    SB3's orthogonal gains 0.01 (policy) and 1 (value).
    With ``normalize_images=True`` and an :class:`ImpalaCnn` extractor, the division by 255 is done by the
    extractor (fused with its layout change) and SB3's preprocessing only casts to float: the result is
    the same, with one pass less over every minibatch. The constructor arguments are saved as given.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: The specification of the policy and value networks after the features
        (``[]`` by default: linear heads)
    :param activation_fn: Activation function of the ``net_arch`` layers
    :param ortho_init: Whether to use or not orthogonal initialization
    :param use_sde: Whether to use State Dependent Exploration or not
    :param log_std_init: Initial value for the log standard deviation
    :param full_std: Whether to use (n_features x n_actions) parameters for the std instead of only
        (n_features,) when using gSDE
    :param use_expln: Use ``expln()`` function instead of ``exp()`` to ensure a positive standard deviation
    :param squash_output: Whether to squash the output using a tanh function (gSDE only)
    :param features_extractor_class: Features extractor to use (:class:`ImpalaCnn` by default)
    :param features_extractor_kwargs: Keyword arguments to pass to the features extractor
    :param share_features_extractor: If True, the features extractor is shared between the policy and
        value networks (the paper's set-up)
    :param normalize_images: Whether to normalize images or not, dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use, ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments, excluding the learning rate, to pass to the optimizer
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = ImpalaCnn,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ):
        # Saved as given (see _get_constructor_parameters), whatever is passed on to SB3 below.
        self._init_normalize_images = normalize_images
        self._init_features_extractor_kwargs = dict(features_extractor_kwargs or {})
        features_extractor_kwargs = dict(features_extractor_kwargs or {})
        if issubclass(features_extractor_class, ImpalaCnn):
            # the Procgen paper's initialisation unless weight_init is given (None: SB3's orthogonal one)
            features_extractor_kwargs.setdefault("weight_init", "glorot_uniform")
        sb3_normalize_images, extractor_kwargs = _fuse_image_normalization(
            observation_space, normalize_images, features_extractor_class, features_extractor_kwargs
        )
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[] if net_arch is None else net_arch,
            activation_fn=activation_fn,
            ortho_init=ortho_init,
            use_sde=use_sde,
            log_std_init=log_std_init,
            full_std=full_std,
            use_expln=use_expln,
            squash_output=squash_output,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=extractor_kwargs,
            share_features_extractor=share_features_extractor,
            # With the fused path SB3's preprocessing must not divide a second time.
            normalize_images=sb3_normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)
        # SB3's ortho_init (in super()._build) has overwritten the extractors' layers: an ImpalaCnn with a
        # weight_init of its own gets it back (the heads keep SB3's gains 0.01 and 1).
        if self.ortho_init:
            extractors = {
                id(e): e for e in (self.features_extractor, self.pi_features_extractor, self.vf_features_extractor)
            }
            for extractor in extractors.values():
                if isinstance(extractor, ImpalaCnn):
                    extractor.init_weights()

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            normalize_images=self._init_normalize_images,
            features_extractor_kwargs=self._init_features_extractor_kwargs,
        )
        return data


class ImpalaCnnQPolicy(DQNPolicy):
    """
    Q-network policy on the IMPALA CNN, for DQN and SoftDQN: :class:`ImpalaCnn` features, then a linear
    Q-value head (``net_arch=[]``); the target network has its own copy.

    Same arguments as SB3's ``DQNPolicy``; only the defaults of ``features_extractor_class``
    (:class:`ImpalaCnn`) and ``net_arch`` (``[]``) differ. The division by 255 moves into the extractor as
    in :class:`ImpalaCnnPolicy`.

    :param observation_space: Observation space
    :param action_space: Action space
    :param lr_schedule: Learning rate schedule (could be constant)
    :param net_arch: Hidden layers between the features and the Q-values (``[]`` by default)
    :param activation_fn: Activation function of the ``net_arch`` layers
    :param features_extractor_class: Features extractor to use (:class:`ImpalaCnn` by default)
    :param features_extractor_kwargs: Keyword arguments to pass to the features extractor
    :param normalize_images: Whether to normalize images or not, dividing by 255.0 (True by default)
    :param optimizer_class: The optimizer to use, ``th.optim.Adam`` by default
    :param optimizer_kwargs: Additional keyword arguments, excluding the learning rate, to pass to the optimizer
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = ImpalaCnn,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._init_normalize_images = normalize_images
        self._init_features_extractor_kwargs = dict(features_extractor_kwargs or {})
        sb3_normalize_images, extractor_kwargs = _fuse_image_normalization(
            observation_space, normalize_images, features_extractor_class, features_extractor_kwargs
        )
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[] if net_arch is None else net_arch,
            activation_fn=activation_fn,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=extractor_kwargs,
            normalize_images=sb3_normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            normalize_images=self._init_normalize_images,
            features_extractor_kwargs=self._init_features_extractor_kwargs,
        )
        return data
