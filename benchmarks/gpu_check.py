"""fashion_lit on a CUDA GPU, in one table: tests, the quickstart, and training speed.

1. the tests marked ``gpu`` (resident data, resume, predict, export and the CUDA-graph
   step, on the GPU);
2. ``T_import``: ``python -c "import torch, lightning.pytorch; torch.zeros(1,
   device='cuda')"``, the floor of any command's start-up;
3. the 5-epoch quickstart as one command, ``fit --test_after_fit true``, with each step
   mode (``--model.step automatic``, ``lean``, ``cuda_graph``): wall time, last validation
   accuracy, test accuracy, and how far each is from ``T_import``;
4. ``benchmarks/speed.py epochs``: the median training epoch of the plain tutorial loop,
   of the floor (a plain loop over the resident tensors) and of each step mode.

Every time is a median of ``--repeats`` runs (3 by default), interleaved. Each part runs
in its own process, so one failure is reported and the others still run. Run it through
``make gpu-check`` (``benchmarks/gpu_check.sh``), which prepares the environment; it
prints the table and writes it as JSON to ``--out``. ``--device cpu`` runs the same
parts, the tests excepted, on the CPU: how the script itself is tested. Options after
``--`` go to every fashion_lit command (e.g. another data set's).
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODES = ("automatic", "lean", "cuda_graph")


def run(command: list[str], log: Path, timeout: int) -> tuple[int, float, str]:
    """Run ``command``; its exit status, wall seconds and output (also written to ``log``)."""
    start = time.perf_counter()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        status, output = result.returncode, result.stdout + result.stderr
    except subprocess.TimeoutExpired as expired:
        status, output = 124, f"timed out after {timeout} s\n{expired.stdout or ''}"
    seconds = time.perf_counter() - start
    with log.open("a") as file:
        file.write(f"$ {' '.join(command)}\n{output}\n")
    return status, seconds, output


def gpu_tests(out: Path) -> dict:
    status, seconds, output = run(
        # The file alone: collecting every test would import what gpu-check does not
        # need (FastAPI, Optuna), which a GPU image may lack.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_gpu.py"],
        out / "gpu_tests.log",
        timeout=180,
    )
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return {"status": status, "seconds": round(seconds, 1), "summary": (summary or ["?"])[-1]}


def import_seconds(out: Path, device: str, repeats: int) -> dict:
    """``T_import``: the median seconds of a process that imports torch and Lightning and
    puts a tensor on the device."""
    code = f"import torch, lightning.pytorch; torch.zeros(1, device={device!r})"
    runs = [run([sys.executable, "-c", code], out / "import.log", 120) for _ in range(repeats)]
    seconds = [s for _, s, _ in runs]
    status = max(status for status, _, _ in runs)
    return {"status": status, "median_s": round(statistics.median(seconds), 2), "runs_s": seconds}


def quickstart(args: argparse.Namespace, mode: str, attempt: int) -> dict:
    """One ``fit --test_after_fit true`` of the quickstart with ``--model.step mode``."""
    runs = args.out / "runs" / f"{mode}-{attempt}"
    command = [
        sys.executable,
        "-m",
        "fashion_lit",
        "fit",
        f"--config={REPO / 'configs' / 'quickstart.yaml'}",
        "--test_after_fit=true",
        f"--data.data_dir={args.data_dir}",
        f"--trainer.accelerator={args.device}",
        f"--trainer.logger.init_args.save_dir={runs}",
        f"--model.step={mode}",
        *args.fashion_lit_options,
    ]
    status, seconds, _ = run(command, args.out / f"quickstart_{mode}.log", timeout=300)
    result: dict = {"status": status, "seconds": seconds}
    folder = runs / "lightning_logs" / "version_0"
    if (folder / "test-results.json").is_file():
        result["test_acc"] = json.loads((folder / "test-results.json").read_text())["test/acc"]
    last = folder / "checkpoints" / "last.ckpt"
    if last.is_file():
        from fashion_lit.checkpoints import read

        result["last_val_acc"] = read(last).val_acc
    return result


def quickstarts(args: argparse.Namespace, t_import: float) -> dict:
    """Each mode's quickstart, ``--repeats`` times, interleaved: medians."""
    attempts: dict[str, list[dict]] = {mode: [] for mode in args.modes}
    for attempt in range(args.repeats):
        for mode in args.modes:
            attempts[mode].append(quickstart(args, mode, attempt))
    summary = {}
    for mode, results in attempts.items():
        seconds = statistics.median(r["seconds"] for r in results)
        summary[mode] = {
            "status": max(r["status"] for r in results),
            "median_s": round(seconds, 2),
            "over_import_s": round(seconds - t_import, 2),
            "runs_s": [round(r["seconds"], 2) for r in results],
            "test_acc": results[0].get("test_acc"),
            "last_val_acc": results[0].get("last_val_acc"),
        }
    return summary


def speed(args: argparse.Namespace) -> dict:
    """``speed.py epochs``: the tutorial loop, the floor and each mode, interleaved."""
    extra = " ".join(args.fashion_lit_options)
    variants = [f"--variant={mode}=--model.step={mode} {extra}".rstrip() for mode in args.modes]
    command = [sys.executable, str(HERE / "speed.py"), "epochs", f"--accelerator={args.device}"]
    command += [f"--data-dir={args.data_dir}", f"--epochs={args.epochs}"]
    command += [f"--repeats={args.repeats}", *variants]
    status, _, output = run(command, args.out / "speed.log", timeout=600)
    results = [line for line in output.splitlines() if line.startswith('{"mode"')]
    sides = json.loads(results[-1])["sides"] if status == 0 and results else {}
    return {
        "status": status,
        "epoch_median_s": {name: side["epoch_median_s"] for name, side in sides.items()},
        "floor_ratio": {name: side["floor_ratio"] for name, side in sides.items()},
    }


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Options after -- go to every fashion_lit command.",
    )
    parser.add_argument("--out", type=Path, default=Path("lightning_logs/gpu-check"))
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per speed run (2)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timed side (3)")
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES), help="step modes to run"
    )
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.fashion_lit_options = argv[split + 1 :]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("No CUDA GPU is visible: gpu-check needs one.")
    args.out.mkdir(parents=True, exist_ok=True)
    t_import = import_seconds(args.out, args.device, args.repeats)
    report = {
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "CPU",
        "versions": versions(),
        "repeats": args.repeats,
        "gpu_tests": gpu_tests(args.out) if args.device == "cuda" else None,
        "import": t_import,
        "quickstart": quickstarts(args, t_import["median_s"]),
        "speed": speed(args),
    }
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    statuses = [report["import"]["status"], report["speed"]["status"]]
    statuses += [result["status"] for result in report["quickstart"].values()]
    if report["gpu_tests"] is not None:
        statuses.append(report["gpu_tests"]["status"])
    sys.exit(1 if any(statuses) else 0)


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
    t_import = report["import"]["median_s"]
    lines = [f"Device: {report['device']} ({report['versions']})"]
    if report["gpu_tests"] is not None:
        tests = report["gpu_tests"]
        lines.append(f"gpu tests: {tests['summary']} ({tests['seconds']} s)")
    lines += [
        f"T_import (import torch, lightning.pytorch; a tensor on the device): {t_import} s, "
        f"median of {report['repeats']}",
        "",
        "| quickstart, `fit --test_after_fit true` (5 epochs) | one command, median "
        "| − T_import | last val/acc | test/acc |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mode, result in report["quickstart"].items():
        failed = f" (failed, status {result['status']})" if result["status"] else ""
        lines.append(
            f"| --model.step {mode}{failed} | {result['median_s']} s | "
            f"{result['over_import_s']} s | {result['last_val_acc']} | {result['test_acc']} |"
        )
    lines += ["", "training epoch, median (validation excluded); ratio to the floor:"]
    speed_result = report["speed"]
    for name, seconds in speed_result["epoch_median_s"].items():
        lines.append(f"  {name}: {seconds:.3f} s ({speed_result['floor_ratio'][name]:.2f}×)")
    if speed_result["status"]:
        lines.append(f"  speed.py failed (status {speed_result['status']}): see speed.log")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
