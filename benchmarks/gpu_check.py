"""fashion_lit on a CUDA GPU, in one table: tests, the quickstart, and training speed.

1. the tests marked ``gpu`` (resident data, resume, predict, export and the CUDA-graph
   step, on the GPU);
2. the quickstart, ``fit`` then ``test --ckpt_path best``, as whole processes, with the
   eager step and with ``--model.cuda_graph true``: wall time, last validation accuracy,
   test accuracy;
3. ``benchmarks/speed.py epochs``: the median training epoch of the plain tutorial loop,
   of fashion_lit's eager step and of its CUDA-graph step, on the same GPU.

Each part runs in its own process, so one failure is reported and the others still run.
Run it through ``make gpu-check`` (``benchmarks/gpu_check.sh``), which prepares the
environment; it prints the table and writes it as JSON to ``--out``.
"""

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
VARIANTS = {"eager": [], "cuda_graph": ["--model.cuda_graph=true"]}


def run(command: list[str], log: Path, timeout: int) -> tuple[int, float, str]:
    """Run ``command``; its exit status, wall seconds and output (also written to ``log``)."""
    start = time.perf_counter()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        status, output = result.returncode, result.stdout + result.stderr
    except subprocess.TimeoutExpired as expired:
        status, output = 124, f"timed out after {timeout} s\n{expired.stdout or ''}"
    seconds = time.perf_counter() - start
    log.write_text(output)
    return status, seconds, output


def gpu_tests(out: Path) -> dict:
    status, seconds, output = run(
        [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"],
        out / "gpu_tests.log",
        timeout=180,
    )
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return {"status": status, "seconds": round(seconds, 1), "summary": (summary or ["?"])[-1]}


def quickstart(out: Path, variant: str, options: list[str]) -> dict:
    runs = out / "runs" / variant
    common = [
        "--config=configs/quickstart.yaml",
        "--trainer.accelerator=cuda",
        "--trainer.enable_progress_bar=false",
        f"--trainer.logger.init_args.save_dir={runs}",
        *options,
    ]
    cli = [sys.executable, "-m", "fashion_lit"]
    fit_status, fit_s, _ = run([*cli, "fit", *common], out / f"fit_{variant}.log", timeout=180)
    test_status, test_s, test_output = run(
        [*cli, "test", *common, "--ckpt_path=best"], out / f"test_{variant}.log", timeout=120
    )
    result = {
        "status": fit_status or test_status,
        "fit_s": round(fit_s, 1),
        "fit_test_s": round(fit_s + test_s, 1),
    }
    last = runs / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    if last.is_file():
        from fashion_lit.checkpoints import read

        result["last_val_acc"] = read(last).val_acc
    found = re.search(r"test/acc\s*[│|]?\s*([0-9.]+)", test_output)
    result["test_acc"] = float(found.group(1)) if found else None
    return result


def speed(out: Path, epochs: int, repeats: int) -> dict:
    """``speed.py epochs`` on the GPU: the tutorial loop and each variant, interleaved."""
    variants = [f"--variant={name}={' '.join(opts)}" for name, opts in VARIANTS.items()]
    command = [sys.executable, str(HERE / "speed.py"), "epochs", "--accelerator=cuda"]
    status, _, output = run(
        [*command, f"--epochs={epochs}", f"--repeats={repeats}", *variants],
        out / "speed.log",
        timeout=240,
    )
    results = [line for line in output.splitlines() if line.startswith('{"mode"')]
    sides = json.loads(results[-1])["sides"] if status == 0 and results else {}
    return {"status": status, "epoch_median_s": {k: v["epoch_median_s"] for k, v in sides.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("lightning_logs/gpu-check"))
    parser.add_argument("--epochs", type=int, default=2, help="epochs per speed run")
    parser.add_argument("--repeats", type=int, default=2, help="speed runs of each side")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("No CUDA GPU is visible: gpu-check needs one.")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "device": torch.cuda.get_device_name(),
        "versions": versions(),
        "gpu_tests": gpu_tests(args.out),
        "quickstart": {name: quickstart(args.out, name, opts) for name, opts in VARIANTS.items()},
        "speed": speed(args.out, args.epochs, args.repeats),
    }
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    failed = report["gpu_tests"]["status"] or report["speed"]["status"]
    failed = failed or any(r["status"] for r in report["quickstart"].values())
    sys.exit(1 if failed else 0)


def versions() -> str:
    """The versions of Python and of every package fashion_lit depends on, as installed."""
    from importlib.metadata import PackageNotFoundError, version

    packages = (
        "torch torchvision lightning torchmetrics tensorboard jsonargparse matplotlib "
        "numpy pillow filelock tqdm pyyaml"
    ).split()
    found = []
    for package in packages:
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} missing")
    return f"python {sys.version.split()[0]}, " + ", ".join(found)


def table(report: dict) -> str:
    lines = [
        f"GPU: {report['device']} ({report['versions']})",
        f"gpu tests: {report['gpu_tests']['summary']} ({report['gpu_tests']['seconds']} s)",
        "",
        "| quickstart (5 epochs) | fit + test, whole processes | last val/acc | test/acc |",
        "| --- | --- | --- | --- |",
    ]
    for name, result in report["quickstart"].items():
        lines.append(
            f"| {name} | {result['fit_test_s']} s (fit {result['fit_s']} s) | "
            f"{result.get('last_val_acc')} | {result.get('test_acc')} |"
        )
    lines += ["", "training epoch, median (validation excluded):"]
    speed_result = report["speed"]
    for name, seconds in speed_result.get("epoch_median_s", {}).items():
        lines.append(f"  {name}: {seconds} s")
    if speed_result["status"]:
        lines.append(f"  speed.py failed (status {speed_result['status']}): see speed.log")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
