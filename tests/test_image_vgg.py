"""VGG feature network: layout, layers, weights loading and its errors. Never downloads."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

from audiost.errors import AudiostError
from audiost.features import VGG
from audiost.features.vgg import WEIGHT_URLS, WEIGHTS_ENV

from .conftest import HED, SHARED, needs_hed

NOT_A_CHECKPOINT = SHARED / "corpus" / "bad" / "weights_not_a_state_dict.pth"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch hub cache and a download that fails as if offline; yields the hub dir."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)

    def no_network(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return hub


@pytest.fixture(scope="module")
def hed_state():
    return torch.load(HED, weights_only=True, map_location="cpu")


def test_torchvision_layout_and_names():
    vgg19 = VGG("vgg19", "random")
    convs = sorted(
        int(key.split(".")[1])
        for key in vgg19.state_dict()
        if key.startswith("features.") and key.endswith("weight")
    )
    assert convs == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    assert (
        vgg19.layer_names[0] == "conv1_1"
        and vgg19.layer_names[-1] == "conv5_4"
        and len(vgg19.layer_names) == 16
    )
    assert len(VGG("vgg16", "random").layer_names) == 13
    assert vgg19.style_layers == (
        "conv1_1",
        "conv2_1",
        "conv3_1",
        "conv4_1",
        "conv5_1",
    ) and vgg19.content_layers == ("conv4_2",)
    assert not any(p.requires_grad for p in vgg19.parameters())


def test_shapes_and_post_relu():
    net = VGG("vgg16", "random", seed=1)
    out = net(torch.rand(2, 3, 48, 64), ["conv1_1", "conv3_2", "conv5_1"])
    assert out["conv1_1"].shape == (2, 64, 48, 64)
    assert out["conv3_2"].shape == (2, 256, 12, 16)
    assert out["conv5_1"].shape == (2, 512, 3, 4)
    assert all(v.min() >= 0 for v in out.values())


def test_normalisation_is_inside():
    net = VGG("vgg16", "random")
    canvas = torch.rand(1, 3, 20, 20)
    normalised = (
        canvas - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    ) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = torch.relu(net.features[0](normalised))
    torch.testing.assert_close(net(canvas, ["conv1_1"])["conv1_1"], expected)


def test_one_channel_canvas_is_gray_rgb():
    net = VGG("vgg16", "random")
    gray = torch.rand(1, 1, 32, 32)
    torch.testing.assert_close(
        net(gray, ["conv2_1"])["conv2_1"],
        net(gray.repeat(1, 3, 1, 1), ["conv2_1"])["conv2_1"],
    )


def test_stops_at_the_deepest_requested_layer():
    net = VGG("vgg19", "random")
    ran: list[int] = []
    for index, layer in enumerate(net.features):
        layer.register_forward_hook(
            lambda module, args, out, index=index: ran.append(index)
        )
    net(torch.rand(1, 3, 32, 32), ["conv2_1"])
    assert max(ran) == net.layer_index["conv2_1"]


def test_pooling_option():
    assert any(
        isinstance(m, nn.AvgPool2d)
        for m in VGG("vgg16", "random", pooling="avg").features
    )
    assert not any(isinstance(m, nn.AvgPool2d) for m in VGG("vgg16", "random").features)
    with pytest.raises(ValueError, match="pooling"):
        VGG("vgg16", "random", pooling="min")


def test_random_weights_follow_the_seed():
    canvas = torch.rand(1, 3, 16, 16)
    a, b, c = (
        VGG("vgg16", "random", seed=s)(canvas, ["conv1_2"])["conv1_2"]
        for s in (0, 0, 1)
    )
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_random_vgg_needs_no_file_or_network(offline):
    out = VGG("vgg19", "random")(torch.rand(1, 3, 32, 32), ["conv5_4"])
    assert torch.isfinite(out["conv5_4"]).all() and out["conv5_4"].abs().sum() > 0
    assert not offline.exists()


@needs_hed
class TestLocalWeights:
    def test_fp16_file_loads_as_float32(self):
        net = VGG("vgg16", HED)
        assert net.features[0].weight.dtype == torch.float32
        features = net(torch.rand(1, 3, 32, 32), ["conv4_2"])["conv4_2"]
        assert torch.isfinite(features).all() and features.abs().sum() > 0

    def test_keys_without_prefix_and_with_classifier(self, tmp_path, hed_state):
        path = tmp_path / "bare.pth"
        state = {k.removeprefix("features."): v for k, v in hed_state.items()} | {
            "classifier.0.weight": torch.zeros(10, 4)
        }
        torch.save(state, path)
        canvas = torch.rand(1, 3, 32, 32)
        torch.testing.assert_close(
            VGG("vgg16", path)(canvas, ["conv3_1"]),
            VGG("vgg16", HED)(canvas, ["conv3_1"]),
        )

    def test_environment_variable(self, offline, monkeypatch):
        monkeypatch.setenv(WEIGHTS_ENV, str(HED))
        assert VGG("vgg16").features[0].weight.abs().sum() > 0

    def test_wrong_architecture_names_the_key_and_the_fix(self):
        with pytest.raises(AudiostError) as info:
            VGG("vgg19", HED)
        assert "missing features.16.weight" in str(info.value) and "vgg16" in str(
            info.value
        )

    def test_mis_shaped_key(self, tmp_path, hed_state):
        path = tmp_path / "shape.pth"
        torch.save(hed_state | {"features.5.weight": torch.zeros(128, 64, 5, 5)}, path)
        with pytest.raises(
            AudiostError,
            match=r"features\.5\.weight has shape \(128, 64, 5, 5\), expected \(128, 64, 3, 3\)",
        ):
            VGG("vgg16", path)

    def test_cached_download_is_reused(self, offline):
        cached = offline / "checkpoints" / WEIGHT_URLS["vgg16"].rsplit("/", 1)[1]
        cached.parent.mkdir(parents=True)
        cached.symlink_to(HED)
        assert VGG("vgg16").features[0].weight.abs().sum() > 0

    def test_first_use_downloads_with_the_hash(self, offline, monkeypatch):
        calls = []

        def fake_download(url, dst, hash_prefix=None, progress=True):
            calls.append((url, hash_prefix, progress))
            Path(dst).symlink_to(HED)

        monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
        VGG("vgg16")
        VGG("vgg16")
        assert calls == [(WEIGHT_URLS["vgg16"], "397923af", True)]


def test_offline_without_cache_says_both_fixes(offline):
    with pytest.raises(AudiostError) as info:
        VGG("vgg19")
    message = str(info.value)
    assert (
        "connect" in message
        and "--weights" in message
        and WEIGHTS_ENV in message
        and "\n" not in message
    )


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (
            lambda path: path.write_bytes(b"not a pickle at all"),
            "not a torch checkpoint",
        ),
        (
            lambda path: torch.save({"features.0.weight": 1}, path),
            "does not hold a state dict",
        ),
        (lambda path: torch.save([torch.zeros(1)], path), "does not hold a state dict"),
        (lambda path: torch.save(nn.Linear(2, 2), path), "pickled Python objects"),
        (
            lambda path: torch.save({"module.features.0.weight": torch.zeros(1)}, path),
            "unexpected key 'module.features.0.weight'",
        ),
        (lambda path: None, "not found"),
    ],
)
def test_bad_weight_files(tmp_path, make, words):
    path = tmp_path / "weights.pth"
    make(path)
    with pytest.raises(AudiostError, match=words) as info:
        VGG("vgg16", path)
    assert str(path) in str(info.value)


@pytest.mark.skipif(
    not NOT_A_CHECKPOINT.is_file(),
    reason=f"shared corpus not found at {NOT_A_CHECKPOINT.parent}",
)
def test_corpus_file_that_is_not_a_checkpoint():
    with pytest.raises(AudiostError, match="not a torch checkpoint"):
        VGG("vgg19", NOT_A_CHECKPOINT)
