"""torchvision's AlexNet behind the project's loader; offline it fails with one clear sentence."""

import pytest
import torch

from alexnet import WeightsUnavailableError, load_torchvision_alexnet
from alexnet.pretrained import torchvision_weights_available, torchvision_weights_path


def test_architecture_without_weights():
    model = load_torchvision_alexnet(weights=None)
    assert sum(p.numel() for p in model.parameters()) == 61_100_840
    assert not model.training


def test_missing_weights_without_download(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert not torchvision_weights_available()
    with pytest.raises(WeightsUnavailableError, match="not on this machine"):
        load_torchvision_alexnet(download=False)


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError, match="download failed"):
        load_torchvision_alexnet()


def test_cached_weights_are_used(tmp_path, monkeypatch):
    # A weights file placed where torch.hub looks is loaded with no network.
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    path = torchvision_weights_path()
    path.parent.mkdir(parents=True)
    reference = load_torchvision_alexnet(weights=None)
    torch.save(reference.state_dict(), path)
    monkeypatch.setattr("torchvision.models._api.WeightsEnum.get_state_dict",
                        lambda self, *a, **k: torch.load(path, weights_only=True))
    assert torchvision_weights_available()
    model = load_torchvision_alexnet()
    assert torch.equal(model.features[0].weight, reference.features[0].weight)


def test_unknown_weights_name():
    with pytest.raises(ValueError, match="unknown torchvision AlexNet weights"):
        load_torchvision_alexnet(weights="IMAGENET9K")
