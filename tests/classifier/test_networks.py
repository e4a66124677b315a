"""Network-level conformance with the published implementation, sizes and parameter counts.

Fixtures: ../shared/data/conformance (random weights in the published layouts, random inputs and
the published implementation's outputs). Tolerances are those of its README.
"""
import json

import numpy as np
import pytest
import torch

from classifier.networks import (
    ImageBreastModel,
    PatchDenseNet121,
    ResNet22,
    SingleImageBreastModel,
    ViewWiseModel,
    patch_probabilities,
    single_image_state_dict,
    viewwise_probabilities,
)
from classifier.networks.densenet121 import same_padding
from classifier.networks.optimize import optimize_for_inference
from classifier.weights import load
from tests.shared_data import shared_path

PROBABILITY_TOLERANCE = 1e-5
DIAGNOSTIC_TOLERANCE = 1e-4
LABELS = ("left_benign", "right_benign", "left_malignant", "right_malignant")


@pytest.fixture(scope="module")
def conformance():
    return shared_path("data", "conformance")


@pytest.fixture(scope="module")
def expected(conformance):
    return json.loads((conformance / "expected_network.json").read_text())


@pytest.fixture(scope="module")
def inputs(conformance):
    with np.load(conformance / "network_inputs.npz") as npz:
        return {key: torch.from_numpy(npz[key].astype(np.float32)) for key in npz.files}


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("optimize", [False, True], ids=["plain", "optimized"])
@pytest.mark.parametrize("name", ["viewwise_image_only", "viewwise_image_heatmaps"])
def test_viewwise_matches_published_outputs(conformance, expected, inputs, name, optimize):
    case = expected["models"][name]
    loaded = load(conformance / case["weights"], device="cpu", optimize=optimize)
    assert loaded.kind == "viewwise"
    assert loaded.in_channels == (1 if name.endswith("only") else 3)
    views = {view: inputs[key] for view, key in case["inputs"].items()}
    with torch.inference_mode():
        outputs = loaded.model(views)
        features = {view: loaded.model.view_features(view, x) for view, x in views.items()}
    for head in ("CC", "MLO"):
        assert outputs[head].shape == (1, 4, 2)
        np.testing.assert_allclose(
            outputs[head][0].exp().numpy(), np.exp(np.array(case["log_probs"][head])), rtol=0, atol=PROBABILITY_TOLERANCE
        )
    predictions = viewwise_probabilities(outputs)[0].numpy()
    np.testing.assert_allclose(
        predictions, [case["predictions"][label] for label in LABELS], rtol=0, atol=PROBABILITY_TOLERANCE
    )
    for view, values in case["pooled_features"].items():
        np.testing.assert_allclose(features[view][0].numpy(), values, rtol=0, atol=DIAGNOSTIC_TOLERANCE)


@pytest.mark.parametrize("optimize", [False, True], ids=["plain", "optimized"])
def test_patch_classifier_matches_published_outputs(conformance, expected, inputs, optimize):
    case = expected["models"]["patch_densenet121"]
    loaded = load(conformance / case["weights"], device="cpu", optimize=optimize)
    assert loaded.kind == "patch" and loaded.in_channels is None
    with torch.inference_mode():
        logits = loaded.model(inputs[case["input"]])
    np.testing.assert_allclose(logits.numpy(), case["logits"], rtol=0, atol=DIAGNOSTIC_TOLERANCE)
    np.testing.assert_allclose(
        patch_probabilities(logits).numpy(), case["softmax"], rtol=0, atol=PROBABILITY_TOLERANCE
    )


def test_mirrored_inputs_change_outputs(conformance, expected, inputs):
    """Guards against a conformance pass by an input-insensitive model (README sensitivity check)."""
    case = expected["models"]["viewwise_image_only"]
    loaded = load(conformance / case["weights"], device="cpu")
    views = {view: inputs[key].flip(-1) for view, key in case["inputs"].items()}
    with torch.inference_mode():
        predictions = viewwise_probabilities(loaded.model(views))[0].numpy()
    reference = np.array([case["predictions"][label] for label in LABELS])
    assert np.abs(predictions - reference).max() > 1e-3


@pytest.mark.parametrize(
    "factory, trainable_count, keys",
    [
        (lambda: ResNet22(1), 2_799_536, 131),
        (lambda: ResNet22(3), 2_801_104, 131),
        (lambda: ViewWiseModel(1), 6_132_592, 794),
        (lambda: ViewWiseModel(3), 6_135_728, 794),
        (lambda: ImageBreastModel(1), 5_870_464, 802),
        (lambda: ImageBreastModel(3), 5_873_600, 802),
        (lambda: SingleImageBreastModel(1), 2_866_356, 135),
        (lambda: SingleImageBreastModel(3), 2_867_924, 135),
        (lambda: PatchDenseNet121(), 6_957_956, 727),
    ],
    ids=["trunk1", "trunk3", "viewwise1", "viewwise3", "imagewise1", "imagewise3", "single1", "single3", "patch"],
)
def test_parameter_counts(factory, trainable_count, keys):
    model = factory()
    assert trainable(model) == trainable_count
    assert len(model.state_dict()) == keys


def test_viewwise_floating_state_elements():
    state = ViewWiseModel(1).state_dict()
    assert sum(v.numel() for v in state.values() if v.is_floating_point()) == 17_354_736


def test_viewwise_state_keys_have_published_layout():
    keys = list(ViewWiseModel(1).state_dict())
    prefixes = {key.split(".")[1] for key in keys if key.startswith("four_view_resnet.")}
    assert prefixes == {"cc", "mlo", "l_cc", "r_cc", "l_mlo", "r_mlo"}
    trunk_keys = {key[len("four_view_resnet.cc."):] for key in keys if key.startswith("four_view_resnet.cc.")}
    assert len(trunk_keys) == 131
    assert {"first_conv.weight", "layer_list.0.0.downsample.0.weight", "layer_list.4.1.bn2.running_var",
            "final_bn.num_batches_tracked"} <= trunk_keys
    assert "layer_list.0.1.downsample.0.weight" not in trunk_keys
    heads = sorted(key for key in keys if not key.startswith("four_view_resnet."))
    assert heads == sorted(
        [f"fc1_{angle}.{part}" for angle in ("cc", "mlo") for part in ("weight", "bias")]
        + [f"output_layer_{angle}.fc_layer.{part}" for angle in ("cc", "mlo") for part in ("weight", "bias")]
    )


def test_alias_trunks_share_modules():
    model = ViewWiseModel(1)
    resnet = model.four_view_resnet
    assert resnet.l_cc is resnet.cc and resnet.r_cc is resnet.cc
    assert resnet.l_mlo is resnet.mlo and resnet.r_mlo is resnet.mlo
    assert resnet.cc is not resnet.mlo
    state = model.state_dict()
    assert state["four_view_resnet.l_cc.first_conv.weight"].data_ptr() == state["four_view_resnet.cc.first_conv.weight"].data_ptr()


def _stage_shapes(model, x):
    shapes = []
    hooks = [model.first_conv.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))),
             model.first_pool.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))]
    hooks += [stage.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for stage in model.layer_list]
    model(x)
    for hook in hooks:
        hook.remove()
    return shapes


@pytest.mark.parametrize(
    "size, expected_shapes",
    [
        ((2677, 1942), [(16, 1336, 968), (16, 667, 483), (16, 667, 483), (32, 334, 242), (64, 167, 121), (128, 84, 61), (256, 42, 31)]),
        ((2974, 1748), [(16, 1484, 871), (16, 741, 435), (16, 741, 435), (32, 371, 218), (64, 186, 109), (128, 93, 55), (256, 47, 28)]),
    ],
    ids=["CC", "MLO"],
)
def test_trunk_feature_map_sizes(size, expected_shapes):
    with torch.device("meta"):
        model = ResNet22(1)
        x = torch.empty(1, 1, *size)
    assert _stage_shapes(model, x) == expected_shapes


def test_patch_feature_map_size():
    with torch.device("meta"):
        model = PatchDenseNet121()
        features = model.features(torch.empty(2, 3, 256, 256))
        logits = model(torch.empty(2, 3, 256, 256))
    assert tuple(features.shape) == (2, 1024, 8, 8)
    assert tuple(logits.shape) == (2, 4)


@pytest.mark.parametrize(
    "size, kernel, stride, expected",
    [(256, 7, 2, (2, 3)), (128, 3, 2, (0, 1)), (64, 3, 1, (1, 1)), (64, 1, 1, (0, 0)), (255, 7, 2, (3, 3)), (127, 3, 2, (1, 1))],
)
def test_tf_same_padding(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected


def test_patch_classifier_pads_like_tensorflow():
    """Outputs of conv0 depend on the asymmetric pad: compare against an explicit padded convolution."""
    torch.manual_seed(0)
    model = PatchDenseNet121().eval()
    x = torch.randn(1, 3, 32, 32)
    conv0 = model.features.conv0
    reference = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (2, 3, 2, 3)), conv0.weight, stride=2)
    with torch.inference_mode():
        np.testing.assert_allclose(conv0(x).numpy(), reference.numpy(), atol=1e-5)
        symmetric = torch.nn.functional.conv2d(x, conv0.weight, stride=2, padding=3)
    assert symmetric.shape == reference.shape and not torch.allclose(symmetric, reference)


def test_single_image_model_follows_modeimage_loading_rules():
    torch.manual_seed(0)
    imagewise = ImageBreastModel(1).eval()
    single = SingleImageBreastModel(1).eval()
    single.load_state_dict(single_image_state_dict(imagewise.state_dict(), "R-MLO"), strict=True)
    assert torch.equal(single.view_resnet.first_conv.weight, imagewise.four_view_resnet.mlo.first_conv.weight)
    assert torch.equal(single.output_layer.fc_layer.weight, imagewise.output_layer_rmlo.fc_layer.weight[:4])
    x = torch.randn(2, 1, 96, 64)
    with torch.inference_mode():
        expected = imagewise.view_output("R-MLO", x)[:, :2, :]
        actual = single(x)
    assert actual.shape == (2, 2, 2)
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), atol=1e-6)


def test_single_image_state_rejects_short_output_layer():
    state = ImageBreastModel(1).state_dict()
    state["output_layer_lcc.fc_layer.weight"] = state["output_layer_lcc.fc_layer.weight"][:3]
    with pytest.raises(ValueError, match="at least 4"):
        single_image_state_dict(state, "L-CC")


def test_imagewise_forward_shapes():
    model = ImageBreastModel(3).eval()
    views = {"L-CC": torch.randn(1, 3, 64, 48), "R-CC": torch.randn(1, 3, 64, 48),
             "L-MLO": torch.randn(1, 3, 72, 40), "R-MLO": torch.randn(1, 3, 72, 40)}
    with torch.inference_mode():
        outputs = model(views)
    assert set(outputs) == set(views)
    assert all(out.shape == (1, 4, 2) for out in outputs.values())
    assert all(torch.allclose(out.exp().sum(-1), torch.ones(1, 4)) for out in outputs.values())


def test_viewwise_rejects_missing_view_and_wrong_channels():
    model = ViewWiseModel(1).eval()
    with pytest.raises(ValueError, match="missing"):
        model({"L-CC": torch.zeros(1, 1, 64, 64)})
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        model.view_features("L-CC", torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="unknown view"):
        model.view_features("CC", torch.zeros(1, 1, 64, 64))


def test_optimized_model_matches_plain_model_on_random_weights():
    torch.manual_seed(3)
    model = ViewWiseModel(3).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
            torch.nn.init.normal_(module.bias, 0, 0.1)
            torch.nn.init.normal_(module.running_mean, 0, 0.1)
            torch.nn.init.uniform_(module.running_var, 0.5, 1.5)
    views = {"L-CC": torch.randn(2, 3, 128, 96), "R-CC": torch.randn(2, 3, 128, 96),
             "L-MLO": torch.randn(2, 3, 140, 88), "R-MLO": torch.randn(2, 3, 140, 88)}
    with torch.inference_mode():
        plain = viewwise_probabilities(model(views))
        optimized = optimize_for_inference(model)
        assert optimized.inference_optimized
        fast = viewwise_probabilities(optimized(views))
    np.testing.assert_allclose(fast.numpy(), plain.numpy(), atol=1e-6)


def test_optimized_viewwise_handles_views_of_different_sizes():
    torch.manual_seed(4)
    model = ViewWiseModel(1).eval()
    views = {"L-CC": torch.randn(1, 1, 128, 96), "R-CC": torch.randn(1, 1, 120, 100),
             "L-MLO": torch.randn(1, 1, 140, 88), "R-MLO": torch.randn(1, 1, 140, 88)}
    with torch.inference_mode():
        plain = viewwise_probabilities(model(views))
        fast = viewwise_probabilities(optimize_for_inference(model)(views))
    np.testing.assert_allclose(fast.numpy(), plain.numpy(), atol=1e-6)


@pytest.mark.slow
def test_gpu_benchmark_script_smoke_run(capsys):
    """benchmarks/classifier_gpu.py is run once on a borrowed GPU: prove here that it runs."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "classifier_gpu.py"
    spec = importlib.util.spec_from_file_location("classifier_gpu_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--smoke", "--device", "cpu"]) == 0
    output = capsys.readouterr().out
    assert "view-wise 1ch batch  2 bf16" in output and "patches/s" in output
    assert "max abs deviation, patch bf16 vs fp32" in output
