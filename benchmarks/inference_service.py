"""Benchmark of model runs through Celery against direct classifier calls, same exams, same model.

Phantom exams are imported the normal way (DICOM -> ingest) into a private SQLite database and
media folder. Then, alternating, in the same process run:
- direct: for each exam, the bridge builds the classifier exam from the stored pixels and calls
  `classifier.predict.predict` on the model loaded beforehand (what a script calling the
  classifier would do, with nothing around it);
- service: a model run started as a coordinator would (`runs.start_run`), one Celery task per exam
  on the gpu queue, consumed by a real `celery worker` subprocess (solo pool) that writes
  predictions and progress to the database. The worker is warmed up by a first run so that the
  torch import and the model load (once per worker process) are outside the timings, as the
  direct path's model load is. The time is from starting the run to the worker's recorded finish.

Each exam is measured both ways back to back (in alternating order), as a run of its own, so the
service time carries the whole per-run cost (dispatch, pick-up, database writes, closing the run)
for every exam, and a change of load on a shared machine affects both sides alike.

Exams per minute of both and their ratio (service time / direct time) are printed; the target is
at most 1.1. The model defaults to the view-wise network at the published input size with random
weights (the compute of the real model; the values are meaningless); `--weights` takes a real
checkpoint. The broker is Redis when it answers at --redis, else the embedded SQLite broker.

  .venv/bin/python benchmarks/inference_service.py [--exams 6] [--rounds 3] [--size 2048x1664] [--keep]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def redis_answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def parse_size(text: str) -> tuple[int, int]:
    rows, columns = (int(part) for part in text.lower().split("x"))
    return rows, columns


def configure(work: Path, broker: str) -> dict:
    """Environment shared by this process and the worker; set before Django is imported."""
    env = {
        "DJANGO_SETTINGS_MODULE": "readerstudy.settings",
        "VAR_DIR": str(work / "var"),
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker if broker.startswith("redis") else "",
        "DEID_SECRET": "benchmark",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "readerstudy.celery", "worker", "-Q", "gpu", "-P", "solo",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_finished(run, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(0.2)
    raise SystemExit(f"run {run.pk} did not finish within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exams", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=parse_size, default=(2048, 1664), help="phantom rows x columns")
    parser.add_argument("--weights", type=Path, help="a view-wise weights file (default: random weights, published size)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (database, media, worker log)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="inference-bench-"))
    broker = args.redis if redis_answers(args.redis) else f"sqla+sqlite:///{work / 'var' / 'broker.sqlite3'}"
    env = configure(work, broker)

    import django

    django.setup()
    from django.core.management import call_command

    from classifier import weights
    from classifier.predict import predict
    from readerstudy.exams import phantoms
    from readerstudy.exams.ingest import ingest_paths
    from readerstudy.exams.models import Exam
    from readerstudy.predictions import inference, registry, runs

    call_command("migrate", verbosity=0)
    if broker.startswith("redis"):
        import redis

        redis.Redis.from_url(broker).flushdb()
    print(f"work folder {work} ({'kept' if args.keep else 'removed at the end'}); broker {broker.split('://')[0]}; {args.exams} exams of {args.size[0]}x{args.size[1]}")

    phantoms.generate(args.exams + 1, work / "phantoms", size=args.size, seed=2)
    report = ingest_paths([work / "phantoms"])
    assert report.rejected == 0, report.as_dict()
    exams = list(Exam.objects.order_by("label"))
    warmup_exam, exams = exams[0], exams[1:]
    # One run per exam: every measured exam is its own run, timed right beside its direct call.

    weights_path = args.weights
    if weights_path is None:
        import torch

        from classifier.networks import ViewWiseModel

        torch.manual_seed(0)
        weights_path = work / "random-viewwise.ckpt"
        weights.save_checkpoint(weights_path, ViewWiseModel(1), architecture="viewwise-resnet22", variant="image_only",
                                version="benchmark-random", demonstration=True,
                                extra_metadata={"note": "random weights: compute of the real model, meaningless values"})
    version = registry.register_weights(weights_path, name="benchmark")
    options = {"heatmaps": False}
    model = weights.load(weights_path)

    def direct(exam) -> float:
        start = time.perf_counter()
        predict(inference.classifier_exam(exam)[0], model)
        return time.perf_counter() - start

    latencies = []  # from starting a run to the worker beginning its exam: the queue's own cost

    def service(exam) -> float:
        started = time.time()
        run = wait_finished(runs.start_run(version, exam_ids=[exam.pk], description=exam.label, options=options), args.timeout)
        assert run.status == "done", runs.progress(run)
        latencies.append(run.started_at.timestamp() - started)
        return run.finished_at.timestamp() - started

    worker = start_worker(env, work / "worker.log")
    pairs = []  # (direct seconds, service seconds) of one exam, measured back to back
    try:
        wait_finished(runs.start_run(version, exam_ids=[warmup_exam.pk], description="warm-up", options=options), args.timeout)
        direct(warmup_exam)  # warms this process the same way (first-call costs of the kernels)
        for round_number in range(args.rounds):
            for index, exam in enumerate(exams):
                # Alternate which goes first, so a change of load on the machine hits both alike.
                if (round_number + index) % 2:
                    service_s = service(exam)
                    direct_s = direct(exam)
                else:
                    direct_s = direct(exam)
                    service_s = service(exam)
                pairs.append((direct_s, service_s))
            done = pairs[-len(exams):]
            print(f"round {round_number + 1}: direct {sum(d for d, _ in done):.2f} s, "
                  f"through Celery {sum(s for _, s in done):.2f} s for {len(exams)} exams")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if broker.startswith("redis"):
            redis.Redis.from_url(broker).flushdb()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    direct_total = sum(d for d, _ in pairs)
    service_total = sum(s for _, s in pairs)
    print(f"direct classifier calls: {60.0 * len(pairs) / direct_total:.1f} exams/min")
    print(f"through Celery ({broker.split('://')[0]} broker, 1 solo worker, one run per exam): "
          f"{60.0 * len(pairs) / service_total:.1f} exams/min")
    ratio = service_total / direct_total
    median_pair = statistics.median(s / d for d, s in pairs)
    print(f"queue latency (run started -> worker begins the exam): median {1000 * statistics.median(latencies):.0f} ms, "
          f"max {1000 * max(latencies):.0f} ms")
    print(f"overhead ratio (Celery time / direct time): {ratio:.3f}, median over exams {median_pair:.3f}  "
          f"(target <= 1.1: {'met' if ratio <= 1.1 else 'NOT met'})")

if __name__ == "__main__":
    main()
