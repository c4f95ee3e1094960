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
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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

Argv = Sequence[str | os.PathLike[str]]


class Broken(RuntimeError):
    """A command under test succeeded but did not do what it claims: the run is void."""


@dataclass(frozen=True)
class Tools:
    """The programs under test and the environment they run in."""

    shipyard: Path
    dvc: Path
    env: dict[str, str]

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


def timed(tools: Tools, argv: Argv, cwd: Path | None = None) -> tuple[float, bytes]:
    """Sync dirty pages, then run ``argv`` once: its seconds and its stdout."""
    os.sync()
    seconds, result = run_timed(argv, cwd=cwd, env=tools.env)
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


def ratio_check(
    goal: str,
    scenario: Scenario,
    top: str,
    bottom: str,
    op: str,
    target: float,
    *,
    limit: bool = False,
) -> Check:
    """A goal on the ratio of two medians of ``scenario``."""
    value = scenario.median(top) / scenario.median(bottom)
    sy = seconds_text(scenario.median("shipyard"))
    other = seconds_text(scenario.median(bottom if limit else "dvc"))
    if limit:
        return Check(goal, value, op, target, "x", shipyard=sy, limit=other)
    return Check(goal, value, op, target, "x", shipyard=sy, peer=other)


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


def shipyard_big_round(
    tools: Tools, home: Path, data: Path, inputs: Inputs, b3: str
) -> tuple[float, float, bool]:
    """One ``shipyard data add`` of the big file in a fresh workspace: s, MB, blob found."""
    make_workspace(tools, home)
    rss = home.parent / "shipyard-rss.txt"
    argv = with_rss(tools.sy(home, "data", "add", "big", data, "--json"), rss)
    seconds, out = timed(tools, argv)
    doc = json.loads(out)
    n = inputs.big_bytes
    expect(
        "shipyard data add (1 file)",
        doc,
        files=1,
        bytes=n,
        version=1,
        created=True,
        hashed_files=1,
        new_bytes=n,
    )
    blob = home / ".shipyard" / "blobs" / b3[:2] / b3[2:]
    found = blob.is_file() and blob.stat().st_size == n
    shutil.rmtree(home)
    return seconds, read_rss_mb(rss), found


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
    """Scenario 1, round-robin: the limit, shipyard, DVC."""
    scratch = ROOT / "big"
    scratch.mkdir()
    data = scratch / "shipyard-big.bin"
    copy(inputs.big, data)
    warm(inputs.big)
    labels = ("b3sum", "cp", "cp + fsync", "shipyard", "dvc")
    gib = inputs.big_bytes / 2**30
    size = f"{gib:g} GiB" if gib >= 1 else f"{inputs.big_bytes // MIB} MiB"
    scenario = Scenario(f"1. add one {size} file", {label: [] for label in labels})
    rss: dict[str, list[float]] = {"shipyard": [], "dvc": []}
    blobs_found: list[bool] = []
    for index in range(rounds):
        print(f"  {size} add: round {index + 1}/{rounds}")
        limits, b3 = limit_round(tools, inputs.big, scratch)
        for label, value in limits.items():
            scenario.samples[label].append(value)
        sy_s, sy_mb, found = shipyard_big_round(tools, scratch / "ws", data, inputs, b3)
        dvc_s, dvc_mb = dvc_big_round(tools, scratch / "repo", inputs)
        scenario.samples["shipyard"].append(sy_s)
        scenario.samples["dvc"].append(dvc_s)
        rss["shipyard"].append(sy_mb)
        rss["dvc"].append(dvc_mb)
        blobs_found.append(found)
    shutil.rmtree(scratch)
    scenario.extra = {"peak_rss_mb": rss, "blob_digest_matches_b3sum": all(blobs_found)}
    return finish_big(scenario, rss)


def finish_big(scenario: Scenario, rss: dict[str, list[float]]) -> Scenario:
    """Scenario 1's limit, goals and notes."""
    b3sum, cp = scenario.median("b3sum"), scenario.median("cp")
    scenario.samples["limit"] = [max(b3sum, cp)]
    scenario.extra["limit_s"] = max(b3sum, cp)
    sy_mb, dvc_mb = max(rss["shipyard"]), max(rss["dvc"])
    scenario.checks = [
        ratio_check("time / physical limit", scenario, "shipyard", "limit", "<=", 1.2, limit=True),
        ratio_check("DVC time / shipyard time", scenario, "dvc", "shipyard", ">=", 5.0),
        Check(
            "peak memory (max RSS)",
            sy_mb,
            "<",
            MAX_RSS_MB,
            "MB",
            shipyard=f"{sy_mb:.0f} MB",
            peer=f"{dvc_mb:.0f} MB",
        ),
    ]
    fsync = scenario.median("cp + fsync")
    matches = scenario.extra["blob_digest_matches_b3sum"]
    scenario.notes = [
        f"limit = slower of `b3sum` {seconds_text(b3sum)} and `cp` {seconds_text(cp)} "
        f"(medians); for reference, a durable copy (`cp` + `sync FILE`) took "
        f"{seconds_text(fsync)}",
        f"shipyard's blob digest {'matches' if matches else 'DOES NOT match'} `b3sum`",
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


def first_add_round(tools: Tools, small: Small, inputs: Inputs) -> tuple[float, float]:
    """Fresh workspace and repo, each with its own copy; one add each: their seconds."""
    make_workspace(tools, small.home)
    copy(inputs.small, small.sy_data)
    sy_s, out = timed(tools, tools.sy(small.home, "data", "add", "small", small.sy_data, "--json"))
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
    scenario.checks = [
        ratio_check("DVC time / shipyard time", scenario, "dvc", "shipyard", ">=", 5)
    ]
    scenario.notes = [limit_note(scenario)]
    return scenario, small


def bench_status(tools: Tools, small: Small, rounds: int) -> Scenario:
    """Scenario 4: both status commands, checked clean once, then timed round-robin."""
    commands = {
        "shipyard": tools.sy(small.home, "data", "status", "small", small.sy_data, "--json"),
        "dvc": tools.dv("status", "--json"),
    }
    doc = json.loads(run(commands["shipyard"], env=tools.env).stdout)
    expect("shipyard data status", doc, clean=True, added=[], removed=[], changed=[])
    dvc_doc = json.loads(run(commands["dvc"], cwd=small.repo, env=tools.env).stdout or b"{}")
    if dvc_doc != {}:
        raise Broken(f"dvc status is not clean: {dvc_doc}")
    print(f"  status: {rounds} rounds")
    samples = time_interleaved(
        commands, cwd={"dvc": small.repo}, env=tools.env, repeat=rounds, warmup=0
    )
    scenario = Scenario("4. status, nothing changed", samples)
    sy = scenario.median("shipyard")
    scenario.checks = [
        Check("time", sy, "<", 0.5, "s", shipyard=seconds_text(sy)),
        ratio_check("DVC time / shipyard time", scenario, "dvc", "shipyard", ">=", 15),
    ]
    scenario.notes = ["the first (checking) run of each command is not timed"]
    return scenario


def readd_round(tools: Tools, small: Small, inputs: Inputs, index: int) -> tuple[float, float]:
    """Append the same bytes to the same file in both copies; re-add each: their seconds."""
    tail = f"edit {index}\n".encode()
    appended = sum(len(f"edit {i}\n") for i in range(index + 1))
    n, size = inputs.small_files, inputs.small_bytes + appended
    with (small.sy_data / inputs.edited).open("ab") as out:
        out.write(tail)
    sy_s, out_bytes = timed(
        tools, tools.sy(small.home, "data", "add", "small", small.sy_data, "--json")
    )
    expect(
        "shipyard data add (re-add)",
        json.loads(out_bytes),
        files=n,
        bytes=size,
        version=2 + index,
        created=True,
        hashed_files=1,
    )
    with (small.dvc_data / inputs.edited).open("ab") as out:
        out.write(tail)
    before = (small.repo / "small.dvc").read_text()
    dvc_s, _ = timed(tools, tools.dv("add", "small"), cwd=small.repo)
    if (small.repo / "small.dvc").read_text() == before:
        raise Broken("dvc add after an edit left small.dvc unchanged")
    expect("dvc add (re-add)", dvc_out(small.repo / "small.dvc"), nfiles=n, size=size)
    return sy_s, dvc_s


def bench_readd(tools: Tools, small: Small, inputs: Inputs, rounds: int) -> Scenario:
    """Scenario 3: one edit, then one re-add per tool, ``rounds`` times."""
    scenario = Scenario("3. re-add after editing 1 file", {"shipyard": [], "dvc": []})
    print(f"  re-add: {rounds} rounds")
    for index in range(rounds):
        sy_s, dvc_s = readd_round(tools, small, inputs, index)
        scenario.samples["shipyard"].append(sy_s)
        scenario.samples["dvc"].append(dvc_s)
    sy = scenario.median("shipyard")
    scenario.checks = [
        Check("time", sy, "<", 0.5, "s", shipyard=seconds_text(sy)),
        ratio_check("DVC time / shipyard time", scenario, "dvc", "shipyard", ">=", 15),
    ]
    scenario.notes = [f"each round appends a few bytes to `{inputs.edited}` in both copies"]
    return scenario


def checkout_round(tools: Tools, small: Small, index: int) -> tuple[float, float]:
    """shipyard restores the latest version into an empty folder; DVC its deleted folder."""
    dest = small.home.parent / f"checkout-{index}"
    argv = tools.sy(small.home, "data", "checkout", "small@latest", dest, "--json")
    sy_s, out = timed(tools, argv)
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
    scenario.checks = [
        ratio_check("DVC time / shipyard time", scenario, "dvc", "shipyard", ">=", 3)
    ]
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
    status = bench_status(tools, small, args.repeat)
    readd = bench_readd(tools, small, inputs, args.repeat)
    checkout = bench_checkout(tools, small, inputs, args.heavy_repeat)
    return [*scenarios, first, readd, status, checkout]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON; 1 if a goal is missed."""
    args = parse_args(argv)
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
