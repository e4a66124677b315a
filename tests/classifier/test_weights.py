"""Loading the published weight layouts and our own checkpoints."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import classifier
from classifier.device import autocast, choose_device
from classifier.networks import ImageBreastModel, PatchDenseNet121, SingleImageBreastModel, ViewWiseModel
from classifier.weights import load, save_checkpoint, state_dict_sha256
from tests.shared_data import shared_path

PUBLISHED_SHA256 = {
    "viewwise_image_only.p": "e9199e454cd43a132179efd87e749794187a2d957e4aa156be9d679c26f1cc14",
    "viewwise_image_heatmaps.p": "15c725e7cdbe856f51e9d03cb73034f6cafe40709c0f684c287ba644de8f0b54",
    "patch_densenet121.p": "279cad012f3e92660ac2367095c2258a9a7304f83e4796d8ce69f1c70423cf2c",
}


@pytest.fixture(scope="module")
def published_viewwise():
    path = shared_path("data", "conformance", "viewwise_image_only.p")
    return path, torch.load(path, map_location="cpu", weights_only=True)["model"]


def assert_same_weights(model, state):
    own = model.state_dict()
    assert set(own) == set(state)
    for key, value in state.items():
        assert torch.equal(own[key], value), key


@pytest.mark.parametrize(
    "name, kind, channels, variant",
    [
        ("viewwise_image_only.p", "viewwise", 1, "image_only"),
        ("viewwise_image_heatmaps.p", "viewwise", 3, "image_heatmaps"),
        ("patch_densenet121.p", "patch", None, None),
    ],
)
def test_load_published_files(name, kind, channels, variant):
    path = shared_path("data", "conformance", name)
    loaded = load(path, optimize=False)
    assert loaded.kind == kind and loaded.in_channels == channels
    assert loaded.sha256 == PUBLISHED_SHA256[name]
    assert loaded.metadata["demonstration"] is False
    assert loaded.metadata.get("variant") == variant
    assert not loaded.model.training
    assert loaded.device == torch.device("cpu")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert_same_weights(loaded.model, raw["model"] if "model" in raw else raw)


def test_plain_module_loads_published_file_strictly(published_viewwise):
    _, state = published_viewwise
    model = ViewWiseModel(1)
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_load_without_num_batches_tracked(tmp_path, published_viewwise):
    _, state = published_viewwise
    trimmed = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    assert len(trimmed) == 794 - 6 * 21
    path = tmp_path / "old.p"
    torch.save({"model": trimmed}, path)
    loaded = load(path, optimize=False)
    own = loaded.model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in trimmed.items())


def test_load_legacy_serialization(tmp_path, published_viewwise):
    _, state = published_viewwise
    path = tmp_path / "legacy.p"
    torch.save({"model": state}, path, _use_new_zipfile_serialization=False)
    with open(path, "rb") as handle:
        assert handle.read(2) != b"PK"  # not a zip archive
    assert_same_weights(load(path, optimize=False).model, state)


def test_patch_file_without_counters_and_legacy_format(tmp_path):
    state = torch.load(shared_path("data", "conformance", "patch_densenet121.p"), map_location="cpu", weights_only=True)
    trimmed = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    assert len(trimmed) == 606
    path = tmp_path / "patch.p"
    torch.save(trimmed, path, _use_new_zipfile_serialization=False)
    loaded = load(path, optimize=False)
    assert loaded.kind == "patch"
    assert torch.equal(loaded.model.classifier.weight, state["classifier.weight"])


def test_alias_prefixes_equal_canonical(published_viewwise):
    _, state = published_viewwise
    for key, value in state.items():
        for alias, canonical in (("l_cc", "cc"), ("r_cc", "cc"), ("l_mlo", "mlo"), ("r_mlo", "mlo")):
            prefix = f"four_view_resnet.{alias}."
            if key.startswith(prefix):
                assert torch.equal(value, state[f"four_view_resnet.{canonical}." + key[len(prefix):]])


def test_alias_prefixes_may_be_absent(tmp_path, published_viewwise):
    _, state = published_viewwise
    canonical_only = {
        k: v for k, v in state.items() if not k.startswith(("four_view_resnet.l_", "four_view_resnet.r_"))
    }
    assert len(canonical_only) == 131 * 2 + 8
    path = tmp_path / "canonical.p"
    torch.save({"model": canonical_only}, path)
    assert_same_weights(load(path, optimize=False).model, state)


def test_differing_alias_is_rejected(tmp_path, published_viewwise):
    _, state = published_viewwise
    state = dict(state)
    key = "four_view_resnet.r_mlo.layer_list.2.0.conv1.weight"
    state[key] = state[key] + 1
    path = tmp_path / "bad_alias.p"
    torch.save({"model": state}, path)
    with pytest.raises(ValueError, match="r_mlo.*must hold the same tensors"):
        load(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.pop("fc1_cc.bias"), r"1 missing key\(s\) \[fc1_cc.bias\]"),
        (lambda s: s.__setitem__("fc2.weight", torch.zeros(1)), r"1 unexpected key\(s\) \[fc2.weight\]"),
        (lambda s: s.__setitem__("fc1_mlo.weight", torch.zeros(512, 256)), r"wrong shapes for \[fc1_mlo.weight"),
    ],
    ids=["missing", "unexpected", "shape"],
)
def test_bad_keys_are_named(tmp_path, published_viewwise, edit, message):
    _, state = published_viewwise
    state = dict(state)
    edit(state)
    path = tmp_path / "bad.p"
    torch.save({"model": state}, path)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_unknown_layout_and_kind_mismatch(tmp_path):
    path = tmp_path / "unknown.p"
    torch.save({"encoder.weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="cannot tell which classifier"):
        load(path)
    with pytest.raises(ValueError, match="holds a patch model, not the requested viewwise"):
        load(shared_path("data", "conformance", "patch_densenet121.p"), kind="viewwise")
    with pytest.raises(ValueError, match="unknown model kind"):
        load(path, kind="resnet")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.p")
    (tmp_path / "text.p").write_text("not weights")
    with pytest.raises(ValueError, match="not a readable torch weight file|cannot be read"):
        load(tmp_path / "text.p")


class _Opaque:
    pass


def test_pickled_objects_need_trust(tmp_path):
    path = tmp_path / "opaque.p"
    torch.save({"model": ViewWiseModel(1).state_dict(), "extra": _Opaque()}, path)
    with pytest.raises(ValueError, match="trusted=True"):
        load(path)
    with pytest.warns(UserWarning, match="weights_only=False"):
        loaded = load(path, trusted=True, optimize=False)
    assert loaded.kind == "viewwise" and loaded.metadata["other_entries"] == ["extra"]


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ViewWiseModel(3)
    path = tmp_path / "ckpt.pt"
    digest = save_checkpoint(
        path, model, architecture="viewwise-resnet22", variant="image_heatmaps", version="test-1",
        demonstration=True, extra_metadata={"input_size": {"CC": (64, 48), "MLO": [72, 40]}, "epochs": np.int64(3)},
    )
    assert digest == state_dict_sha256(model.state_dict())
    loaded = load(path, optimize=False)
    assert loaded.kind == "viewwise" and loaded.in_channels == 3
    assert loaded.metadata["architecture"] == "viewwise-resnet22"
    assert loaded.metadata["variant"] == "image_heatmaps"
    assert loaded.metadata["version"] == "test-1"
    assert loaded.metadata["demonstration"] is True and loaded.demonstration
    assert loaded.metadata["input_size"] == {"CC": [64, 48], "MLO": [72, 40]}
    assert loaded.metadata["epochs"] == 3
    assert loaded.metadata["weights_sha256"] == digest
    assert len(loaded.sha256) == 64 and loaded.sha256 != digest
    assert_same_weights(loaded.model, model.state_dict())


@pytest.mark.parametrize("factory", [lambda: PatchDenseNet121(), lambda: SingleImageBreastModel(1), lambda: ImageBreastModel(1)])
def test_checkpoint_round_trip_other_kinds(tmp_path, factory):
    model = factory()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, model, architecture="x", variant="y", version="1", demonstration=False)
    assert_same_weights(load(path, optimize=False).model, model.state_dict())


def test_tampered_checkpoint_fails_digest(tmp_path):
    model = ViewWiseModel(1)
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, model, architecture="viewwise-resnet22", variant="image_only", version="1", demonstration=True)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    payload["state_dict"]["fc1_cc.bias"][0] += 1e-3
    torch.save(payload, path)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        load(path)


def test_checkpoint_rejects_optimized_model_and_odd_metadata(tmp_path):
    model = load(shared_path("data", "conformance", "viewwise_image_only.p")).model
    with pytest.raises(ValueError, match="inference-optimized"):
        save_checkpoint(tmp_path / "x.pt", model, architecture="a", variant="b", version="c", demonstration=False)
    with pytest.raises(ValueError, match="metadata extra_metadata.when has a object"):
        save_checkpoint(tmp_path / "y.pt", ViewWiseModel(1), architecture="a", variant="b", version="c",
                        demonstration=False, extra_metadata={"when": object()})
    assert not list(tmp_path.iterdir())


def test_single_image_from_imagewise_file(tmp_path):
    torch.manual_seed(1)
    imagewise = ImageBreastModel(1)
    path = tmp_path / "ImageOnly__ModeImage_weights.p"
    torch.save({"model": imagewise.state_dict()}, path)
    assert load(path, optimize=False).kind == "imagewise"
    with pytest.raises(ValueError, match="needs view="):
        load(path, kind="single_image")
    loaded = load(path, kind="single_image", view="L-MLO", optimize=False)
    assert loaded.kind == "single_image" and loaded.in_channels == 1
    assert loaded.metadata["source_view"] == "L-MLO"
    assert torch.equal(loaded.model.fc1.weight, imagewise.fc1_lmlo.weight)
    assert torch.equal(loaded.model.view_resnet.final_bn.running_var, imagewise.four_view_resnet.mlo.final_bn.running_var)
    with pytest.raises(ValueError, match="view= only applies"):
        load(path, view="L-CC")
    ours = tmp_path / "ours.pt"
    save_checkpoint(ours, imagewise, architecture="imagewise-resnet22", variant="image_only", version="1", demonstration=False)
    assert load(ours, kind="single_image", view="R-CC", optimize=False).kind == "single_image"


def test_classifier_package_exports_load():
    assert classifier.load is load


def test_choose_device_and_autocast():
    assert choose_device("cpu") == torch.device("cpu")
    assert choose_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert choose_device("auto") == choose_device(None)
    with pytest.raises(ValueError, match="unsupported device"):
        choose_device("mps")
    with pytest.raises(ValueError, match="invalid device"):
        choose_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            choose_device("cuda")
    with autocast("cpu", None), autocast("cpu", "fp32"):
        assert torch.ones(1).dtype == torch.float32
    with pytest.raises(ValueError, match="only supported on CUDA"):
        autocast("cpu", "bf16")
    with pytest.raises(ValueError, match="unknown precision"):
        autocast("cpu", "int8")


def test_importing_classifier_is_cheap():
    code = "import sys, classifier; assert 'torch' not in sys.modules, 'classifier imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
