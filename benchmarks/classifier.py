"""CPU timing and memory of the classifier networks: plain eager fp32 versus the optimized path.

View-wise model at full resolution (one exam: CC 2677x1942 x 2, MLO 2974x1748 x 2, batch 1,
random standardised inputs) and the DenseNet-121 patch classifier (256x256 patches). The
baseline is the straightforward module in eval mode under `torch.no_grad()`; the optimized path
is what `classifier.load()` returns (`optimize_for_inference`: BatchNorm folded into the preceding
convolution where exact, channels-last memory format, preallocated DenseNet concatenation) run
under `torch.inference_mode()`. Weights are random with the conformance fixtures' recipe (or
`--weights-dir` with the conformance files). Ratios compare runs of this same process.

Wall time is what counts. The variants are timed in alternating rounds, so that on a shared
machine they see the same neighbours; process CPU time and the load average are printed too.
Peak memory is the process's resident-set high-water mark (VmHWM, reset through
/proc/self/clear_refs before each measurement) minus the resident set just before it: what one
exam or batch adds on top of the loaded model.

    python benchmarks/classifier.py [--patch-batch 100] [--repeats 3] [--ablation] [--threads N]
"""
from __future__ import annotations

import argparse
import copy
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier_gpu import realistic_init  # noqa: E402  (same folder)

from classifier.networks import PatchDenseNet121, ViewWiseModel, patch_probabilities, viewwise_probabilities  # noqa: E402
from classifier.networks.optimize import optimize_for_inference  # noqa: E402
from classifier.weights import load  # noqa: E402

SIZES = {"CC": (2677, 1942), "MLO": (2974, 1748)}
VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
PUBLISHED = {"viewwise": 2.2, "patch": 0.18}  # s per exam, s per patch (conformance README, this machine)


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def measure_interleaved(variants: list[tuple[str, object]], repeats: int) -> dict[str, dict]:
    """Time each variant `repeats` times, alternating variants round by round after one warm-up each.

    Alternating makes every variant see the same neighbours on a shared machine, so the ratios
    hold even when absolute times drift. Returns per variant: wall and CPU seconds per run and the
    peak RSS one run added (MiB, None where the high-water mark cannot be reset).
    """
    for _, run in variants:
        run()
    results = {label: {"wall": [], "cpu": [], "peak": None} for label, _ in variants}
    for _ in range(repeats):
        for label, run in variants:
            gc.collect()
            before = _status_kib("VmRSS")
            resettable = _reset_peak()
            started, cpu_started = time.perf_counter(), time.process_time()
            run()
            results[label]["wall"].append(time.perf_counter() - started)
            results[label]["cpu"].append(time.process_time() - cpu_started)
            peak = _status_kib("VmHWM")
            if resettable and peak is not None and before is not None:
                added = (peak - before) / 1024
                results[label]["peak"] = max(added, results[label]["peak"] or 0.0)
    return results


def report(variants, results, outputs, unit: float, per: str, published: float) -> None:
    base_label = variants[0][0]
    base = results[base_label]
    for label, _ in variants:
        result = results[label]
        wall, cpu = min(result["wall"]) / unit, min(result["cpu"]) / unit
        ratios = [b / v for b, v in zip(base["wall"], result["wall"], strict=False)]
        memory = f", peak RSS +{result['peak']:.0f} MiB" if result["peak"] is not None else ""
        print(f"  {label:<34} {wall:8.3f} s/{per} (best of {len(result['wall'])}; median "
              f"{statistics.median(result['wall']) / unit:.3f}; CPU {cpu:.3f} s){memory}")
        deviation = float((outputs[label] - outputs[base_label]).abs().max())
        print(f"  {'':<34} x{statistics.median(ratios):.2f} vs baseline (median of per-round ratios), "
              f"x{min(base['wall']) / min(result['wall']):.2f} best vs best; x{published / wall:.2f} vs published "
              f"{published} s; max |dp| vs baseline {deviation:.1e}")


def _channels_last_only(model: torch.nn.Module) -> torch.nn.Module:
    for module in model.modules():
        if hasattr(module, "channels_last"):
            module.channels_last = True
    return model.to(memory_format=torch.channels_last)


def viewwise_benchmark(args) -> None:
    if args.weights_dir:
        plain = load(Path(args.weights_dir) / "viewwise_image_only.p", device="cpu", optimize=False).model
    else:
        plain = realistic_init(ViewWiseModel(1), seed=0)
    rng = np.random.default_rng(0)
    exam = {view: torch.from_numpy(rng.standard_normal((1, 1, *SIZES[view[2:]]), dtype=np.float32)) for view in VIEWS}
    outputs = {}
    models = [("baseline: eager fp32, no_grad", plain, torch.no_grad)]
    if args.ablation:
        models += [
            ("inference_mode only", plain, torch.inference_mode),
            ("channels-last only", _channels_last_only(copy.deepcopy(plain)), torch.inference_mode),
            ("folded BN only", optimize_for_inference(copy.deepcopy(plain), channels_last=False), torch.inference_mode),
        ]
    models.append(("optimized (default of load())", optimize_for_inference(copy.deepcopy(plain)), torch.inference_mode))

    def runner(model, mode, label):
        def run():
            with mode():
                outputs[label] = viewwise_probabilities(model(exam))
        return run

    variants = [(label, runner(model, mode, label)) for label, model, mode in models]
    print(f"view-wise image-only model, one exam at full resolution ({args.repeats} interleaved rounds after a warm-up):")
    report(variants, measure_interleaved(variants, args.repeats), outputs, 1.0, "exam", PUBLISHED["viewwise"])


def patch_benchmark(args) -> None:
    if args.weights_dir:
        plain = load(Path(args.weights_dir) / "patch_densenet121.p", device="cpu", optimize=False).model
    else:
        plain = realistic_init(PatchDenseNet121(), seed=2)
    rng = np.random.default_rng(1)
    patches = torch.from_numpy(rng.standard_normal((args.patch_batch, 3, 256, 256), dtype=np.float32))
    outputs = {}
    models = [("baseline: eager fp32, no_grad", plain, torch.no_grad)]
    if args.ablation:
        models.append(("+ folded BN, prealloc, no CL", optimize_for_inference(copy.deepcopy(plain), channels_last=False), torch.inference_mode))
    models.append(("optimized (default of load())", optimize_for_inference(copy.deepcopy(plain)), torch.inference_mode))

    def runner(model, mode, label):
        def run():
            with mode():
                outputs[label] = patch_probabilities(model(patches))
        return run

    variants = [(label, runner(model, mode, label)) for label, model, mode in models]
    print(f"patch classifier, batch of {args.patch_batch} patches ({args.patch_repeats} interleaved round(s) after a warm-up):")
    report(variants, measure_interleaved(variants, args.patch_repeats), outputs, args.patch_batch, "patch", PUBLISHED["patch"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved view-wise rounds (default 3)")
    parser.add_argument("--patch-batch", type=int, default=100, help="patches per batch (default 100, as published)")
    parser.add_argument("--patch-repeats", type=int, default=1, help="interleaved patch rounds (default 1)")
    parser.add_argument("--ablation", action="store_true", help="also time the intermediate variants")
    parser.add_argument("--weights-dir", help="use the conformance weight files in this folder instead of random weights")
    parser.add_argument("--skip-patch", action="store_true")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, 2 on this machine); "
                        "1 thread makes CPU times comparable on a busy machine")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    started = time.perf_counter()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs ({cpu}); "
          f"load average at start {os.getloadavg()[0]:.2f}")
    viewwise_benchmark(args)
    if not args.skip_patch:
        patch_benchmark(args)
    print(f"total wall time {time.perf_counter() - started:.0f} s (load average now {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
