"""Data versioning: shipyard vs DVC vs the disk itself, side by side in one run.

Goals (issue "Fast data versioning"), on medians measured in this same run:

1. ``data add`` of one 1 GiB file within 1.2x the physical limit (the slower of ``b3sum``
   and ``cp`` of the same bytes, warm), 5x faster than ``dvc add``, peak RSS under 200 MB;
2. ``data add`` of 20,000 small files (~200 MB) 5x faster than ``dvc add``;
3. re-add after appending to one of them: under 0.5 s and 15x faster than ``dvc add``;
4. ``data status`` with nothing changed: under 0.5 s and 15x faster than ``dvc status``;
5. ``data checkout`` of the 20,000 files into an empty folder 3x faster than ``dvc checkout``.

Inputs are generated once per run from fixed seeds under ``.bench/data_vs_dvc/`` (removed
at the end unless ``--keep``). Each tool gets its own copy, read once so both start warm
(nothing is dropped from the page cache), and a fresh workspace or repository where it
matters; dirty pages are synced before every timed command. DVC 3.67 runs from its own
venv under ``.bench/venvs/dvc`` with its default cache link type.

Scenarios 1, 3 and 4 measure shipyard twice, side by side in the same rounds, and check
both against the goals (table lines ``cold CLI: ...`` beside ``agent: ...``): the cold
CLI ("shipyard": each command its own process, run with ``SHIPYARD_NO_AGENT=1`` so no
agent can ever serve it) and "shipyard (agent)": the same command line while the
workspace agent runs, which the command hands itself to over a Unix socket. The agent
is started (``shipyard agent start``, untimed) before the timed commands, as git's
fsmonitor daemon would be: in scenario 1 on each round's fresh workspace, its peak
memory read from its ``VmHWM`` before it is stopped; for scenarios 3 and 4 on a
workspace of its own, holding its own copy of the folder, added untimed and shown to
the agent by one untimed ``data status``. Every agent is stopped when its scenario
ends, also when the run fails or is interrupted; a command the agent did not serve (it
ran cold) voids the run.

``--bytecode`` byte-compiles shipyard's sources for the run, as installing the package
does (DVC's venv has its bytecode; with ``PYTHONDONTWRITEBYTECODE`` set, an editable
install recompiles every module it imports on every command).

Usage: ``.venv/bin/python benchmarks/data_vs_dvc.py [--repeat N] [--big-repeat N]
[--heavy-repeat N] [--skip-big] [--bytecode] [--keep]`` (``--skip-big`` runs
scenarios 2-5 only).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from _common import (
    BENCH_DIR,
    REPO,
    CommandFailed,
    machine_info,
    peer_venv,
    peer_venv_current,
    run,
    run_timed,
    summarize,
    time_interleaved,
    venv_bin,
    write_results,
)
from _scenarios import Check, Scenario, report

NAME = "data_vs_dvc"
ROOT = BENCH_DIR / NAME
DVC_REQUIREMENTS = ["dvc==3.67.*"]
B3SUM = Path("/usr/bin/b3sum")
GNU_TIME = Path("/usr/bin/time")
MIB = 2**20
CHUNK = 64 * MIB
NEED_FREE_BYTES = 6 * 10**9
MAX_RSS_MB = 200.0  # decimal megabytes
AGENT = "shipyard (agent)"  # the label of the variant served by the workspace agent
NO_AGENT = "SHIPYARD_NO_AGENT"  # set: the command never hands itself to an agent
AGENT_IDLE_MINUTES = 30  # a backstop: an agent left by a killed run leaves on its own

Argv = Sequence[str | os.PathLike[str]]


class Broken(RuntimeError):
    """A command under test succeeded but did not do what it claims: the run is void."""


@dataclass(frozen=True)
class Tools:
    """The programs under test and the environment they run in."""

    shipyard: Path
    dvc: Path
    env: dict[str, str]  # no SHIPYARD_* variable: shipyard commands use a running agent

    @property
    def cold(self) -> dict[str, str]:
        """The environment of the cold shipyard CLI: an agent never serves it."""
        return {**self.env, NO_AGENT: "1"}

    def sy(self, home: Path, *args: str | os.PathLike[str]) -> list[str]:
        """A shipyard command line against the workspace ``home``."""
        return [str(self.shipyard), "--home", str(home), *(os.fspath(a) for a in args)]

    def dv(self, *args: str | os.PathLike[str]) -> list[str]:
        """A DVC command line."""
        return [str(self.dvc), *(os.fspath(a) for a in args)]


@dataclass(frozen=True)
class Inputs:
    """The generated data: one big file and a folder of small ones."""

    big: Path
    big_bytes: int
    small: Path
    small_files: int
    small_bytes: int
    edited: str  # the small file the re-add scenario appends to


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--repeat", type=int, default=5, help="rounds of status and of re-add")
    add("--big-repeat", type=int, default=3, help="rounds of the 1 GiB add and its limit")
    add("--heavy-repeat", type=int, default=2, help="rounds of the 20,000-file add, checkout")
    add("--big-mib", type=int, default=1024, help="size of the big file (MiB)")
    add("--folders", type=int, default=100, help="folders of small files")
    add("--per-folder", type=int, default=200, help="small files per folder")
    add("--skip-big", action="store_true", help="skip scenario 1: run scenarios 2-5 only")
    add("--bytecode", action="store_true", help="byte-compile shipyard for the run")
    add("--keep", action="store_true", help=f"keep {ROOT} afterwards")
    args = parser.parse_args(argv)
    counts = (args.repeat, args.big_repeat, args.heavy_repeat, args.big_mib, args.folders)
    if min(*counts, args.per_folder) < 1:
        parser.error("every count and size must be at least 1")
    return args


# --- set-up -------------------------------------------------------------------------------


def require_program(path: Path, package: str) -> None:
    """Install the Debian ``package`` providing ``path`` if it is missing, or stop."""
    if path.exists():
        return
    print(f"[setup] {path} is missing: running `apt-get install -y {package}` ...")
    try:
        result = subprocess.run(["apt-get", "install", "-y", package], capture_output=True)
    except OSError as exc:
        raise SystemExit(f"cannot run apt-get ({exc}); install {package} by hand") from exc
    if result.returncode != 0 or not path.exists():
        tail = result.stderr.decode(errors="replace").strip()[-400:]
        raise SystemExit(
            f"`apt-get install -y {package}` failed (exit {result.returncode}): {tail}\n"
            f"install the Debian package {package!r} (it provides {path}; try `apt-get "
            f"update` first, as root) and run the benchmark again"
        )


def prepare_root() -> None:
    """An empty ``ROOT``, on a disk with room for the data and every copy of it."""
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    free = shutil.disk_usage(ROOT).free
    if free < NEED_FREE_BYTES:
        raise SystemExit(
            f"only {free / 1e9:.1f} GB free under {ROOT}; the benchmark needs "
            f"{NEED_FREE_BYTES / 1e9:.0f} GB: free some space and run it again"
        )


def clean_env() -> dict[str, str]:
    """This process's environment without SHIPYARD_* and with DVC's analytics off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    return {**env, "DVC_NO_ANALYTICS": "1"}


def setup_tools() -> tuple[Tools, dict[str, Any]]:
    """Both CLIs (DVC installed into its venv if needed) and DVC's details."""
    shipyard = Path(sys.executable).parent / "shipyard"
    if not shipyard.exists():
        raise SystemExit(f"no shipyard next to {sys.executable}: run with the project's venv")
    reused = peer_venv_current("dvc", DVC_REQUIREMENTS)
    started = time.perf_counter()
    venv = peer_venv("dvc", DVC_REQUIREMENTS)
    tools = Tools(shipyard, venv_bin(venv, "dvc"), clean_env())
    version = run(tools.dv("--version"), env=tools.env).stdout.decode().strip()
    setup_s = time.perf_counter() - started
    print(
        f"DVC used: {version} ({DVC_REQUIREMENTS[0]}), venv {'reused' if reused else 'installed'}"
    )
    details = {"version": version, "requirements": DVC_REQUIREMENTS, "venv_setup_s": setup_s}
    return tools, details


def source_fingerprint() -> str:
    """A short digest of shipyard's sources as they were when the run started.

    The tree may hold uncommitted edits, so the commit alone would not say what ran.
    """
    digest = hashlib.sha256()
    for path in sorted((REPO / "src" / "shipyard").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@contextmanager
def shipyard_bytecode(compiled: bool) -> Iterator[str]:
    """With ``compiled``, shipyard's sources byte-compiled for the run and the bytecode
    removed afterwards; yields a line saying which.

    DVC runs from a venv whose installer wrote its bytecode. shipyard is an editable
    install, and where ``PYTHONDONTWRITEBYTECODE`` is set (as in this sandbox) Python never
    caches it: every command recompiles each module it imports, ~25 ms of a 0.45 s
    ``data status``. ``--bytecode`` measures shipyard as an installed package runs.
    Hash-checked bytecode is revalidated against its source at every import, so an edit
    made during the run never runs stale.
    """
    if not compiled:
        yield "shipyard bytecode: as the environment leaves it (--bytecode compiles it)"
        return
    sources = REPO / "src" / "shipyard"
    run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", sources])
    try:
        yield "shipyard bytecode: compiled for this run (checked-hash), as an install would"
    finally:
        for cache in list(sources.rglob("__pycache__")):
            shutil.rmtree(cache, ignore_errors=True)


def make_workspace(tools: Tools, home: Path) -> None:
    """A fresh shipyard workspace in ``home``."""
    home.mkdir(parents=True)
    run([tools.shipyard, "init", home], cwd=home, env=tools.env)


def make_dvc_repo(tools: Tools, repo: Path) -> None:
    """A fresh git + DVC repository, with update checks and analytics off locally."""
    repo.mkdir(parents=True)
    run(["git", "init", "--quiet"], cwd=repo, env=tools.env)
    run(tools.dv("init", "--quiet"), cwd=repo, env=tools.env)
    for option in ("core.analytics", "core.check_update"):
        run(tools.dv("config", "--local", option, "false"), cwd=repo, env=tools.env)


# --- data -----------------------------------------------------------------------------------


def make_big(path: Path, size: int) -> None:
    """``size`` random bytes from a fixed seed, written in 64 MiB chunks."""
    rng = np.random.default_rng(0)
    with path.open("wb") as out:
        left = size
        while left:
            chunk = min(CHUNK, left)
            out.write(rng.bytes(chunk))
            left -= chunk


def make_small(root: Path, folders: int, per_folder: int) -> int:
    """``folders`` x ``per_folder`` files of 4-16 KiB random bytes; their total size."""
    rng = np.random.default_rng(1)
    sizes = rng.integers(4096, 16384, size=(folders, per_folder), endpoint=True)
    for i in range(folders):
        folder = root / f"d{i:03d}"
        folder.mkdir(parents=True)
        for j in range(per_folder):
            (folder / f"f{j:03d}.bin").write_bytes(rng.bytes(int(sizes[i, j])))
    return int(sizes.sum())


def make_inputs(args: argparse.Namespace) -> Inputs:
    """Generate the inputs once, then let their mtimes age while the rest is set up."""
    started = time.perf_counter()
    big = ROOT / "inputs" / "big.bin"
    big.parent.mkdir(parents=True)
    big_bytes = 0 if args.skip_big else args.big_mib * MIB
    if big_bytes:
        make_big(big, big_bytes)
    small = ROOT / "inputs" / "small"
    small_bytes = make_small(small, args.folders, args.per_folder)
    os.sync()
    files = args.folders * args.per_folder
    edited = f"d{args.folders // 2:03d}/f{args.per_folder // 2:03d}.bin"
    print(
        f"inputs: {big_bytes // MIB} MiB file, {files} files of {small_bytes / 1e6:.0f} MB "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return Inputs(big, big_bytes, small, files, small_bytes, edited)


def copy(source: Path, target: Path) -> None:
    """``cp -a`` (mtimes kept, so copies are as old as the inputs), then a warm read."""
    run(["cp", "-a", source, target])
    warm(target)


def trash(path: Path) -> None:
    """Move ``path`` aside, to be deleted at the end of the run.

    Deleting many files just before a timed command slows every file it creates: ext4
    skips inodes freed in the last ~30 s (``recently_deleted``), so both tools would pay
    for the previous round's clean-up.
    """
    bin_dir = ROOT / "trash"
    bin_dir.mkdir(exist_ok=True)
    path.rename(bin_dir / f"{len(list(bin_dir.iterdir()))}-{path.name}")


def warm(path: Path) -> None:
    """Read every byte under ``path`` once, so timed runs start from the page cache."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        with file.open("rb", buffering=0) as reader:
            while reader.read(4 * MIB):
                pass


# --- measuring and checking ---------------------------------------------------------------


def timed(
    tools: Tools, argv: Argv, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[float, bytes]:
    """Sync dirty pages, then run ``argv`` once (in ``env``, else the tools'): its
    seconds and its stdout."""
    os.sync()
    seconds, result = run_timed(argv, cwd=cwd, env=tools.env if env is None else env)
    return seconds, result.stdout


def with_rss(argv: Argv, out: Path) -> list[str]:
    """``argv`` under GNU time, which writes its peak RSS (KiB) to ``out``."""
    return [str(GNU_TIME), "-f", "%M", "-o", str(out), *(os.fspath(a) for a in argv)]


def read_rss_mb(out: Path) -> float:
    """The peak RSS that GNU time wrote to ``out``, in decimal megabytes."""
    return int(out.read_text().split()[-1]) * 1024 / 1e6


def expect(what: str, actual: Mapping[str, Any], **wanted: Any) -> None:
    """Stop the run if ``actual`` lacks any of the ``wanted`` values."""
    wrong = {k: {"got": actual.get(k), "want": v} for k, v in wanted.items() if actual.get(k) != v}
    if wrong:
        raise Broken(f"{what}: {wrong}\nfull output: {json.dumps(actual)[:2000]}")


def dvc_out(dvc_file: Path) -> dict[str, Any]:
    """The single output entry of a ``.dvc`` file."""
    outs = yaml.safe_load(dvc_file.read_text())["outs"]
    if len(outs) != 1:
        raise Broken(f"{dvc_file} lists {len(outs)} outputs, expected 1")
    return dict(outs[0])


def same_tree(expected: Path, actual: Path) -> None:
    """Stop the run unless the two trees are equal byte for byte (``diff -r -q``)."""
    try:
        run(["diff", "-r", "-q", expected, actual])
    except CommandFailed as exc:
        raise Broken(f"{actual} differs from {expected}:\n{exc.stdout[:2000]}") from exc


def seconds_text(value: float) -> str:
    """Seconds with three significant-ish decimals."""
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def limit_check(goal: str, scenario: Scenario, ours: str, target: float) -> Check:
    """A goal on the median of ``ours`` over the physical limit."""
    value, limit = scenario.median(ours), scenario.median("limit")
    return Check(
        goal,
        value / limit,
        "<=",
        target,
        "x",
        shipyard=seconds_text(value),
        limit=seconds_text(limit),
    )


def peer_check(goal: str, scenario: Scenario, ours: str, target: float) -> Check:
    """A goal on how many times faster than DVC ``ours`` is (medians)."""
    value, dvc = scenario.median(ours), scenario.median("dvc")
    return Check(
        goal,
        dvc / value,
        ">=",
        target,
        "x",
        shipyard=seconds_text(value),
        peer=seconds_text(dvc),
    )


def fast_checks(scenario: Scenario, seconds: float, faster: float) -> list[Check]:
    """The cold CLI's and the agent's goals: a median under ``seconds``, and ``faster``
    times faster than DVC."""
    checks: list[Check] = []
    for name, label in (("cold CLI", "shipyard"), ("agent", AGENT)):
        value = scenario.median(label)
        checks += [
            Check(f"{name}: time", value, "<", seconds, "s", shipyard=seconds_text(value)),
            peer_check(f"{name}: DVC time / {name} time", scenario, label, faster),
        ]
    return checks


def rss_check(goal: str, rss: Mapping[str, list[float]], ours: str) -> Check:
    """A goal on the largest peak memory of ``ours`` over its rounds; DVC's beside it."""
    value, dvc = max(rss[ours]), max(rss["dvc"])
    return Check(
        goal, value, "<", MAX_RSS_MB, "MB", shipyard=f"{value:.0f} MB", peer=f"{dvc:.0f} MB"
    )


# --- the workspace agent ------------------------------------------------------------------


def is_agent(pid: int) -> bool:
    """Whether ``pid`` still is a shipyard agent (not gone, not a zombie, not reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"shipyard.agent.serve" in cmdline.split(b"\0")


def start_agent(tools: Tools, home: Path) -> int:
    """``shipyard agent start`` on the workspace ``home``, where none may run yet: its pid."""
    argv = tools.sy(home, "agent", "start", "--idle-minutes", str(AGENT_IDLE_MINUTES), "--json")
    info = json.loads(run(argv, env=tools.env).stdout)
    if not info.get("started_now"):
        raise Broken(f"an agent was already serving {home}: {info}")
    return int(info["pid"])


def stop_agent(tools: Tools, home: Path, pid: int) -> None:
    """``shipyard agent stop`` (it waits until the agent has left); then, should the
    agent ``pid`` still be there, SIGTERM and at last SIGKILL: none outlives the run."""
    try:
        run(tools.sy(home, "agent", "stop", "--json"), env=tools.env)
    except CommandFailed as exc:
        print(f"[agent] `agent stop` failed:\n{exc}", file=sys.stderr)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not is_agent(pid):
                break
            print(f"[agent] pid {pid} is still running: sending {sig.name}", file=sys.stderr)
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while is_agent(pid) and time.monotonic() < deadline:
                time.sleep(0.05)


@contextmanager
def running_agent(tools: Tools, home: Path) -> Iterator[int]:
    """The agent of the workspace ``home``, started (untimed) for the block and stopped
    after it, also when the block fails or is interrupted: yields its pid."""
    pid = start_agent(tools, home)
    try:
        yield pid
    finally:
        stop_agent(tools, home, pid)


def agent_served(tools: Tools, home: Path) -> int:
    """How many commands the agent of ``home`` has served; Broken if none runs."""
    argv = tools.sy(home, "agent", "status", "--json")
    info = json.loads(run(argv, env=tools.env).stdout)
    if not info.get("running"):
        raise Broken(f"the agent of {home} is no longer running: {info}")
    return int(info["served"])


def expect_served(tools: Tools, home: Path, before: int, count: int, what: str) -> None:
    """Stop the run unless the agent of ``home`` served ``count`` commands since it had
    served ``before``: any other ran cold, and the agent's figures would be void."""
    served = agent_served(tools, home) - before
    if served != count:
        raise Broken(
            f"the agent served {served} of {count} {what}; the others ran cold (an agent "
            f"declines when shipyard's sources change under it)"
        )


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of the running process ``pid`` (``VmHWM``), decimal MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise Broken(f"no VmHWM in /proc/{pid}/status")


# --- scenario 1: one 1 GiB file -----------------------------------------------------------


def limit_round(tools: Tools, big: Path, scratch: Path) -> tuple[dict[str, float], str]:
    """One ``b3sum``, one ``cp`` and one ``cp`` + ``sync FILE`` of the big file."""
    b3sum_s, out = timed(tools, [B3SUM, "--no-names", big])
    target = scratch / "copy.bin"
    cp_s, _ = timed(tools, ["cp", big, target])
    target.unlink()
    fsync_s, _ = timed(tools, ["sh", "-c", 'cp "$1" "$2" && sync "$2"', "sh", big, target])
    target.unlink()
    return {"b3sum": b3sum_s, "cp": cp_s, "cp + fsync": fsync_s}, out.decode().split()[0]


def check_big_add(what: str, out: bytes, home: Path, inputs: Inputs, b3: str) -> bool:
    """Stop the run unless ``data add`` printed that it stored the big file; whether the
    blob is in ``home`` under the ``b3sum`` digest."""
    n = inputs.big_bytes
    doc = json.loads(out)
    expect(what, doc, files=1, bytes=n, version=1, created=True, hashed_files=1, new_bytes=n)
    blob = home / ".shipyard" / "blobs" / b3[:2] / b3[2:]
    return blob.is_file() and blob.stat().st_size == n


def shipyard_big_round(
    tools: Tools, home: Path, data: Path, inputs: Inputs, b3: str
) -> tuple[float, float, bool]:
    """One cold ``shipyard data add`` of the big file in a fresh workspace: s, MB, blob found."""
    make_workspace(tools, home)
    rss = home.parent / "shipyard-rss.txt"
    argv = with_rss(tools.sy(home, "data", "add", "big", data, "--json"), rss)
    seconds, out = timed(tools, argv, env=tools.cold)
    found = check_big_add("shipyard data add (1 file)", out, home, inputs, b3)
    shutil.rmtree(home)
    return seconds, read_rss_mb(rss), found


def agent_big_round(
    tools: Tools, home: Path, data: Path, inputs: Inputs, b3: str
) -> tuple[float, float, bool]:
    """The same add, handed to an agent started (untimed) on a fresh workspace: s, the
    agent's peak MB, blob found."""
    make_workspace(tools, home)
    with running_agent(tools, home) as pid:
        seconds, out = timed(tools, tools.sy(home, "data", "add", "big", data, "--json"))
        found = check_big_add(f"{AGENT} data add (1 file)", out, home, inputs, b3)
        expect_served(tools, home, 0, 1, "adds")
        peak_mb = peak_rss_mb(pid)
    shutil.rmtree(home)
    return seconds, peak_mb, found


def dvc_big_round(tools: Tools, repo: Path, inputs: Inputs) -> tuple[float, float]:
    """One ``dvc add`` of a fresh copy of the big file in a fresh repo: seconds, MB."""
    make_dvc_repo(tools, repo)
    copy(inputs.big, repo / "big.bin")
    rss = repo.parent / "dvc-rss.txt"
    seconds, _ = timed(tools, with_rss(tools.dv("add", "big.bin"), rss), cwd=repo)
    out = dvc_out(repo / "big.bin.dvc")
    expect("dvc add (1 file)", out, size=inputs.big_bytes, path="big.bin")
    cached = repo / ".dvc" / "cache" / "files" / "md5" / out["md5"][:2] / out["md5"][2:]
    if not cached.is_file():
        raise Broken(f"dvc add left no cache file at {cached}")
    shutil.rmtree(repo)
    return seconds, read_rss_mb(rss)


def bench_big(tools: Tools, inputs: Inputs, rounds: int) -> Scenario:
    """Scenario 1, round-robin: the limit, shipyard cold, shipyard's agent, DVC."""
    scratch = ROOT / "big"
    scratch.mkdir()
    data = scratch / "shipyard-big.bin"
    copy(inputs.big, data)
    warm(inputs.big)
    labels = ("b3sum", "cp", "cp + fsync", "shipyard", AGENT, "dvc")
    gib = inputs.big_bytes / 2**30
    size = f"{gib:g} GiB" if gib >= 1 else f"{inputs.big_bytes // MIB} MiB"
    scenario = Scenario(f"1. add one {size} file", {label: [] for label in labels})
    rss: dict[str, list[float]] = {"shipyard": [], AGENT: [], "dvc": []}
    blobs_found: list[bool] = []
    for index in range(rounds):
        print(f"  {size} add: round {index + 1}/{rounds}")
        limits, b3 = limit_round(tools, inputs.big, scratch)
        for label, value in limits.items():
            scenario.samples[label].append(value)
        cold = shipyard_big_round(tools, scratch / "ws", data, inputs, b3)
        agent = agent_big_round(tools, scratch / "ws-agent", data, inputs, b3)
        dvc = dvc_big_round(tools, scratch / "repo", inputs)
        for label, (seconds, mb, *found) in (("shipyard", cold), (AGENT, agent), ("dvc", dvc)):
            scenario.samples[label].append(seconds)
            rss[label].append(mb)
            blobs_found += found
    shutil.rmtree(scratch)
    scenario.extra = {"peak_rss_mb": rss, "blob_digest_matches_b3sum": all(blobs_found)}
    return finish_big(scenario, rss)


def finish_big(scenario: Scenario, rss: dict[str, list[float]]) -> Scenario:
    """Scenario 1's limit, goals (the cold CLI's, then the agent's) and notes."""
    b3sum, cp = scenario.median("b3sum"), scenario.median("cp")
    scenario.samples["limit"] = [max(b3sum, cp)]
    scenario.extra["limit_s"] = max(b3sum, cp)
    scenario.checks = [
        limit_check("cold CLI: time / physical limit", scenario, "shipyard", 1.2),
        peer_check("cold CLI: DVC time / shipyard time", scenario, "shipyard", 5.0),
        rss_check("cold CLI: peak memory (max RSS)", rss, "shipyard"),
        limit_check("agent: time / physical limit", scenario, AGENT, 1.2),
        peer_check("agent: DVC time / agent time", scenario, AGENT, 5.0),
        rss_check("agent: peak memory (agent's VmHWM)", rss, AGENT),
    ]
    fsync = scenario.median("cp + fsync")
    matches = scenario.extra["blob_digest_matches_b3sum"]
    scenario.notes = [
        f"limit = slower of `b3sum` {seconds_text(b3sum)} and `cp` {seconds_text(cp)} "
        f"(medians); for reference, a durable copy (`cp` + `sync FILE`) took "
        f"{seconds_text(fsync)}",
        f"shipyard's blobs (cold CLI and agent) {'match' if matches else 'DO NOT match'} `b3sum`",
        "agent: started (untimed) on each round's fresh workspace before the timed add, "
        "which is the client command; its peak memory is the agent process's high-water "
        "mark (`VmHWM`, start-up included), read before `agent stop`",
    ]
    return scenario


# --- scenarios 2-5: 20,000 small files ----------------------------------------------------


@dataclass(frozen=True)
class Small:
    """The state the first-add scenario leaves: a workspace and a repo holding the folder."""

    home: Path
    repo: Path

    @property
    def sy_data(self) -> Path:
        """shipyard's copy of the folder."""
        return self.home / "small"

    @property
    def dvc_data(self) -> Path:
        """DVC's copy of the folder."""
        return self.repo / "small"


@dataclass(frozen=True)
class Variant:
    """One way of running shipyard: its label, its workspace (holding its own copy of
    the folder, as ``small``) and the environment its commands run in."""

    label: str
    home: Path
    env: Mapping[str, str]

    @property
    def data(self) -> Path:
        """This variant's copy of the folder."""
        return self.home / "small"

    def data_command(self, tools: Tools, command: str) -> list[str]:
        """``data COMMAND small <its copy> --json`` against its workspace."""
        return tools.sy(self.home, "data", command, "small", self.data, "--json")


def cold_variant(tools: Tools, small: Small) -> Variant:
    """The cold CLI on the first-add scenario's workspace: no agent may serve it."""
    return Variant("shipyard", small.home, tools.cold)


@contextmanager
def agent_workspace(tools: Tools, inputs: Inputs) -> Iterator[Variant]:
    """The agent variant: a workspace of its own with its copy of the folder added
    (untimed), then its agent started and shown the folder by one untimed ``data
    status``. The agent is stopped after the block."""
    agent = Variant(AGENT, ROOT / "small" / "agent-ws", tools.env)
    make_workspace(tools, agent.home)
    copy(inputs.small, agent.data)
    doc = json.loads(run(agent.data_command(tools, "add"), env=tools.cold).stdout)
    expect(f"{AGENT} data add (set-up)", doc, files=inputs.small_files, version=1)
    with running_agent(tools, agent.home):
        doc = json.loads(run(agent.data_command(tools, "status"), env=agent.env).stdout)
        expect(f"{AGENT} data status (set-up)", doc, clean=True)
        expect_served(tools, agent.home, 0, 1, "set-up status commands")
        yield agent


def first_add_round(tools: Tools, small: Small, inputs: Inputs) -> tuple[float, float]:
    """Fresh workspace and repo, each with its own copy; one add each: their seconds."""
    make_workspace(tools, small.home)
    copy(inputs.small, small.sy_data)
    argv = tools.sy(small.home, "data", "add", "small", small.sy_data, "--json")
    sy_s, out = timed(tools, argv, env=tools.cold)
    n, size = inputs.small_files, inputs.small_bytes
    expect(
        "shipyard data add (folder)",
        json.loads(out),
        files=n,
        bytes=size,
        version=1,
        created=True,
        hashed_files=n,
    )
    make_dvc_repo(tools, small.repo)
    copy(inputs.small, small.dvc_data)
    dvc_s, _ = timed(tools, tools.dv("add", "small"), cwd=small.repo)
    expect("dvc add (folder)", dvc_out(small.repo / "small.dvc"), nfiles=n, size=size)
    return sy_s, dvc_s


def cp_round(source: Path, index: int) -> float:
    """The physical limit of writing every file once: ``cp -r`` of the folder, timed."""
    target = ROOT / "small" / f"cp-{index}"
    os.sync()
    seconds, _ = run_timed(["cp", "-r", source, target])
    trash(target)
    return seconds


def limit_note(scenario: Scenario) -> str:
    """How shipyard compares with ``cp -r`` (a note: the issue sets no goal against it)."""
    limit, sy = scenario.median("cp -r"), scenario.median("shipyard")
    return (
        f"physical limit: `cp -r` of the same folder took {seconds_text(limit)} "
        f"(every file created once, no hashing); shipyard took {sy / limit:.2f}x that, "
        f"DVC {scenario.median('dvc') / limit:.2f}x"
    )


def bench_first_add(tools: Tools, inputs: Inputs, rounds: int) -> tuple[Scenario, Small]:
    """Scenario 2; the last round's workspace and repo stay for the next scenarios."""
    scenario = Scenario(
        f"2. add {inputs.small_files:,} small files", {"shipyard": [], "dvc": [], "cp -r": []}
    )
    small = Small(ROOT / "small" / "ws", ROOT / "small" / "repo")
    for index in range(rounds):
        print(f"  {inputs.small_files:,}-file add: round {index + 1}/{rounds}")
        if index:
            trash(small.home)
            trash(small.repo)
        sy_s, dvc_s = first_add_round(tools, small, inputs)
        scenario.samples["shipyard"].append(sy_s)
        scenario.samples["dvc"].append(dvc_s)
        scenario.samples["cp -r"].append(cp_round(inputs.small, index))
    scenario.checks = [peer_check("DVC time / shipyard time", scenario, "shipyard", 5)]
    scenario.notes = [limit_note(scenario)]
    return scenario, small


def check_clean(
    small: Small, commands: Mapping[str, Argv], envs: Mapping[str, Mapping[str, str]]
) -> None:
    """Run every status command once, untimed: each must say that nothing changed."""
    for label in ("shipyard", AGENT):
        doc = json.loads(run(commands[label], env=envs[label]).stdout)
        expect(f"{label} data status", doc, clean=True, added=[], removed=[], changed=[])
    dvc_doc = json.loads(run(commands["dvc"], cwd=small.repo, env=envs["dvc"]).stdout or b"{}")
    if dvc_doc != {}:
        raise Broken(f"dvc status is not clean: {dvc_doc}")


def bench_status(tools: Tools, small: Small, agent: Variant, rounds: int) -> Scenario:
    """Scenario 4: every status command checked clean once, then timed round-robin."""
    variants = (cold_variant(tools, small), agent)
    commands = {v.label: v.data_command(tools, "status") for v in variants}
    commands["dvc"] = tools.dv("status", "--json")
    envs = {**{v.label: v.env for v in variants}, "dvc": tools.env}
    before = agent_served(tools, agent.home)
    check_clean(small, commands, envs)
    print(f"  status: {rounds} rounds")
    samples = time_interleaved(
        commands, cwd={"dvc": small.repo}, envs=envs, repeat=rounds, warmup=0
    )
    expect_served(tools, agent.home, before, rounds + 1, "status commands")
    scenario = Scenario("4. status, nothing changed", samples)
    scenario.checks = fast_checks(scenario, 0.5, 15)
    scenario.notes = [
        "the first (checking) run of each command is not timed",
        "agent: started before the rounds on a workspace of its own (its own copy of the "
        "folder, added untimed) and shown the folder once by an untimed `data status`",
    ]
    return scenario


def shipyard_readd(
    tools: Tools, variant: Variant, edited: str, tail: bytes, want: Mapping[str, Any]
) -> float:
    """Append ``tail`` to the file ``edited`` in the variant's copy, then re-add the
    folder: its seconds."""
    with (variant.data / edited).open("ab") as out:
        out.write(tail)
    seconds, out_bytes = timed(tools, variant.data_command(tools, "add"), env=variant.env)
    expect(f"{variant.label} data add (re-add)", json.loads(out_bytes), **want)
    return seconds


def dvc_readd(tools: Tools, small: Small, inputs: Inputs, tail: bytes, size: int) -> float:
    """Append ``tail`` to the edited file in DVC's copy, then ``dvc add``: its seconds."""
    with (small.dvc_data / inputs.edited).open("ab") as out:
        out.write(tail)
    before = (small.repo / "small.dvc").read_text()
    seconds, _ = timed(tools, tools.dv("add", "small"), cwd=small.repo)
    if (small.repo / "small.dvc").read_text() == before:
        raise Broken("dvc add after an edit left small.dvc unchanged")
    expect(
        "dvc add (re-add)", dvc_out(small.repo / "small.dvc"), nfiles=inputs.small_files, size=size
    )
    return seconds


def readd_round(
    tools: Tools, small: Small, variants: Sequence[Variant], inputs: Inputs, index: int
) -> dict[str, float]:
    """Append the same bytes to the same file in every copy, each just before its tool's
    re-add: the seconds of each."""
    tail = f"edit {index}\n".encode()
    size = inputs.small_bytes + sum(len(f"edit {i}\n") for i in range(index + 1))
    want = {
        "files": inputs.small_files,
        "bytes": size,
        "version": 2 + index,
        "created": True,
        "hashed_files": 1,
    }
    seconds = {v.label: shipyard_readd(tools, v, inputs.edited, tail, want) for v in variants}
    seconds["dvc"] = dvc_readd(tools, small, inputs, tail, size)
    return seconds


def bench_readd(
    tools: Tools, small: Small, agent: Variant, inputs: Inputs, rounds: int
) -> Scenario:
    """Scenario 3: one edit, then one re-add per variant and tool, ``rounds`` times."""
    variants = (cold_variant(tools, small), agent)
    samples: dict[str, list[float]] = {"shipyard": [], AGENT: [], "dvc": []}
    print(f"  re-add: {rounds} rounds")
    before = agent_served(tools, agent.home)
    for index in range(rounds):
        for label, seconds in readd_round(tools, small, variants, inputs, index).items():
            samples[label].append(seconds)
    expect_served(tools, agent.home, before, rounds, "re-adds")
    scenario = Scenario("3. re-add after editing 1 file", samples)
    scenario.checks = fast_checks(scenario, 0.5, 15)
    scenario.notes = [
        f"each round appends a few bytes to `{inputs.edited}` in every copy (the cold "
        f"CLI's, the agent's, DVC's), each just before its re-add",
        "agent: the one of scenario 4, still running, on its own workspace and copy",
    ]
    return scenario


def checkout_round(tools: Tools, small: Small, index: int) -> tuple[float, float]:
    """shipyard restores the latest version into an empty folder; DVC its deleted folder."""
    dest = small.home.parent / f"checkout-{index}"
    argv = tools.sy(small.home, "data", "checkout", "small@latest", dest, "--json")
    sy_s, out = timed(tools, argv, env=tools.cold)
    doc = json.loads(out)
    if doc.get("dest") is None:
        raise Broken(f"shipyard data checkout printed no destination: {doc}")
    same_tree(small.sy_data, dest)
    trash(dest)
    trash(small.dvc_data)  # DVC sees its folder gone, as after a `rm -rf`
    dvc_s, _ = timed(tools, tools.dv("checkout"), cwd=small.repo)
    same_tree(small.sy_data, small.dvc_data)
    return sy_s, dvc_s


def link_type(tools: Tools, small: Small, inputs: Inputs) -> str:
    """What DVC's checkout left in the workspace, and which link type was configured."""
    probe, clone = ROOT / "reflink-probe", ROOT / "reflink-clone"
    probe.write_bytes(b"x")
    reflink = subprocess.run(["cp", "--reflink=always", probe, clone], capture_output=True)
    probe.unlink()
    clone.unlink(missing_ok=True)
    configured = (
        subprocess.run(
            tools.dv("config", "cache.type"), cwd=small.repo, env=tools.env, capture_output=True
        )
        .stdout.decode()
        .strip()
        or "unset (default: reflink,copy)"
    )
    file = small.dvc_data / inputs.edited
    if file.is_symlink():
        kind = "symlink"
    elif file.stat().st_nlink > 1:
        kind = "hardlink"
    else:
        kind = "reflink" if reflink.returncode == 0 else "copy (this filesystem cannot reflink)"
    return f"DVC cache.type {configured}; it used: {kind}"


def bench_checkout(tools: Tools, small: Small, inputs: Inputs, rounds: int) -> Scenario:
    """Scenario 5: restore the latest version (the edited folder) with each tool."""
    samples: dict[str, list[float]] = {"shipyard": [], "dvc": [], "cp -r": []}
    scenario = Scenario("5. checkout into an empty folder", samples)
    for index in range(rounds):
        print(f"  checkout: round {index + 1}/{rounds}")
        sy_s, dvc_s = checkout_round(tools, small, index)
        scenario.samples["shipyard"].append(sy_s)
        scenario.samples["dvc"].append(dvc_s)
        scenario.samples["cp -r"].append(cp_round(small.sy_data, 100 + index))
    scenario.checks = [peer_check("DVC time / shipyard time", scenario, "shipyard", 3)]
    scenario.notes = [
        limit_note(scenario),
        link_type(tools, small, inputs),
        "both outputs equal the input (`diff -r`)",
    ]
    return scenario


# --- report --------------------------------------------------------------------------------


def to_json(scenario: Scenario) -> dict[str, Any]:
    """A scenario as JSON: summaries with samples, goals, notes."""
    return {
        "title": scenario.title,
        "commands": {k: {**summarize(v), "samples": v} for k, v in scenario.samples.items()},
        "goals": [
            {
                "goal": c.goal,
                "value": c.value,
                "op": c.op,
                "target": c.target,
                "unit": c.unit,
                "met": c.met,
            }
            for c in scenario.checks
        ],
        "notes": scenario.notes,
        **scenario.extra,
    }


def measure(args: argparse.Namespace, tools: Tools) -> list[Scenario]:
    """Generate the inputs and run the scenarios, 1 unless skipped (in the issue's order)."""
    inputs = make_inputs(args)
    scenarios: list[Scenario] = []
    if inputs.big_bytes:
        print("scenario 1 ...")
        scenarios.append(bench_big(tools, inputs, args.big_repeat))
        inputs.big.unlink()
    print("scenarios 2-5 ...")
    first, small = bench_first_add(tools, inputs, args.heavy_repeat)
    with agent_workspace(tools, inputs) as agent:  # scenarios 4 and 3 share its agent
        status = bench_status(tools, small, agent, args.repeat)
        readd = bench_readd(tools, small, agent, inputs, args.repeat)
    checkout = bench_checkout(tools, small, inputs, args.heavy_repeat)
    return [*scenarios, first, readd, status, checkout]


def leave_on_sigterm(signum: int, _frame: object) -> None:
    """A SIGTERM ends the run as an interrupt does: ``finally`` blocks stop the agents."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON; 1 if a goal is missed."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, leave_on_sigterm)
    if isinstance(sys.stdout, io.TextIOWrapper):  # keep our lines in order when piped
        sys.stdout.reconfigure(line_buffering=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    source = source_fingerprint()
    print(f"shipyard sources {source}, load average {load_before[0]:.2f}")
    require_program(B3SUM, "b3sum")
    require_program(GNU_TIME, "time")
    tools, dvc = setup_tools()
    with shipyard_bytecode(args.bytecode) as bytecode:
        print(bytecode)
        prepare_root()
        try:
            scenarios = measure(args, tools)
        except (CommandFailed, Broken) as exc:
            print(f"benchmark aborted, a command failed or misbehaved:\n{exc}", file=sys.stderr)
            print(f"(its files stay in {ROOT} for inspection)", file=sys.stderr)
            return 2
    if not args.keep:
        shutil.rmtree(ROOT, ignore_errors=True)
    report(scenarios, "DVC", first="goal", counted="runs", hidden=("limit",))
    missed = [f"{s.title}: {c.goal}" for s in scenarios for c in s.checks if not c.met]
    results = {
        "benchmark": NAME,
        "machine": machine_info(),
        "load_average_before": list(load_before),
        "shipyard_sources": source,
        "options": vars(args),
        "dvc": dvc,
        "bytecode": bytecode,
        "seconds": time.perf_counter() - started,
        "scenarios": [to_json(s) for s in scenarios],
        "missed": missed,
    }
    path = write_results(NAME, results)
    print(f"\nmissed: {len(missed)} goal(s)" + "".join(f"\n- {m}" for m in missed))
    print(f"total {results['seconds']:.0f} s; results: {path}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
