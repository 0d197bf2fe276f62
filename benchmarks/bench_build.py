"""Portal export -> dataset + exclusions: the columnar build beside the plain
row-by-row reference (benchmarks/rowwise.py), on the same file, same machine.

    .venv/bin/python benchmarks/bench_build.py                  # 1,000,000 subject records
    .venv/bin/python benchmarks/bench_build.py --subjects 100000

Each build runs as its own process (`campaign-cli build` and `rowwise.py`), so
wall time and peak memory (max RSS) are those a user would see; the outputs
are compared byte for byte. Prints a table; asserts nothing about speed.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent


def run_measured(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed:\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def ensure_export(subjects: int, seed: int) -> Path:
    path = DATA / f"export-{subjects}-{seed}.jsonl.gz"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "campaign_pipeline.sample.generate", "--subjects", str(subjects),
             "--seed", str(seed), "--out", str(path)],
            check=True,
        )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--export", type=Path, help="use this export instead of generating one")
    parser.add_argument("--skip-rowwise", action="store_true", help="only time the columnar build")
    args = parser.parse_args()

    export = args.export or ensure_export(args.subjects, args.seed)
    out = DATA / "out"
    out.mkdir(parents=True, exist_ok=True)
    print(f"export: {export} ({export.stat().st_size / 2**20:.1f} MiB), {os.cpu_count()} CPUs")

    results = {}
    columnar = [str(BIN / "campaign-cli"), "build", "--jobs", str(export),
                "--out", str(out / "columnar.csv"), "--exclusions", str(out / "columnar-exclusions.csv")]
    results["columnar (campaign-cli build)"] = run_measured(columnar)
    if not args.skip_rowwise:
        rowwise = [sys.executable, str(HERE / "rowwise.py"), str(export),
                   "--out", str(out / "rowwise.csv"), "--exclusions", str(out / "rowwise-exclusions.csv")]
        results["row-by-row (benchmarks/rowwise.py)"] = run_measured(rowwise)

    print(f"\n{'implementation':<38}{'seconds':>10}{'peak MiB':>10}")
    for name, (seconds, rss) in results.items():
        print(f"{name:<38}{seconds:>10.2f}{rss:>10.0f}")
    rows = sum(1 for _ in (out / "columnar.csv").open("rb")) - 1
    excluded = sum(1 for _ in (out / "columnar-exclusions.csv").open("rb")) - 1
    print(f"\ndataset rows: {rows:,}   exclusion rows: {excluded:,}")
    if not args.skip_rowwise:
        (columnar_s, _), (rowwise_s, _) = results.values()
        same = all(
            (out / f"columnar{suffix}").read_bytes() == (out / f"rowwise{suffix}").read_bytes()
            for suffix in (".csv", "-exclusions.csv")
        )
        print(f"speed-up: {rowwise_s / columnar_s:.1f}x   identical output: {same}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
