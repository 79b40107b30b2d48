"""`ptirc export` and checkpoints: round trips, torchvision .pth files, and the errors a
bad weights file gives."""

import json
import os

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from ptir.models import get_model


@pytest.mark.parametrize("name", ["resnet34", "mobilenet_v2"])
def test_export_round_trip(name, tiny_weights, tiny_models):
    m = tiny_models[name]
    weights, config = m.family.load_checkpoint(tiny_weights[name])
    assert config == json.loads(json.dumps(m.config))
    assert weights.keys() == m.weights.keys()
    assert all(np.array_equal(weights[k], v) and weights[k].shape == v.shape for k, v in m.weights.items())
    with safe_open(tiny_weights[name], framework="np") as f:
        assert f.metadata()["ptir.model"] == name


def test_torchvision_pth_loads_with_inferred_config(tmp_path, tiny_models):
    m = tiny_models["resnet34"]
    path = tmp_path / "resnet.pth"
    torch.save(m.torch.state_dict(), path)
    weights, config = m.family.load_checkpoint(str(path))
    assert config["layers"] == [1, 1, 1, 1] and config["num_classes"] == 10
    m.family.bind(config, weights)   # every key and shape fits


def test_export_seed_changes_weights(ptirc, tmp_path):
    paths = [tmp_path / f"s{seed}.safetensors" for seed in (0, 1)]
    for seed, path in enumerate(paths):
        assert ptirc("export", "-m", "mobilenet_v2", "--size", "tiny", "--seed", seed, "-o", path)[0] == 0
    a, b = (load_file(p) for p in paths)
    assert not np.array_equal(a["features.0.0.weight"], b["features.0.0.weight"])


def test_export_to_missing_directory_writes_nothing(ptirc, tmp_path):
    code, _, err = ptirc("export", "-m", "resnet34", "--size", "tiny", "-o", tmp_path / "no" / "w.safetensors")
    assert code == 1 and "does not exist" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "no")


def test_unknown_model_and_size(ptirc, tmp_path):
    code, _, err = ptirc("export", "-m", "vgg16", "-o", tmp_path / "w.safetensors")
    assert code == 2 and "unknown model 'vgg16'" in err
    code, _, err = ptirc("export", "-m", "resnet34", "--size", "huge", "-o", tmp_path / "w.safetensors")
    assert code == 2 and "unknown size 'huge'" in err
    assert not os.listdir(tmp_path)


def _edited(tiny_weights, tmp_path, edit) -> str:
    """A copy of the tiny resnet file (metadata kept) with `edit` applied to its tensors."""
    src = tiny_weights["resnet34"]
    with safe_open(src, framework="np") as f:
        meta = f.metadata()
    tensors = load_file(src)
    edit(tensors)
    path = str(tmp_path / "edited.safetensors")
    save_file(tensors, path, metadata=meta)
    return path


def test_eval_names_a_missing_weight(ptirc, tiny_weights, tmp_path):
    path = _edited(tiny_weights, tmp_path, lambda t: t.pop("layer2.0.conv1.weight"))
    code, _, err = ptirc("eval", "-m", "resnet34", "--weights", path, "-t", "ref")
    assert code == 1 and "1 missing key: layer2.0.conv1.weight" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_eval_names_a_mis_shaped_weight(ptirc, tiny_weights, tmp_path):
    path = _edited(tiny_weights, tmp_path, lambda t: t.update({"fc.bias": np.zeros(7, np.float32)}))
    code, _, err = ptirc("eval", "-m", "resnet34", "--weights", path, "-t", "ref")
    assert code == 1 and "fc.bias (expected shape (10,), got (7,))" in err


def test_eval_missing_weights_file(ptirc, tmp_path):
    code, _, err = ptirc("eval", "-m", "resnet34", "--weights", tmp_path / "nope.safetensors")
    assert code == 1 and "nope.safetensors does not exist" in err and "Traceback" not in err


def test_a_checkpoint_of_another_architecture_gives_a_short_error(ptirc, tmp_path, tiny_models):
    path = tmp_path / "mobilenet.pth"
    torch.save(tiny_models["mobilenet_v2"].torch.state_dict(), path)
    code, _, err = ptirc("export", "-m", "resnet34", "--checkpoint", path, "-o", tmp_path / "w.safetensors")
    assert code == 1 and "missing keys: conv1.weight" in err and "more)" in err and len(err) < 1000
    (path := tmp_path / "garbage.pth").write_bytes(b"garbage")
    code, _, err = ptirc("export", "-m", "resnet34", "--checkpoint", path, "-o", tmp_path / "w.safetensors")
    assert code == 1 and "cannot read torch checkpoint" in err and len(err.splitlines()) == 1


def test_weights_of_another_model_are_refused(ptirc, tiny_weights):
    code, _, err = ptirc("eval", "-m", "mobilenet_v2", "--weights", tiny_weights["resnet34"], "-t", "ref")
    assert code == 1 and "holds resnet34 weights, not mobilenet_v2" in err


def test_export_goes_through_the_family_interface_only(ptirc, tmp_path):
    """Any registered family exports: gpt2 too (its own config and weights)."""
    path = tmp_path / "gpt2.safetensors"
    assert ptirc("export", "-m", "gpt2", "--size", "tiny", "-o", path)[0] == 0
    family = get_model("gpt2")
    weights = load_file(path)
    family.bind(family.config("tiny"), weights)
