"""CLI start-up: shipyard vs DVC vs the interpreter itself, side by side in one run.

Goal (issue "A fast CLI"): ``shipyard --version`` within 0.3 s and ``shipyard audit log``
within 0.6 s (medians). ``python -c pass`` with the same interpreter is the physical limit
of any Python CLI; DVC, installed into its own venv under ``.bench/venvs/dvc``, is the peer.
Commands run round-robin so the noise of a shared machine hits them all alike.

Usage: ``.venv/bin/python benchmarks/cli_startup.py [--repeat N] [--warmup N]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    CommandFailed,
    machine_info,
    markdown_table,
    peer_venv,
    peer_venv_current,
    run,
    summarize,
    time_interleaved,
    venv_bin,
    write_results,
)

NAME = "cli_startup"
ENTRIES = 1_000
DVC_PINNED = ["dvc==3.67.*"]
DVC_FALLBACK = ["dvc>=3,<4"]
GOALS = {"shipyard --version": 0.3, "shipyard audit log": 0.6}
RATIOS = {
    "dvc status / shipyard audit log": ("dvc status", "shipyard audit log"),
    "shipyard --version / python -c pass": ("shipyard --version", "python -c pass"),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per command first")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    return args


def clean_env() -> dict[str, str]:
    """This process's environment without SHIPYARD_* and with DVC's analytics off."""
    for key in [k for k in os.environ if k.startswith("SHIPYARD_")]:
        del os.environ[key]  # so the in-process fill uses the temporary workspace too
    return {**os.environ, "DVC_NO_ANALYTICS": "1"}


def make_workspace(folder: Path, shipyard: Path, env: dict[str, str]) -> int:
    """``shipyard init`` in ``folder``, then ~1,000 audited writes; returns the entry count."""
    folder.mkdir()
    run([shipyard, "init", folder], cwd=folder, env=env)
    import shipyard as sy  # in-process: 1,000 CLI calls would take minutes

    with sy.connect(folder) as ws:
        for i in range(ENTRIES):
            ws.settings.set(f"k{i}", i)
    verdict = json.loads(run([shipyard, "audit", "verify", "--json"], cwd=folder, env=env).stdout)
    if not verdict["ok"] or verdict["entries"] < ENTRIES:
        raise SystemExit(f"unexpected audit trail after the fill: {verdict}")
    return int(verdict["entries"])


def install_dvc() -> tuple[Path, list[str], float, bool]:
    """DVC's venv (pinned, else the newest 3.x): its path, requirements, seconds, reused?"""
    reused = peer_venv_current("dvc", DVC_PINNED)
    started = time.perf_counter()
    try:
        venv, requirements = peer_venv("dvc", DVC_PINNED), DVC_PINNED
    except CommandFailed as exc:
        print(f"[peer] {DVC_PINNED[0]} unavailable ({exc.stderr.strip()[-200:]})")
        print(f"[peer] falling back to {DVC_FALLBACK[0]}")
        reused = peer_venv_current("dvc", DVC_FALLBACK)
        venv, requirements = peer_venv("dvc", DVC_FALLBACK), DVC_FALLBACK
    return venv, requirements, time.perf_counter() - started, reused


def make_dvc_repo(folder: Path, dvc: Path, env: dict[str, str]) -> None:
    """An empty git + DVC repository, with update checks and analytics off locally."""
    folder.mkdir()
    run(["git", "init", "--quiet"], cwd=folder, env=env)
    run([dvc, "init", "--quiet"], cwd=folder, env=env)
    for option in ("core.analytics", "core.check_update"):
        run([dvc, "config", "--local", option, "false"], cwd=folder, env=env)


def build_commands(
    bin_dir: Path, dvc: Path, workspace: Path, repo: Path
) -> tuple[dict[str, list[str]], dict[str, Path]]:
    """Each timed command's argv and working folder, keyed by its label."""
    python, shipyard = str(Path(sys.executable)), str(bin_dir / "shipyard")
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "shipyard --version": [shipyard, "--version"],
        "shipyard --help": [shipyard, "--help"],
        "shipyard audit log": [shipyard, "audit", "log"],
        "shipyard audit verify": [shipyard, "audit", "verify"],
        "dvc --version": [str(dvc), "--version"],
        "dvc status": [str(dvc), "status"],
    }
    folders = {label: (repo if label.startswith("dvc") else workspace) for label in commands}
    return commands, folders


def verdicts(summaries: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """Whether each goal's command met it (by its median)."""
    return {label: summaries[label]["median"] <= goal for label, goal in GOALS.items()}


def table(summaries: dict[str, dict[str, Any]], met: dict[str, bool]) -> str:
    """The markdown table of medians, p90s, goals and verdicts."""
    rows = []
    for label, summary in summaries.items():
        goal = GOALS.get(label)
        verdict = "-" if goal is None else ("met" if met[label] else "MISSED")
        rows.append(
            [
                f"`{label}`",
                f"{summary['median']:.3f}",
                f"{summary['p90']:.3f}",
                "-" if goal is None else f"<= {goal:.1f} s",
                verdict,
            ]
        )
    return markdown_table(rows, ["command", "median s", "p90 s", "goal", "verdict"])


def ratios(summaries: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The ratios of medians measured in this same run."""
    return {
        name: summaries[top]["median"] / summaries[bottom]["median"]
        for name, (top, bottom) in RATIOS.items()
    }


def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Set up both sides in ``root``, time every command and return the results."""
    env = clean_env()
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "shipyard").exists():
        raise SystemExit(f"no shipyard next to {sys.executable}: run with the project's venv")
    venv, requirements, setup_s, reused = install_dvc()
    dvc = venv_bin(venv, "dvc")
    dvc_version = run([dvc, "--version"], env=env).stdout.decode().strip()
    how = "reused" if reused else "installed"
    print(f"DVC used: {dvc_version} ({', '.join(requirements)}), venv {how} in {setup_s:.1f} s")
    entries = make_workspace(root / "workspace", bin_dir / "shipyard", env)
    make_dvc_repo(root / "dvc-repo", dvc, env)
    commands, folders = build_commands(bin_dir, dvc, root / "workspace", root / "dvc-repo")
    print(f"timing {len(commands)} commands: {args.warmup} warm-up + {args.repeat} rounds ...")
    samples = time_interleaved(
        commands, cwd=folders, env=env, repeat=args.repeat, warmup=args.warmup
    )
    summaries = {label: {**summarize(s), "samples": s} for label, s in samples.items()}
    return {
        "benchmark": NAME,
        "machine": machine_info(),
        "repeat": args.repeat,
        "warmup": args.warmup,
        "audit_entries": entries,
        "dvc": {
            "version": dvc_version,
            "requirements": requirements,
            "venv_setup_s": setup_s,
            "venv_reused": reused,
        },
        "commands": summaries,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and ratios, write the JSON; 1 if a goal is missed."""
    args = parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):  # keep our lines in order when piped
        sys.stdout.reconfigure(line_buffering=True)
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        try:
            results = measure(args, Path(tmp))
        except CommandFailed as exc:
            print(f"benchmark aborted, a command failed:\n{exc}", file=sys.stderr)
            return 2
    summaries = results["commands"]
    met = verdicts(summaries)
    results["goals"] = {label: {"max_s": GOALS[label], "met": ok} for label, ok in met.items()}
    results["ratios"] = ratios(summaries)
    print()
    print(table(summaries, met))
    print()
    for name, value in results["ratios"].items():
        print(f"- {name}: {value:.2f}x")
    path = write_results(NAME, results)
    print(f"\nresults: {path}")
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
