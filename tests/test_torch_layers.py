"""IMPALA CNN: architecture (parameter count by hand), equivalence with the plain network, policy, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.envs import FakeImageEnv
from stable_baselines3.common.vec_env import DummyVecEnv, VecTransposeImage
from torch import nn
from torch.nn import functional as F

from sb3_maxent import MaxEntPPO
from sb3_maxent.common.torch_layers import ImpalaCnn, ImpalaCnnPolicy, ImpalaCnnQPolicy
from sb3_maxent.soft_dqn import SoftDQN

CHW = spaces.Box(0, 255, (3, 64, 64), np.uint8)
HWC = spaces.Box(0, 255, (64, 64, 3), np.uint8)


def expected_parameter_count(in_channels: int, channels: tuple[int, ...], size: int, features_dim: int) -> int:
    """Count by hand: every 3x3 convolution has 9 * c_in * c_out weights and c_out biases."""

    def conv(c_in: int, c_out: int) -> int:
        return 9 * c_in * c_out + c_out

    total = 0
    for c_out in channels:
        total += conv(in_channels, c_out) + 4 * conv(c_out, c_out)  # stack conv + 2 blocks x 2 convs
        in_channels = c_out
        size = (size + 1) // 2  # max-pool 3x3, stride 2, padding 1
    flat = in_channels * size * size
    return total + flat * features_dim + features_dim


class PlainImpala(nn.Module):
    """Independent reference: the IMPALA CNN written directly from the paper, NCHW, nothing in place."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 32)) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.blocks = nn.ModuleList()
        c_in = 3
        for c in channels:
            self.convs.append(nn.Conv2d(c_in, c, 3, padding=1))
            self.blocks.append(nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(4)))
            c_in = c
        self.fc = nn.Linear(c_in * 8 * 8, 256)

    def forward(self, x: th.Tensor) -> th.Tensor:
        for conv, (a0, a1, b0, b1) in zip(self.convs, self.blocks, strict=True):
            x = F.max_pool2d(conv(x), 3, 2, 1)
            x = x + a1(F.relu(a0(F.relu(x))))
            x = x + b1(F.relu(b0(F.relu(x))))
        return F.relu(self.fc(F.relu(x.flatten(1))))

    def load_from(self, impala: ImpalaCnn) -> None:
        for conv, blocks, stack in zip(self.convs, self.blocks, impala.stacks, strict=True):
            sources = [stack.res0.conv0, stack.res0.conv1, stack.res1.conv0, stack.res1.conv1]
            for dst, src in [(conv, stack.conv), *zip(blocks, sources, strict=True)]:
                dst.load_state_dict(src.state_dict())
        self.fc.load_state_dict(impala.linear.state_dict())


def test_parameter_count_and_shape() -> None:
    extractor = ImpalaCnn(CHW)
    n_params = sum(p.numel() for p in extractor.parameters())
    assert n_params == expected_parameter_count(3, (16, 32, 32), 64, 256) == 622_144
    assert extractor.n_flatten == 32 * 8 * 8
    out = extractor(th.rand(5, 3, 64, 64))
    assert out.shape == (5, 256)
    assert (out >= 0).all()

    small = ImpalaCnn(spaces.Box(0, 255, (4, 40, 40), np.uint8), features_dim=64, channels=(8, 16))
    assert sum(p.numel() for p in small.parameters()) == expected_parameter_count(4, (8, 16), 40, 64)
    assert small(th.rand(2, 4, 40, 40)).shape == (2, 64)


def test_same_function_as_plain_network() -> None:
    th.manual_seed(0)
    impala = ImpalaCnn(CHW, normalize_input=True)
    plain = PlainImpala()
    plain.load_from(impala)
    images = th.randint(0, 256, (6, 3, 64, 64), dtype=th.uint8)

    # SB3's preprocessing (float / 255) + plain network vs the fused path on raw uint8 and on float input
    expected = plain(images.float() / 255.0)
    th.testing.assert_close(impala(images), expected, rtol=1e-5, atol=1e-6)
    th.testing.assert_close(impala(images.float()), expected, rtol=1e-5, atol=1e-6)

    # gradients agree too (in-place ReLU / addition change nothing). The reference runs in float64: the
    # float32 plain network's first-layer gradient is itself off by up to 2.7e-4 of its norm here (CPU
    # convolution backward in NCHW), while the channels_last extractor's is within 1e-6.
    plain64 = PlainImpala()
    plain64.load_from(impala)
    plain64.double()
    impala(images.float()).square().sum().backward()
    plain64(images.double() / 255.0).square().sum().backward()
    for ours, reference in (
        (impala.stacks[0].conv.weight.grad, plain64.convs[0].weight.grad),
        (impala.linear.weight.grad, plain64.fc.weight.grad),
    ):
        assert ours is not None
        assert reference is not None
        th.testing.assert_close(ours.double(), reference, rtol=1e-4, atol=1e-5)

    # without normalize_input the extractor expects SB3's already divided input
    unnormalized = ImpalaCnn(CHW)
    unnormalized.load_state_dict(impala.state_dict())
    th.testing.assert_close(unnormalized(images.float() / 255.0), expected, rtol=1e-5, atol=1e-6)


def test_channel_last_input() -> None:
    channel_first = ImpalaCnn(CHW, normalize_input=True)
    channel_last = ImpalaCnn(HWC, normalize_input=True)
    channel_last.load_state_dict(channel_first.state_dict())
    assert channel_first.channels_first
    assert not channel_last.channels_first
    images = th.randint(0, 256, (3, 64, 64, 3), dtype=th.uint8)
    th.testing.assert_close(channel_last(images), channel_first(images.permute(0, 3, 1, 2)))


def test_bad_spaces() -> None:
    with pytest.raises(ValueError, match="image observation space"):
        ImpalaCnn(spaces.Box(0, 1, (8,), np.float32))
    with pytest.raises(ValueError, match="normalized_image=True"):
        ImpalaCnn(spaces.Box(0, 1, (3, 64, 64), np.float32))
    ImpalaCnn(spaces.Box(0, 1, (3, 64, 64), np.float32), normalized_image=True)
    with pytest.raises(ValueError, match="channels"):
        ImpalaCnn(CHW, channels=())


def glorot_bound(layer: nn.Module) -> float:
    """Glorot-uniform limit sqrt(6 / (fan_in + fan_out)), fans counted by hand (3x3 kernels for convolutions)."""
    if isinstance(layer, nn.Conv2d):
        fan_in, fan_out = 9 * layer.in_channels, 9 * layer.out_channels
    else:
        fan_in, fan_out = layer.in_features, layer.out_features
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


def impala_layers(extractor: ImpalaCnn) -> list[nn.Module]:
    return [m for m in extractor.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def test_glorot_uniform_weight_init() -> None:
    th.manual_seed(0)
    extractor = ImpalaCnn(CHW, weight_init="glorot_uniform")
    layers = impala_layers(extractor)
    assert len(layers) == 3 * 5 + 1
    for layer in layers:
        bound = glorot_bound(layer)
        weight = layer.weight.detach()
        assert weight.abs().max() <= bound
        # uniform on [-bound, bound]: std bound / sqrt(3) (the smallest layer has 27 x 16 weights)
        assert abs(weight.std().item() / (bound / np.sqrt(3)) - 1) < 0.1
        assert th.count_nonzero(layer.bias) == 0

    # ImpalaCnnPolicy's ortho_init (on by default) overwrites every layer with SB3's orthogonal gain sqrt(2),
    # except an extractor's own weight_init, which it applies again; the heads keep SB3's gains.
    for share in (True, False):
        th.manual_seed(0)
        kwargs = dict(features_extractor_kwargs=dict(weight_init="glorot_uniform"), share_features_extractor=share)
        policy = ImpalaCnnPolicy(CHW, spaces.Discrete(15), lambda _: 5e-4, **kwargs)
        for extractor in {policy.pi_features_extractor, policy.vf_features_extractor}:
            for layer in impala_layers(extractor):
                assert layer.weight.abs().max() <= glorot_bound(layer)
                assert th.count_nonzero(layer.bias) == 0
        action_weight = policy.action_net.weight.detach()  # orthogonal rows, gain 0.01
        th.testing.assert_close(action_weight @ action_weight.T, 1e-4 * th.eye(15), atol=1e-9, rtol=0)

    # the policy's default is the Glorot-uniform one (the Procgen paper's), the saved arguments stay as given
    default = ImpalaCnnPolicy(CHW, spaces.Discrete(15), lambda _: 5e-4)
    assert default.features_extractor.weight_init == "glorot_uniform"
    assert default._get_constructor_parameters()["features_extractor_kwargs"] == {}
    for layer in impala_layers(default.features_extractor):
        assert layer.weight.abs().max() <= glorot_bound(layer)
        assert th.count_nonzero(layer.bias) == 0

    # weight_init=None: SB3's orthogonal init. The first convolution (27 inputs, 16 outputs) has weights of
    # std sqrt(2/27) = 0.27, far outside the Glorot bound 0.19
    ortho = ImpalaCnnPolicy(CHW, spaces.Discrete(15), lambda _: 5e-4, features_extractor_kwargs=dict(weight_init=None))
    assert ortho.features_extractor.weight_init is None
    first = ortho.features_extractor.stacks[0].conv
    assert first.weight.abs().max() > glorot_bound(first)
    flat = first.weight.detach().reshape(16, -1)
    th.testing.assert_close(flat @ flat.T, 2.0 * th.eye(16), atol=1e-5, rtol=0)

    with pytest.raises(ValueError, match="weight_init must be one of"):
        ImpalaCnn(CHW, weight_init="xavier")


def test_policy_defaults_and_saved_arguments() -> None:
    policy = ImpalaCnnPolicy(CHW, spaces.Discrete(15), lambda _: 5e-4)
    assert isinstance(policy.features_extractor, ImpalaCnn)
    assert policy.net_arch == []  # linear policy and value heads on the 256 features (paper, Fig. 1)
    # the division by 255 moved into the extractor; the constructor argument is saved as given
    assert policy.features_extractor.normalize_input
    assert not policy.normalize_images
    saved = policy._get_constructor_parameters()
    assert saved["normalize_images"] is True
    assert saved["features_extractor_kwargs"] == {}

    raw = ImpalaCnnPolicy(CHW, spaces.Discrete(15), lambda _: 5e-4, normalize_images=False)
    assert not raw.features_extractor.normalize_input
    assert not raw.normalize_images


@pytest.mark.parametrize("weight_init", [None, "glorot_uniform", "default"])
def test_save_load_predictions(tmp_path, weight_init: str | None) -> None:
    env = VecTransposeImage(DummyVecEnv([lambda: FakeImageEnv(screen_height=64, screen_width=64, n_channels=3)]))
    policy_kwargs = {} if weight_init == "default" else dict(features_extractor_kwargs=dict(weight_init=weight_init))
    if weight_init == "default":
        weight_init = "glorot_uniform"
    model = MaxEntPPO(ImpalaCnnPolicy, env, n_steps=8, batch_size=8, seed=0, device="cpu", policy_kwargs=policy_kwargs)
    obs = env.reset()
    actions, _ = model.predict(obs, deterministic=True)
    values = model.policy.predict_values(model.policy.obs_to_tensor(obs)[0])
    model.save(tmp_path / "model.zip")
    loaded = MaxEntPPO.load(tmp_path / "model.zip", device="cpu")
    assert isinstance(loaded.policy, ImpalaCnnPolicy)
    assert loaded.policy.features_extractor.normalize_input
    assert loaded.policy.features_extractor.weight_init == weight_init
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    th.testing.assert_close(loaded.policy.predict_values(loaded.policy.obs_to_tensor(obs)[0]), values)


@pytest.mark.parametrize("model_class", [DQN, SoftDQN])
def test_q_policy(model_class: type[DQN], tmp_path) -> None:
    env = VecTransposeImage(DummyVecEnv([lambda: FakeImageEnv(screen_height=64, screen_width=64, n_channels=3)]))
    model = model_class(
        ImpalaCnnQPolicy, env, buffer_size=64, learning_starts=8, batch_size=8, train_freq=4, seed=0, device="cpu"
    )
    q_net = model.policy.q_net
    assert q_net.net_arch == []  # a linear Q-value head on the 256 features
    assert isinstance(q_net.features_extractor, ImpalaCnn)
    assert q_net.features_extractor.normalize_input
    assert model.policy._get_constructor_parameters()["normalize_images"] is True

    # same Q-values as SB3's own path (float / 255, then the extractor without the fused division)
    obs = th.as_tensor(env.reset())
    reference = ImpalaCnn(env.observation_space)
    reference.load_state_dict(q_net.features_extractor.state_dict())
    th.testing.assert_close(q_net(obs), q_net.q_net(reference(obs.float() / 255.0)))

    model.learn(16)
    model.save(tmp_path / "q.zip")
    loaded = model_class.load(tmp_path / "q.zip", device="cpu")
    th.testing.assert_close(loaded.policy.q_net(obs), model.policy.q_net(obs))


def test_maxent_ppo_update_on_fruitbot() -> None:
    from sb3_maxent.envs.procgen import make_procgen_vec_env, procgen_install_hint

    pytest.importorskip("procgen", reason=f"Procgen is not installed: {procgen_install_hint()}")

    env = make_procgen_vec_env(n_envs=4, seed=0)
    model = MaxEntPPO(ImpalaCnnPolicy, env, n_steps=8, batch_size=16, n_epochs=1, maxent_coef=0.3, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(32)
    assert model.num_timesteps == 32
    assert model._n_updates == 1
    changed = [not th.equal(b, p) for b, p in zip(before, model.policy.parameters(), strict=True)]
    assert all(changed)  # every layer of the IMPALA CNN and both heads were updated
    env.close()
