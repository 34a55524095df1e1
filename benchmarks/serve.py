"""Serving speed: fashion_lit's server against a naive FastAPI endpoint, and LitServe.

The load comes from ``hey`` (a compiled load generator, ``apt-get install hey``; a Python
client would be the bottleneck), posting ``docs/ankle-boot.png`` as the ``file`` part of
a multipart form, with keep-alive. The servers take turns, each started afresh for each
run so that an idle one never competes with the others (baseline, fashion_lit, litserve,
baseline, …):

* ``baseline``: the naive service, a plain one-process FastAPI endpoint that decodes the
  upload with the same function and runs the network once per request, no batching;
* ``fashion_lit``: ``python -m fashion_lit serve`` (options from ``--serve-args``);
* ``litserve``: the same service built on LitServe 0.2.19 (:mod:`serve_litserve`), in its
  best measured settings, to show why fashion_lit does not use it.

Each run warms a server up with ``--warmup`` requests, then sends ``--requests`` at each
concurrency, and notes the CPU time the server's whole process tree spent per request
(a figure that a busy machine disturbs much less than the timings). The tables give the
medians over ``--runs`` runs. A soak then sends ``--soak`` requests to fashion_lit's
server at concurrency ``--soak-concurrency`` and reports the failures and the memory of
the server's process tree (the sum of the RSS of the server and every process under it)
after the warm-up and at the end. Run it from the repository root::

    python benchmarks/serve.py                                   # or: make bench-serve
    python benchmarks/serve.py --runs 1 --requests 1000 --servers baseline fashion_lit
    python benchmarks/serve.py baseline --port 8001              # the baseline alone
    python benchmarks/serve.py startup                           # the start-up time

``startup`` times how long ``serve`` takes from its start until ``/health`` answers
(asked every 50 ms), beside ``python -c "import lightning.pytorch"``, which was about
what every serve process used to spend importing; the two alternate, ``--runs`` times
(5 by default), and the medians are compared.

The weights do not change the timings, so without ``--ckpt_path`` an untrained network
of the tutorial's shape is written to a temporary ``model.pth`` and served.
"""

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import torch
from fastapi import FastAPI, UploadFile

from fashion_lit.checkpoints import load_network
from fashion_lit.data.facts import CLASSES
from fashion_lit.images import decode_image
from fashion_lit.network import NeuralNetwork

HERE = Path(__file__).resolve().parent
IMAGE = HERE.parent / "docs" / "ankle-boot.png"
BOUNDARY = "fashion-lit-benchmark"
SERVERS = ("baseline", "fashion_lit", "litserve")


@dataclass(frozen=True)
class Load:
    """What one batch of requests measured: ``hey``'s figures, and the server's CPU time."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    failed: int
    cpu_ms_per_request: float


def baseline_app(ckpt_path: str) -> FastAPI:
    """The naive service: one process, one forward pass per request, no batching.

    PyTorch gets one thread, as in fashion_lit's server: with its default of one per core
    the baseline would lose time to threads spinning, not to its design.
    """
    torch.set_num_threads(1)
    net = load_network(ckpt_path).net
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(file: UploadFile) -> dict:
        image = decode_image(await file.read(), file.filename or "file")
        with torch.inference_mode():
            probabilities = net(image[None]).softmax(dim=1)[0]
        top = probabilities.topk(3)
        indices = top.indices.tolist()
        return {
            "predictions": [
                {
                    "top3": indices,
                    "top3_names": [CLASSES[i] for i in indices],
                    "top3_probabilities": top.values.tolist(),
                }
            ]
        }

    return app


def multipart_body(path: Path) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"'
        "\r\nContent-Type: image/png\r\n\r\n"
    )
    return head.encode() + path.read_bytes() + f"\r\n--{BOUNDARY}--\r\n".encode()


def hey(url: str, body: Path, requests: int, concurrency: int) -> str:
    """Run ``hey``; its summary."""
    result = subprocess.run(
        ["hey", "-n", str(requests), "-c", str(concurrency), "-m", "POST", "-D", str(body),
         "-T", f"multipart/form-data; boundary={BOUNDARY}", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout


def warm_up(url: str, body: Path, requests: int, concurrency: int) -> None:
    hey(url, body, max(requests, concurrency), concurrency)  # hey sends at least one each


def parse_hey(summary: str) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and the failed requests (other statuses, errors)."""

    def number(pattern: str) -> float:
        found = re.search(pattern, summary)
        if found is None:
            raise RuntimeError(f"hey's summary has no {pattern!r}:\n{summary}")
        return float(found.group(1))

    statuses = re.findall(r"\[(\d+)\]\s+(\d+) responses", summary)
    errors = summary.partition("Error distribution:")[2]
    failed = sum(int(n) for code, n in statuses if code != "200")
    failed += sum(int(n) for n in re.findall(r"\[(\d+)\]\s+(?!\d+ responses)", errors))
    return (
        number(r"Requests/sec:\s+([\d.]+)"),
        1000 * number(r"50% in ([\d.]+) secs"),
        1000 * number(r"99% in ([\d.]+) secs"),
        failed,
    )


def measure_load(pid: int, url: str, body: Path, requests: int, concurrency: int) -> Load:
    cpu_before = tree_cpu_s(pid)
    requests_per_s, p50_ms, p99_ms, failed = parse_hey(hey(url, body, requests, concurrency))
    cpu_ms = 1000 * (tree_cpu_s(pid) - cpu_before) / requests
    return Load(requests_per_s, p50_ms, p99_ms, failed, cpu_ms)


def tree(pid: int) -> list[psutil.Process]:
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def tree_cpu_s(pid: int) -> float:
    """The CPU time (user and system) that a process and its descendants have used."""
    total = 0.0
    for member in tree(pid):
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def tree_rss_mb(pid: int) -> float:
    """The resident memory of a process and all its descendants, in MB."""
    total = 0
    for member in tree(pid):
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(
    command: list[str], port: int, timeout: float = 180, poll_s: float = 0.25
) -> Iterator[int]:
    """Start a server in a process group of its own, wait for ``/health`` (asked every
    ``poll_s``), yield its pid.

    Afterwards every process of the group gets SIGINT, as Ctrl-C in a terminal sends it;
    whatever is left a minute later is killed, so that no server outlives its turn.
    """
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} exited with status {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as ok:
                    if ok.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{' '.join(command)} not ready in {timeout} s") from None
                time.sleep(poll_s)
        yield process.pid
    finally:
        group = tree(process.pid) if process.poll() is None else []
        os.killpg(process.pid, signal.SIGINT)
        for left in psutil.wait_procs(group, timeout=60)[1]:
            left.kill()
        process.wait()


def server_command(name: str, ckpt_path: str, port: int, serve_args: list[str]) -> list[str]:
    options = ["--ckpt_path", ckpt_path, "--port", str(port)]
    if name == "baseline":
        return [sys.executable, str(Path(__file__).resolve()), "baseline", *options]
    if name == "litserve":
        return [sys.executable, str(HERE / "serve_litserve.py"), *options]
    return [sys.executable, "-m", "fashion_lit", "serve", *options, *serve_args]


def measure(args: argparse.Namespace, ckpt_path: str, body: Path) -> dict:
    loads: dict[str, dict[int, list[Load]]] = {
        name: {c: [] for c in args.concurrency} for name in args.servers
    }
    for run in range(1, args.runs + 1):
        for name in args.servers:
            port = free_port()
            url = f"http://127.0.0.1:{port}/predict"
            with running(server_command(name, ckpt_path, port, args.serve_args), port) as pid:
                warm_up(url, body, args.warmup, max(args.concurrency))
                for concurrency in args.concurrency:
                    load = measure_load(pid, url, body, args.requests, concurrency)
                    loads[name][concurrency].append(load)
                    print(f"run {run} {name:<11} c={concurrency:<3} {format_load(load)}")
    results: dict = {
        "medians": {
            name: {c: median_load(runs) for c, runs in by_c.items()} for name, by_c in loads.items()
        }
    }
    if args.soak:
        port = free_port()
        url = f"http://127.0.0.1:{port}/predict"
        command = server_command("fashion_lit", ckpt_path, port, args.serve_args)
        with running(command, port) as pid:
            warm_up(url, body, args.warmup, args.soak_concurrency)
            rss_warm = tree_rss_mb(pid)
            soak = measure_load(pid, url, body, args.soak, args.soak_concurrency)
            rss_end = tree_rss_mb(pid)
        print(f"soak fashion_lit c={args.soak_concurrency} {format_load(soak)}", flush=True)
        results["soak"] = {"load": soak, "rss_mb_after_warmup": rss_warm, "rss_mb_at_end": rss_end}
    return results


def measure_startup(args: argparse.Namespace, ckpt_path: str) -> None:
    """Time, alternately, ``serve`` until ``/health`` answers and the import of Lightning."""
    reference = [sys.executable, "-c", "import lightning.pytorch"]
    serving, importing = [], []
    for run in range(1, args.runs + 1):
        started = time.monotonic()
        subprocess.run(reference, check=True)
        importing.append(time.monotonic() - started)
        port = free_port()
        started = time.monotonic()
        with running(
            server_command("fashion_lit", ckpt_path, port, args.serve_args), port, poll_s=0.05
        ):
            serving.append(time.monotonic() - started)
        print(
            f"run {run}: serve answered /health after {serving[-1]:.2f} s; "
            f"import lightning.pytorch took {importing[-1]:.2f} s"
        )
    serve_s, import_s = statistics.median(serving), statistics.median(importing)
    print(
        f"\nMedians of {args.runs} runs on {platform.machine()}, {os.cpu_count()} CPUs: serve "
        f"answers /health after {serve_s:.2f} s; import lightning.pytorch takes {import_s:.2f} s"
        f" ({serve_s / import_s:.2f}×; serve options: {' '.join(args.serve_args) or 'defaults'})"
    )


def median_load(loads: list[Load]) -> Load:
    return Load(
        requests_per_s=statistics.median(load.requests_per_s for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        failed=sum(load.failed for load in loads),
        cpu_ms_per_request=statistics.median(load.cpu_ms_per_request for load in loads),
    )


def format_load(load: Load) -> str:
    return (
        f"{load.requests_per_s:6.0f} req/s  p50 {load.p50_ms:6.1f} ms  p99 {load.p99_ms:6.1f} ms"
        f"  CPU {load.cpu_ms_per_request:4.2f} ms/request  failed {load.failed}"
    )


def report(args: argparse.Namespace, results: dict) -> None:
    medians = results["medians"]
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
        f"torch {torch.__version__}. fashion_lit serve options: "
        f"{' '.join(args.serve_args) or 'defaults'}."
    )
    print(f"Medians of {args.runs} runs of {args.requests} requests (hey, keep-alive):\n")
    print("| concurrency | server | requests/s | p50 (ms) | p99 (ms) | CPU (ms/request) | failed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for concurrency in args.concurrency:
        for name in args.servers:
            load = medians[name][concurrency]
            print(
                f"| {concurrency} | {name} | {load.requests_per_s:.0f} | {load.p50_ms:.1f} "
                f"| {load.p99_ms:.1f} | {load.cpu_ms_per_request:.2f} | {load.failed} |"
            )
    if "baseline" in medians:
        print()
        for name in (n for n in args.servers if n != "baseline"):
            for concurrency in args.concurrency:
                ours, base = medians[name][concurrency], medians["baseline"][concurrency]
                print(
                    f"{name}, concurrency {concurrency}: "
                    f"{ours.requests_per_s / base.requests_per_s:.2f}× the baseline's requests/s,"
                    f" p50 {ours.p50_ms / base.p50_ms:.2f}×, p99 {ours.p99_ms / base.p99_ms:.2f}×"
                )
    if "soak" in results:
        soak = results["soak"]
        growth = soak["rss_mb_at_end"] / soak["rss_mb_after_warmup"] - 1
        print(
            f"soak: {args.soak} requests at concurrency {args.soak_concurrency}, "
            f"{soak['load'].failed} failed; process tree {soak['rss_mb_after_warmup']:.0f} MB "
            f"after the warm-up, {soak['rss_mb_at_end']:.0f} MB at the end ({growth:+.1%})"
        )
    if args.output:
        Path(args.output).write_text(json.dumps(results, default=asdict, indent=2) + "\n")
        print(f"Wrote {args.output}")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # each run's line as soon as it is measured
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "mode", nargs="?", choices=("compare", "baseline", "startup"), default="compare",
        help="compare the servers (default), run the baseline server alone, or time the "
        "start of serve",
    )  # fmt: skip
    parser.add_argument("--ckpt_path", help="the checkpoint to serve (default: untrained weights)")
    parser.add_argument("--port", type=int, default=8001, help="the baseline's port (baseline)")
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--runs", type=int, help="default: 3 (compare), 5 (startup)")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--soak", type=int, default=10000, help="0 skips the soak")
    parser.add_argument("--soak-concurrency", type=int, default=64)
    parser.add_argument("--serve-args", default="", help="options for fashion_lit serve")
    parser.add_argument("--output", help="also write the results to this JSON file")
    args = parser.parse_args()
    args.serve_args = args.serve_args.split()
    args.runs = args.runs or (5 if args.mode == "startup" else 3)
    if args.mode == "baseline":
        import uvicorn

        uvicorn.run(baseline_app(args.ckpt_path), port=args.port, log_level="warning")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_path = args.ckpt_path
        if ckpt_path is None:
            ckpt_path = str(Path(tmp) / "model.pth")
            torch.save(NeuralNetwork().state_dict(), ckpt_path)
        if args.mode == "startup":
            measure_startup(args, ckpt_path)
            return
        body = Path(tmp) / "body.multipart"
        body.write_bytes(multipart_body(IMAGE))
        report(args, measure(args, ckpt_path, body))


if __name__ == "__main__":
    main()
