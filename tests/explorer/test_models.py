"""explorer.models: the model list, loading each kind read-only, and refusing bad checkpoints."""

from __future__ import annotations

import io
from collections import OrderedDict

import pytest
import torch
from torchvision.models import alexnet as torchvision_alexnet

import explorer.models as models
from alexnet.checkpoint import FORMAT, CheckpointError, save_checkpoint
from alexnet.data import DatasetStats
from alexnet.model import AlexNet
from alexnet.reference import reference_available
from explorer.images import IMAGENET_MEAN_RGB
from explorer.models import (
    LoadedModel,
    ModelOption,
    TorchvisionAlexNet,
    available_models,
    load_model,
    load_uploaded_checkpoint,
)

CLASSES = [f"class_{i}" for i in range(10)]


class NotAWeight:
    """Any object other than tensors and plain containers: weights_only loading must refuse it."""

    def __init__(self):
        self.payload = "would run code on unpickling"


@pytest.fixture(scope="module")
def small_model() -> AlexNet:
    torch.manual_seed(3)
    return AlexNet(num_classes=10, towers=1).eval()


@pytest.fixture(scope="module")
def stats() -> DatasetStats:
    g = torch.Generator().manual_seed(0)
    return DatasetStats(torch.rand(3, 256, 256, generator=g) * 255, torch.tensor([3.0, 2.0, 1.0]), torch.eye(3))


def conv_only(model: AlexNet) -> OrderedDict:
    # Like the bundled reference: conv layers only (fp16), ~5 MB instead of ~230 MB for the full net.
    return OrderedDict((k, v.half()) for k, v in model.state_dict().items() if k.startswith("features."))


def save_conv_only(path, model: AlexNet, **extra) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "model": conv_only(model), "config": model.config_dict(), **extra}, path)


@pytest.fixture(scope="module")
def full_checkpoint(tmp_path_factory, small_model, stats):
    path = tmp_path_factory.mktemp("runs") / "demo" / "checkpoint.pt"
    save_checkpoint(path, small_model, class_names=CLASSES, data_stats=stats.state_dict(), epoch=3)
    return path


@pytest.fixture(scope="module")
def conv_checkpoint(tmp_path_factory, small_model):
    path = tmp_path_factory.mktemp("runs") / "conv" / "checkpoint.pt"
    save_conv_only(path, small_model, class_names=CLASSES, epoch=3)
    return path


def test_default_list_on_a_fresh_machine(tmp_path, monkeypatch):
    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: False)
    options = available_models(tmp_path / "no_runs_here")
    expected = ["reference", "paper-init"] if reference_available() else ["paper-init"]
    assert [o.kind for o in options] == expected


def test_reference_is_listed_first_when_it_ships(tmp_path, monkeypatch):
    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: False)
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "model.safetensors.index.json").write_text("{}")
    monkeypatch.setattr("alexnet.reference.REFERENCE_DIR", tmp_path / "reference")
    options = available_models(tmp_path / "no_runs_here")
    assert [o.kind for o in options] == ["reference", "paper-init"]
    assert options[0].path == tmp_path / "reference"
    monkeypatch.setattr("alexnet.reference.REFERENCE_DIR", tmp_path / "absent")
    assert available_models(tmp_path / "no_runs_here")[0].kind == "paper-init"


def test_runs_and_snapshots_are_listed(tmp_path, monkeypatch):
    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: False)
    for rel in ("b/checkpoint.pt", "b/snapshots/epoch_10.pt", "b/snapshots/epoch_2.pt", "a/checkpoint.pt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "empty_run").mkdir()
    runs = [o for o in available_models(tmp_path) if o.kind == "run"]
    assert [o.key for o in runs] == [
        "run:a",
        "run:b",
        "run:b/snapshots/epoch_2.pt",  # natural order: 2 before 10
        "run:b/snapshots/epoch_10.pt",
    ]
    assert runs[1].path == tmp_path / "b" / "checkpoint.pt"


def test_torchvision_is_listed_only_when_its_weights_are_here(tmp_path, monkeypatch):
    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: True)
    assert available_models(tmp_path)[-1].kind == "torchvision"
    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: False)
    assert all(o.kind != "torchvision" for o in available_models(tmp_path))


def test_paper_init_is_untrained_seeded_read_only_and_says_so():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = load_model(ModelOption("paper-init", "x", "paper-init"))
    assert torch.equal(torch.rand(3), expected_next)  # the global random stream is left alone
    second = load_model(ModelOption("paper-init", "x", "paper-init"))
    assert torch.equal(first.model.layer("conv1").weight, second.model.layer("conv1").weight)
    assert not first.model.training
    assert not any(p.requires_grad for p in first.model.parameters())
    assert (first.is_trained, first.has_classifier, first.towers, first.kind) == (False, False, 2, "paper-init")
    assert "Untrained" in first.notice and first.classifier_note
    assert first.data_stats is None
    # The paper's initialisation: N(0, 0.01) weights, bias 1 in conv2.
    assert first.model.layer("conv1").weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert torch.all(first.model.layer("conv2").bias == 1)


@pytest.mark.slow  # writes and reads a full ~230 MB checkpoint
def test_run_checkpoint_round_trip(full_checkpoint, small_model, stats):
    loaded = load_model(ModelOption("run:demo", "Run demo", "run", full_checkpoint))
    assert isinstance(loaded, LoadedModel)
    assert loaded.is_trained and loaded.has_classifier and loaded.classifier_note is None
    assert loaded.class_names == CLASSES
    assert torch.equal(loaded.data_stats.mean_image, stats.mean_image)
    assert loaded.key.startswith("run:demo@")
    for name, value in small_model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], value)
    assert not loaded.model.training


def test_run_key_changes_when_the_checkpoint_is_overwritten(tmp_path, small_model):
    path = tmp_path / "r" / "checkpoint.pt"
    save_conv_only(path, small_model, epoch=1)
    option = ModelOption("run:r", "Run r", "run", path)
    first = load_model(option).key
    save_conv_only(path, small_model, epoch=2)
    assert load_model(option).key != first


def test_conv_only_checkpoint_has_no_classifier(tmp_path, small_model):
    path = tmp_path / "conv_only.pt"
    save_conv_only(path, small_model)
    loaded = load_model(ModelOption("run:c", "c", "run", path))
    assert not loaded.has_classifier
    assert "only the convolutional layers" in loaded.classifier_note
    assert torch.allclose(loaded.model.layer("conv1").weight, small_model.layer("conv1").weight.half().float())


def test_epoch_zero_snapshot_is_marked_untrained(tmp_path, small_model):
    path = tmp_path / "epoch_0.pt"
    save_conv_only(path, small_model, epoch=0)
    loaded = load_model(ModelOption("run:s", "s", "run", path))
    assert not loaded.is_trained and not loaded.has_classifier and "Untrained" in loaded.notice


def test_uploaded_checkpoint_loads_with_a_stable_key(conv_checkpoint, small_model):
    data = conv_checkpoint.read_bytes()
    first = load_uploaded_checkpoint(data, name="mine.pt")
    assert first.kind == "upload" and first.label == "Uploaded: mine.pt"
    assert first.key == load_uploaded_checkpoint(data, name="other.pt").key
    assert first.class_names == CLASSES and not first.has_classifier
    assert torch.equal(first.model.layer("conv3").weight, small_model.layer("conv3").weight.half().float())


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x00garbage that is not a checkpoint" * 10, "not a readable PyTorch checkpoint"),
        (_saved({"format": FORMAT, "model": {}, "extra": NotAWeight()}), "refused"),
        (_saved(OrderedDict(weight=torch.zeros(2))), "not an AlexNet Explorer checkpoint"),
        (_saved([1, 2, 3]), "not a checkpoint dict"),
    ],
)
def test_foreign_or_corrupt_uploads_are_refused(data, message):
    with pytest.raises(CheckpointError, match=message) as info:
        load_uploaded_checkpoint(data, name="upload.pt")
    assert "alexnet-upload-" not in str(info.value)  # the message names the user's file, not a temp file


def test_truncated_upload_is_refused(conv_checkpoint):
    data = conv_checkpoint.read_bytes()
    with pytest.raises(CheckpointError, match="upload.pt"):
        load_uploaded_checkpoint(data[: len(data) // 3], name="upload.pt")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4")
@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("payload_name", ["os.system", "subprocess.Popen", "builtins.eval", "__reduce__"])
def test_uploads_that_would_run_code_are_refused_by_name(tmp_path, payload_name, protocol):
    from tests.alexnet.test_checkpoint import PAYLOADS, evil_checkpoint

    marker = tmp_path / "ran"
    with pytest.raises(CheckpointError) as raised:
        load_uploaded_checkpoint(evil_checkpoint(payload_name, marker, protocol), name="evil.pt")
    message = str(raised.value)
    assert f"evil.pt was refused: it would run code ({PAYLOADS[payload_name][1]})" in message
    assert "\n" not in message and "alexnet-upload-" not in message
    assert not marker.exists()


def _safetensors(state, metadata=None) -> bytes:
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in state.items()}, metadata=metadata)


def test_safetensors_upload_with_metadata_and_stats(small_model, stats):
    import json

    tensors = {**small_model.state_dict(), **{f"data_stats.{k}": v for k, v in stats.state_dict().items()}}
    metadata = {"config": json.dumps(small_model.config_dict()), "class_names": json.dumps(CLASSES), "epoch": "3"}
    loaded = load_uploaded_checkpoint(_safetensors(tensors, metadata), name="mine.safetensors")
    assert loaded.kind == "upload" and loaded.label == "Uploaded: mine.safetensors"
    assert loaded.has_classifier and loaded.class_names == CLASSES and loaded.notice is None
    assert torch.equal(loaded.data_stats.mean_image, stats.mean_image)
    assert torch.equal(loaded.model.layer("fc7").weight, small_model.layer("fc7").weight)


def test_safetensors_upload_without_config_says_what_was_inferred():
    model = AlexNet(num_classes=5, towers=2)
    loaded = load_uploaded_checkpoint(_safetensors(conv_only(model)), name="conv.safetensors")
    assert loaded.towers == 2 and not loaded.has_classifier
    assert "carries no config: two towers" in loaded.notice and "LRN, overlapping pooling and ReLU" in loaded.notice
    assert torch.allclose(loaded.model.layer("conv4").weight, model.layer("conv4").weight, atol=1e-3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: _safetensors({"features.0.weight": torch.zeros(64, 3, 11, 11)}), "lacks features.conv1.weight"),
        (lambda: _safetensors({**conv_only(AlexNet(num_classes=2)), "head.weight": torch.zeros(1)}),
         "holds tensors AlexNet does not have: head.weight"),
        (lambda: b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", "not a readable safetensors file"),
        (lambda: _saved({"format": FORMAT}), "not a safetensors file"),
    ],
)
def test_safetensors_uploads_that_are_not_alexnet_weights_are_refused(data, message):
    with pytest.raises(CheckpointError, match=message) as raised:
        load_uploaded_checkpoint(data(), name="w.safetensors")
    assert "w.safetensors" in str(raised.value) and "\n" not in str(raised.value)


def test_inconsistent_class_names_are_refused(tmp_path, small_model):
    path = tmp_path / "bad.pt"
    save_conv_only(path, small_model, class_names=["only", "three", "names"])
    with pytest.raises(CheckpointError, match="names 3 classes but its model has 10 outputs"):
        load_model(ModelOption("run:x", "x", "run", path))


def test_unknown_option_kind_is_refused():
    with pytest.raises(ValueError, match="upload"):
        load_model(ModelOption("upload:x", "x", "upload"))


def test_torchvision_wrapper_feeds_torchvision_its_own_normalisation():
    torch.manual_seed(0)
    net = torchvision_alexnet(weights=None).eval()
    wrapped = TorchvisionAlexNet(net).eval()
    pixels = torch.rand(1, 3, 227, 227) * 255
    paper_input = pixels - torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.allclose(wrapped(paper_input), net((pixels / 255 - mean) / std), atol=1e-5)
    assert wrapped.features is net.features


def test_torchvision_option_loads_when_weights_exist(monkeypatch):
    # Without network access the weights are absent; stand in a randomly initialised model for them.
    monkeypatch.setattr(
        "alexnet.pretrained.load_torchvision_alexnet", lambda *a, **k: torchvision_alexnet(weights=None).eval()
    )
    loaded = models.load_model(ModelOption("torchvision", "tv", "torchvision"))
    assert loaded.has_classifier and len(loaded.class_names) == 1000 and loaded.towers == 1
    assert isinstance(loaded.model, TorchvisionAlexNet) and "not the paper's network" in loaded.notice


def test_partly_trained_reference_says_so(tmp_path):
    import json

    from alexnet import AlexNet
    from alexnet.reference import export_reference
    from explorer.models import ModelOption, load_model

    model = AlexNet(num_classes=10, towers=2)
    stats = {"mean_image": torch.zeros(3, 256, 256), "eigvals": torch.ones(3), "eigvecs": torch.eye(3)}
    checkpoint = {"model": model.state_dict(), "config": model.config_dict(), "epoch": 10, "data_stats": stats,
                  "class_names": [f"class {i}" for i in range(10)]}
    export_reference(checkpoint, {}, "", {}, fc_scheme="int4", directory=tmp_path)
    provenance = {"epochs_completed": 10, "epochs_planned": 90, "chance_top1_error": 0.9,
                  "final_val_error": {"centre_top1": 0.386}}
    (tmp_path / "provenance.json").write_text(json.dumps(provenance))
    loaded = load_model(ModelOption("reference", "Reference", "reference", tmp_path))
    assert loaded.is_trained and loaded.has_classifier and loaded.class_names[3] == "class 3"
    assert "10 of its 90 planned epochs" in loaded.notice and "38.6%" in loaded.notice
    provenance["epochs_completed"] = 90
    (tmp_path / "provenance.json").write_text(json.dumps(provenance))
    assert load_model(ModelOption("reference", "Reference", "reference", tmp_path)).notice is None
