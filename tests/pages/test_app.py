"""AppTest for the app shell (streamlit_app.py): routing, the sidebar's model picker, per-session state."""

from __future__ import annotations

import pytest

from tests.pages.conftest import (
    app,
    assert_ran,
    image_captions,
    image_urls,
    metrics,
    on_activations,
    subheaders,
)


@pytest.mark.slow
def test_shell_starts_on_a_fresh_machine_with_the_untrained_default():
    at = app().run()
    assert_ran(at)
    model = at.sidebar.selectbox(key="model_choice")
    assert model.value == "paper-init"
    assert model.options[0] == "Paper AlexNet, untrained"
    assert model.options[-1] == "Upload a checkpoint ..."
    assert at.title[0].value == "Kernels"  # the default page
    assert any("Untrained model" in info.value for info in at.info)  # the plain notice


@pytest.mark.slow
def test_bad_checkpoint_upload_is_refused_and_the_page_keeps_working():
    at = app().run()
    at.sidebar.selectbox(key="model_choice").set_value("__upload__").run()
    assert_ran(at)
    at.sidebar.file_uploader(key="checkpoint_upload").upload("weights.pt", b"\x00not a checkpoint" * 50).run()
    assert_ran(at)
    errors = [e.value for e in at.sidebar.error]
    assert errors and "Checkpoint refused" in errors[0] and "weights.pt" in errors[0]
    assert at.title[0].value == "Kernels" and image_urls(at)  # still showing the default model


@pytest.mark.slow
def test_checkpoint_that_would_run_code_is_refused_by_name_and_safetensors_load(tmp_path):
    from safetensors.torch import save

    from alexnet.model import AlexNet
    from tests.alexnet.test_checkpoint import evil_checkpoint

    marker = tmp_path / "ran"
    at = app().run()
    at.sidebar.selectbox(key="model_choice").set_value("__upload__").run()
    at.sidebar.file_uploader(key="checkpoint_upload").upload("evil.pt", evil_checkpoint("os.system", marker)).run()
    assert_ran(at)
    errors = [e.value for e in at.sidebar.error]
    assert errors and "evil.pt was refused: it would run code (posix.system)" in errors[0], errors
    assert not marker.exists()
    # A photo dropped on the checkpoint uploader gets a sentence, not only an icon.
    at.sidebar.file_uploader(key="checkpoint_upload").upload("cat.jpg", b"\xff\xd8\xff not read").run()
    assert any("cat.jpg is an image, not model weights" in e.value for e in at.sidebar.error)
    # One .safetensors file of weights (no config, no pickle) loads: towers read from the shapes.
    conv = {k: v for k, v in AlexNet(num_classes=10, towers=1).state_dict().items() if k.startswith("features.")}
    at.sidebar.file_uploader(key="checkpoint_upload").upload("w.safetensors", save(conv)).run()
    assert_ran(at)
    assert not at.sidebar.error
    assert any(c.value.startswith("Uploaded: w.safetensors: trained, one tower") for c in at.sidebar.caption)
    assert any("w.safetensors carries no config" in info.value for info in at.info)


def _encoded(image, fmt: str, **options) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.slow
def test_gif_and_tiff_uploads_are_used_and_every_refusal_is_a_sentence_that_does_not_pile_up():
    import io

    import torch
    from PIL import Image

    at = on_activations()
    at.radio(key="activations_image_source").set_value("Upload").run()
    frames = [Image.new("RGB", (64, 48), (250, 0, 0)), Image.new("RGB", (64, 48), (0, 0, 250))]
    gif = _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    at.file_uploader(key="activations_upload").upload("moving.gif", gif, "image/gif").run()
    assert_ran(at)
    assert image_captions(at)[0] == "moving.gif (64x48)"  # its first frame
    tiff = _encoded(Image.new("RGB", (80, 60), (0, 200, 0)), "TIFF", compression="tiff_lzw")
    at.file_uploader(key="activations_upload").upload("scan.tiff", tiff, "image/tiff").run()
    assert_ran(at)
    assert image_captions(at)[0] == "scan.tiff (80x60)"

    checkpoint = io.BytesIO()
    torch.save({"model": {"w": torch.zeros(2)}}, checkpoint)
    refusals = [("weights.pt", checkpoint.getvalue(), "weights.pt was not used: this is a model checkpoint"),
                ("notes.txt", b"just some text", "notes.txt was not used: this file is not an image (accepted: JPEG")]
    for generation, (name, data, sentence) in enumerate(refusals, start=1):
        uploader = [u for u in at.get("file_uploader") if u.key.startswith("activations_upload")][0]
        uploader.upload(name, data, "application/octet-stream").run()
        assert_ran(at)
        assert [e.value for e in at.error if "was not used" in e.value][0].startswith(sentence)
        # The refused file is gone from the widget (a fresh, empty uploader), so refusals do not pile up.
        uploaders = [u for u in at.get("file_uploader") if u.key.startswith("activations_upload")]
        assert [u.key for u in uploaders] == [f"activations_upload_{generation}"] and uploaders[0].value is None
        assert image_captions(at)[0] == "scan.tiff (80x60)"  # the last good image stays


@pytest.mark.slow
def test_corrupt_run_checkpoint_is_reported_and_the_default_model_used(tmp_path):
    run = tmp_path / "runs" / "broken"
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated zip")
    at = app().run()
    model = at.sidebar.selectbox(key="model_choice")
    assert model.options[1] == "Run broken (latest checkpoint)"
    model.set_value("run:broken").run()
    assert_ran(at)
    assert any("Could not load Run broken" in e.value and "checkpoint.pt" in e.value for e in at.sidebar.error)
    assert "conv1: 48 + 48 kernels, two towers" in subheaders(at)  # the default model is shown instead


@pytest.mark.slow
def test_image_choice_is_shared_across_pages_but_not_across_sessions():
    first = on_activations()
    first.selectbox(key="activations_sample").set_value("rocket").run()
    first.switch_page("pages/kernels.py").run()
    first.switch_page("pages/activations.py").run()
    assert first.selectbox(key="activations_sample").value == "rocket"  # kept across pages
    second = on_activations()
    assert second.selectbox(key="activations_sample").value == "cat"  # another user, own choice


@pytest.mark.slow
def test_top5_predictions_when_the_model_has_a_classifier(monkeypatch):
    # Stand in torchvision's AlexNet (random weights: no download possible here) for a trained classifier.
    from torchvision.models import alexnet

    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: True)
    monkeypatch.setattr("alexnet.pretrained.load_torchvision_alexnet", lambda *a, **k: alexnet(weights=None).eval())
    at = app().run()
    at.sidebar.selectbox(key="model_choice").set_value("torchvision").run()
    at.switch_page("pages/activations.py").run()
    assert_ran(at)
    from tests.pages.real_data import chart

    bars = chart(at, "activations_top5")  # horizontal bars, best at the top
    assert len(bars["y"]) == 5 and all(isinstance(name, str) for name in bars["y"])
    assert sorted(bars["x"], reverse=True) in (list(bars["x"]), list(reversed(bars["x"])))
    assert "relu1 (conv1 + ReLU): 64 feature maps of 56x56" in subheaders(at)  # torchvision's conv1 pads by 2
    at.switch_page("pages/kernels.py").run()
    assert_ran(at)
    assert "conv1: 64 kernels of 11x11x3" in subheaders(at)  # one tower: no per-tower metrics
    assert not any(label.startswith("Tower") for label in metrics(at))


@pytest.mark.slow
def test_pages_leave_the_shared_model_untouched():
    at = on_activations()
    for layer in ("conv1", "lrn2", "pool5"):
        at.selectbox(key="activations_layer").set_value(layer).run()
    assert_ran(at)
    from explorer.models import ModelOption
    from pages.state import _load_option

    shared = _load_option(ModelOption("paper-init", "x", "paper-init")).model
    assert not shared.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in shared.modules())
    assert not any(p.requires_grad for p in shared.parameters())
