"""Run the web server and a real Celery worker together in the foreground; Ctrl-C stops both."""
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the app (gunicorn) and a Celery worker (queues default and gpu) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, host, port, web_workers, **options):
        python = sys.executable
        queues = f"default,{settings.CELERY_GPU_QUEUE}"
        commands = {
            "web": [python, "-m", "gunicorn", "readerstudy.wsgi", "--bind", f"{host}:{port}",
                    "--workers", str(web_workers), "--threads", "4", "--timeout", "120", "--preload", "--access-logfile", "-"],
            # Solo pool: one exam at a time, the model loaded once in this one process.
            "worker": [python, "-m", "celery", "-A", "readerstudy.celery", "worker", "-Q", queues, "-P", "solo",
                       "--without-gossip", "--without-mingle", "-l", "INFO"],
        }
        procs = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"Serving on http://{host}:{port}/ with a Celery worker on queues {queues}. Ctrl-C stops both."))

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with status {proc.returncode}; stopping the rest.")
                    exit_code = proc.returncode or 1
                    stopping = True
            time.sleep(0.3)
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.stdout.write("Stopped the web server and the worker.")
        if exit_code:
            sys.exit(exit_code)
