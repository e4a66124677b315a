"""GPU throughput of the classifier networks: one self-contained run for a borrowed GPU.

Needs only torch, numpy and this repository (random weights from the network constructors, no
shared data). Prints the device, view-wise exams per second at full resolution (CC 2677x1942,
MLO 2974x1748; fp32 and bf16 autocast; batch 1 and a larger batch), patch-classifier patches per
second, and the largest deviation of bf16 from fp32 outputs. "fp32" is true fp32 (TF32 off); a
TF32 line shows what the default cuDNN setting would give.

    python benchmarks/classifier_gpu.py            # on the GPU machine, about 1-2 minutes
    python benchmarks/classifier_gpu.py --smoke    # tiny sizes on any device, checks the script runs
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.device import autocast as gpu_autocast  # noqa: E402
from classifier.device import choose_device  # noqa: E402
from classifier.networks import PatchDenseNet121, ViewWiseModel, patch_probabilities, viewwise_probabilities  # noqa: E402
from classifier.networks.optimize import optimize_for_inference  # noqa: E402

FULL_SIZES = {"CC": (2677, 1942), "MLO": (2974, 1748)}
SMOKE_SIZES = {"CC": (160, 120), "MLO": (176, 104)}
VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
# Patches per exam in the published README's exam 0 (MODEL.md section 5), for the "with heatmaps" estimate.
PATCHES_PER_EXAM = 6785


def realistic_init(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """The conformance fixtures' recipe, so activations and outputs have the spread of real ones.

    Kaiming-normal convolutions (fan-out for the ResNet-22 models, fan-in for DenseNet-121), random
    BatchNorm parameters and statistics, and scaled-down output layers (no saturated softmax).
    """
    generator = torch.Generator().manual_seed(seed)
    patch = isinstance(model, PatchDenseNet121)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan = module.kernel_size[0] * module.kernel_size[1] * (module.in_channels if patch else module.out_channels)
                module.weight.normal_(0, (2.0 / fan) ** 0.5, generator=generator)
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
        if patch:
            model.classifier.weight.mul_(0.25)
            model.classifier.bias.zero_()
        else:
            for head in (getattr(model, name, None) for name in ("output_layer_cc", "output_layer_mlo")):
                if head is not None:
                    head.fc_layer.weight.mul_(0.5)
                    head.fc_layer.bias.mul_(0.5)
    return model.eval()


def precision_context(device: torch.device, precision: str):
    if precision == "fp32" or device.type == "cuda":
        return gpu_autocast(device, None if precision in ("fp32", "tf32") else precision)
    # --smoke on a CPU: exercise the bf16 path with CPU autocast (the library refuses it on CPU).
    return torch.autocast("cpu", dtype=torch.bfloat16)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(run, device: torch.device, min_seconds: float, min_iterations: int) -> tuple[float, int]:
    """Seconds per call, averaged over at least min_iterations calls and min_seconds."""
    run()
    synchronize(device)
    iterations, started = 0, time.perf_counter()
    while iterations < min_iterations or time.perf_counter() - started < min_seconds:
        run()
        iterations += 1
    synchronize(device)
    return (time.perf_counter() - started) / iterations, iterations


def set_tf32(enabled: bool) -> None:
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny inputs and one iteration: check that the script runs")
    parser.add_argument("--device", default=None, help="default: cuda when present, else cpu")
    parser.add_argument("--exam-batch", type=int, default=8, help="the larger view-wise batch (exams)")
    parser.add_argument("--patch-batch", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timing window per configuration")
    args = parser.parse_args(argv)

    device = choose_device(args.device)
    sizes = SMOKE_SIZES if args.smoke else FULL_SIZES
    exam_batch = 2 if args.smoke else args.exam_batch
    patch_batch = 4 if args.smoke else args.patch_batch
    patch_size = 64 if args.smoke else 256
    min_seconds, min_iterations = (0.0, 1) if args.smoke else (args.seconds, 3)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {device} ({name}); torch {torch.__version__}; smoke={args.smoke}")
    started = time.perf_counter()

    results: dict[tuple, float] = {}
    deviations: dict[str, float] = {}
    rng = np.random.default_rng(0)
    for channels in (1, 3):
        model = optimize_for_inference(realistic_init(ViewWiseModel(channels), seed=channels)).to(device)
        exams = {
            view: torch.from_numpy(rng.standard_normal((exam_batch, channels, *sizes[view[2:]]), dtype=np.float32)).to(device)
            for view in VIEWS
        }
        for batch in (1, exam_batch) if channels == 1 else (1,):
            inputs = {view: x[:batch].contiguous() for view, x in exams.items()}
            outputs = {}
            for precision in ("fp32", "tf32", "bf16") if device.type == "cuda" else ("fp32", "bf16"):
                set_tf32(precision == "tf32")

                def run(precision=precision, model=model, inputs=inputs, outputs=outputs):  # bound now: timed() calls it in this iteration
                    with torch.inference_mode(), precision_context(device, precision):
                        outputs[precision] = viewwise_probabilities(model(inputs)).float()

                seconds, iterations = timed(run, device, min_seconds, min_iterations)
                results[("viewwise", channels, batch, precision)] = seconds
                memory = ""
                if device.type == "cuda":
                    memory = f", peak {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
                    torch.cuda.reset_peak_memory_stats(device)
                print(f"view-wise {channels}ch batch {batch:2d} {precision}: {batch / seconds:8.2f} exams/s "
                      f"({seconds * 1000 / batch:.1f} ms/exam, {iterations} runs{memory})")
            for precision in outputs:
                if precision != "fp32":
                    deviation = float((outputs[precision] - outputs["fp32"]).abs().max())
                    key = f"view-wise {channels}ch {precision} vs fp32 (probabilities)"
                    deviations[key] = max(deviations.get(key, 0.0), deviation)
        del model, exams

    model = optimize_for_inference(realistic_init(PatchDenseNet121(), seed=7)).to(device)
    patches = torch.from_numpy(rng.standard_normal((patch_batch, 3, patch_size, patch_size), dtype=np.float32)).to(device)
    outputs = {}
    for precision in ("fp32", "tf32", "bf16") if device.type == "cuda" else ("fp32", "bf16"):
        set_tf32(precision == "tf32")

        def run(precision=precision):  # bound now: timed() calls it in this iteration
            with torch.inference_mode(), precision_context(device, precision):
                outputs[precision] = patch_probabilities(model(patches).float())

        seconds, iterations = timed(run, device, min_seconds, min_iterations)
        results[("patch", precision)] = seconds / patch_batch
        print(f"patch classifier batch {patch_batch} {precision}: {patch_batch / seconds:9.1f} patches/s ({iterations} runs)")
    for precision in outputs:
        if precision != "fp32":
            deviations[f"patch {precision} vs fp32 (softmax)"] = float((outputs[precision] - outputs["fp32"]).abs().max())
    set_tf32(False)

    for precision in ("fp32", "bf16"):
        with_heatmaps = results[("viewwise", 3, 1, precision)] + PATCHES_PER_EXAM * results[("patch", precision)]
        print(f"derived, exams/s with heatmaps ({PATCHES_PER_EXAM} patches + 3-channel view-wise, {precision}): "
              f"{1 / with_heatmaps:.3f}; image-only batch 1: {1 / results[('viewwise', 1, 1, precision)]:.2f}")
    for key, value in deviations.items():
        print(f"max abs deviation, {key}: {value:.2e}")
    print(f"total wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
