"""Datasets through the server: blobs uploaded once, versions recorded, restored exactly."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import httpx
import pandas as pd
import pytest

import shipyard
import shipyard.data.local
import shipyard.server.blobs
from live_server import LiveServer
from shipyard.cli.main import main
from shipyard.data.ingest import PACK_MIN_FILES
from shipyard.data.rules import load_rules
from shipyard.errors import NotFound, PermissionDenied, Unauthenticated, ValidationError
from shipyard.examples.credit import make_credit_table
from shipyard.server.app import create_app

API = "/api/v1"
FAILING_RULES = "columns:\n  age: {type: int, max: 30}\n"


@pytest.fixture
def served(
    platform: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server with auth on, and a token per role."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "client-cache"))
    tokens = {}
    for role in ("viewer", "editor"):
        tokens[role] = platform.access.create_token(f"{role}-user", role=role)[1]
    with LiveServer(create_app(platform, auth=True)) as url:
        yield url, tokens


@pytest.fixture
def remote(served: tuple[str, dict[str, str]]) -> Iterator[Any]:
    """A client workspace acting as the editor."""
    url, tokens = served
    with shipyard.connect(url, token=tokens["editor"]) as ws:
        yield ws


@pytest.fixture
def editor(served: tuple[str, dict[str, str]]) -> Iterator[httpx.Client]:
    """Raw HTTP as the editor."""
    url, tokens = served
    headers = {"Authorization": f"Bearer {tokens['editor']}"}
    with httpx.Client(base_url=url + API, headers=headers) as client:
        yield client


def make_tree(root: Path) -> Path:
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "nested" / "b.bin").write_bytes(bytes(range(256)) * 10)
    (root / "nested" / "b.bin").chmod(0o600)
    (root / "nested" / "deeper" / "big.bin").write_bytes(os.urandom(3 << 20))  # several chunks
    (root / "empty.dat").write_bytes(b"")
    return root


def files_of(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mode & 0o7777)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_folder_round_trips_and_uploads_only_new_blobs(
    remote: Any, platform: Any, tmp_path: Path
) -> None:
    source = make_tree(tmp_path / "src")
    first = remote.data.add_with_stats("tree", source, message="first")
    version = first.version
    assert (first.created, version.ref, version.files, version.kind) == (
        True,
        "tree@v1",
        4,
        "files",
    )
    assert version.author == "editor-user"
    assert first.new_bytes == sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    assert platform.datasets.get("tree@v1") == version == remote.data.get("tree")

    dest = tmp_path / "out"
    assert remote.data.checkout("tree@v1", dest) == version
    assert files_of(dest) == files_of(source)
    with pytest.raises(ValidationError, match="not empty"):
        remote.data.checkout("tree@v1", dest)

    again = remote.data.add_with_stats("tree", source)
    assert (again.created, again.version, again.new_bytes) == (False, version, 0)
    assert remote.data.status("tree", source).diff.clean

    (source / "a.txt").write_text("changed\n")
    report = remote.data.status("tree", source)
    assert (report.ref, report.diff.changed, report.to_dict()["clean"]) == (
        "tree@v1",
        ["a.txt"],
        False,
    )
    second = remote.data.add_with_stats("tree", source)
    assert (second.created, second.version.ref, second.new_bytes) == (True, "tree@v2", 8)
    assert [v.ref for v in remote.data.log("tree")] == ["tree@v2", "tree@v1"]
    assert [v.ref for v in remote.data.list()] == ["tree@v2"]
    diff = remote.data.diff("tree@v1", "tree@v2")
    assert diff["files"] == {"added": [], "removed": [], "changed": ["a.txt"]}

    remote.data.checkout("tree@v2", dest, force=True)
    assert files_of(dest) == files_of(source)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging left


def test_a_file_changed_after_hashing_is_refused(
    remote: Any, platform: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_tree(tmp_path / "src")
    hash_local = shipyard.data.local.hash_local

    def hash_then_change(*args: Any, **kwargs: Any) -> Any:
        found = hash_local(*args, **kwargs)
        (source / "a.txt").write_text("changed after hashing\n")
        return found

    monkeypatch.setattr(shipyard.data.local, "hash_local", hash_then_change)
    with pytest.raises(ValidationError, match="changed while it was being uploaded"):
        remote.data.add("tree", source)
    assert platform.datasets.list() == []
    monkeypatch.undo()
    assert remote.data.add("tree", source).ref == "tree@v1"


def test_the_server_says_which_blobs_it_lacks(
    remote: Any, editor: httpx.Client, tmp_path: Path
) -> None:
    source = make_tree(tmp_path / "src")
    remote.data.add("tree", source)
    stored = [entry.digest for entry in remote.data.manifest(remote.data.get("tree")).entries]
    absent = blake3.blake3(b"never uploaded").hexdigest()
    answer = editor.post("/blobs/missing", json={"digests": [absent, *stored, absent]})
    assert answer.status_code == 200
    assert answer.json() == {"missing": [absent]}
    bad = editor.post("/blobs/missing", json={"digests": ["not-a-digest"]})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_error")


def test_a_dataframe_round_trips(remote: Any) -> None:
    frame = make_credit_table(300, seed=2)
    version = remote.data.add("frame", frame)
    assert (version.kind, version.table_path) == ("table", "frame.parquet")
    loaded = remote.data.load("frame@v1")
    pd.testing.assert_frame_equal(loaded, frame)
    assert loaded.attrs["shipyard.dataset"] == "frame@v1"
    assert remote.data.load_table("frame").num_rows == 300
    assert remote.data.add_with_stats("frame", frame).created is False


def test_a_csv_gets_schema_profile_and_pii_on_the_server(
    remote: Any, platform: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "credit.csv"
    make_credit_table(500, seed=1).to_csv(csv, index=False)
    version = remote.data.add("credit", csv)
    assert (version.kind, version.table_path) == ("table", "credit.csv")
    assert [(p["column"], p["kind"]) for p in version.pii] == [("email", "email")]
    assert version.profile["rows"] == 500
    assert platform.datasets.get("credit@v1") == version

    assert remote.data.validate("credit@v1").ok
    rules = tmp_path / "rules.yaml"
    rules.write_text(FAILING_RULES)
    report = remote.data.validate("credit", rules)
    assert not report.ok
    assert report.to_dict() == platform.datasets.validate("credit", rules).to_dict()
    assert report.failures[0].column == "age"
    assert remote.data.validate("credit", load_rules(rules)).to_dict() == report.to_dict()

    make_credit_table(500, seed=2).to_csv(csv, index=False)
    with pytest.raises(ValidationError, match="fails validation"):
        remote.data.add("credit", csv, rules=rules)
    assert [v.ref for v in platform.datasets.log("credit")] == ["credit@v1"]


def test_validation_refuses_a_folder(remote: Any, tmp_path: Path) -> None:
    remote.data.add("folder", make_tree(tmp_path / "tree"))
    with pytest.raises(ValidationError, match="not tabular"):
        remote.data.validate("folder")
    with pytest.raises(ValidationError, match="not tabular"):
        remote.data.load("folder")


def test_a_table_diff_through_the_server(remote: Any, platform: Any) -> None:
    remote.data.add("credit", make_credit_table(200, seed=1))
    remote.data.add("credit", make_credit_table(260, seed=1, snapshot=2))
    document = remote.data.diff("credit@v1", "credit@v2")
    assert document == platform.datasets.diff("credit@v1", "credit@v2")
    assert document["table"]["rows"] == {"old": 200, "new": 260, "delta": 60}


def test_bytes_that_do_not_match_their_digest_are_refused(
    editor: httpx.Client, platform: Any
) -> None:
    claimed = blake3.blake3(b"what the client promised").hexdigest()
    answer = editor.put(f"/blobs/{claimed}", content=b"something else")
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "integrity_error"
    assert "nothing was stored" in error["message"]
    assert not platform.blobs.exists(claimed)
    assert not platform.blobs.exists(blake3.blake3(b"something else").hexdigest())

    good = editor.put(f"/blobs/{claimed}", content=b"what the client promised")
    assert (good.status_code, good.json()["size"]) == (201, 24)
    back = editor.get(f"/blobs/{claimed}")
    assert back.content == b"what the client promised"
    assert back.headers["x-shipyard-digest"] == claimed
    assert editor.put("/blobs/xyz", content=b"x").json()["error"]["code"] == "validation_error"
    unknown = editor.get(f"/blobs/{blake3.blake3(b'nope').hexdigest()}")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")


def test_a_file_list_must_name_stored_blobs(editor: httpx.Client, platform: Any) -> None:
    data = b"stored bytes"
    digest = editor.put(f"/blobs/{blake3.blake3(data).hexdigest()}", content=data).json()["digest"]
    absent = blake3.blake3(b"absent").hexdigest()
    files = [
        {"path": "a.txt", "size": len(data), "mode": 0o644, "digest": digest},
        {"path": "b.txt", "size": 6, "mode": 0o644, "digest": absent},
    ]
    answer = editor.post("/datasets/things/versions", json={"files": files})
    assert answer.status_code == 422
    assert "not in the blob store" in answer.json()["error"]["message"]
    assert absent in answer.json()["error"]["message"]
    wrong_size = [{**files[0], "size": 99}]
    assert editor.post("/datasets/things/versions", json={"files": wrong_size}).status_code == 422
    for path in ("../escape", "/abs", "a//b", "a/"):
        bad = [{**files[0], "path": path}]
        answer = editor.post("/datasets/things/versions", json={"files": bad})
        assert answer.status_code == 422, path
    twice = [files[0], files[0]]
    assert (
        "twice"
        in editor.post("/datasets/things/versions", json={"files": twice}).json()["error"][
            "message"
        ]
    )
    assert platform.datasets.list() == []

    created = editor.post("/datasets/things/versions", json={"files": files[:1], "message": "m"})
    assert (created.status_code, created.json()["created"]) == (201, True)
    assert created.json()["ref"] == "things@v1"
    same = editor.post("/datasets/things/versions", json={"files": files[:1]})
    assert (same.status_code, same.json()["created"], same.json()["ref"]) == (
        200,
        False,
        "things@v1",
    )


def test_unknown_refs_are_404(remote: Any, editor: httpx.Client) -> None:
    for path in (
        "/datasets/nothing",
        "/datasets/nothing@v3/manifest",
        "/datasets/nothing/versions",
    ):
        answer = editor.get(path)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found"), path
    assert editor.get("/datasets/bad@v0").status_code == 422
    with pytest.raises(NotFound, match="no dataset named 'nothing'"):
        remote.data.get("nothing@v1")
    with pytest.raises(ValidationError):
        remote.data.get("../runs")
    assert remote.data.status("nothing", Path(__file__)).ref is None


def test_roles_guard_the_dataset_routes(
    served: tuple[str, dict[str, str]], remote: Any, tmp_path: Path
) -> None:
    url, tokens = served
    remote.data.add("shared", make_tree(tmp_path / "src"))
    with shipyard.connect(url, token=tokens["viewer"]) as viewer:
        assert [v.ref for v in viewer.data.list()] == ["shared@v1"]
        viewer.data.checkout("shared", tmp_path / "copy")
        with pytest.raises(PermissionDenied, match="editor"):
            viewer.data.add("shared", tmp_path / "src" / "a.txt")
    with shipyard.connect(url) as anonymous, pytest.raises(Unauthenticated):
        anonymous.data.list()
    assert httpx.get(f"{url}{API}/datasets").status_code == 401
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    answer = httpx.post(f"{url}{API}/datasets/shared/versions", json={"files": []}, headers=headers)
    assert answer.status_code == 403


def test_the_data_cli_acts_through_the_server(
    served: tuple[str, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, tokens = served
    monkeypatch.setenv("SHIPYARD_SERVER", url)
    monkeypatch.setenv("SHIPYARD_TOKEN", tokens["editor"])
    source = make_tree(tmp_path / "src")
    assert main(["data", "add", "cli", str(source), "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert (added["ref"], added["created"]) == ("cli@v1", True)
    assert main(["data", "ls", "--json"]) == 0
    assert [row["ref"] for row in json.loads(capsys.readouterr().out)] == ["cli@v1"]
    assert main(["data", "checkout", "cli", str(tmp_path / "back"), "--json"]) == 0
    assert files_of(tmp_path / "back") == files_of(source)


def test_a_packed_dataset_is_served_blob_by_blob(
    remote: Any, platform: Any, editor: httpx.Client, tmp_path: Path
) -> None:
    source = tmp_path / "many"
    source.mkdir()
    for i in range(3 * PACK_MIN_FILES):
        (source / f"f{i:03}.txt").write_text(f"row {i}\n" * (i + 1))
    version = platform.datasets.add("many", source)  # on the server's own disk: packed
    assert any(platform.blobs.backend.list("packs/"))
    digests = [entry.digest for entry in platform.datasets.manifest(version).entries]
    missing = editor.post("/blobs/missing", json={"digests": digests})
    assert missing.status_code == 200, missing.text
    assert missing.json()["missing"] == []
    remote.data.checkout("many", tmp_path / "out")
    assert files_of(tmp_path / "out") == files_of(source)


def test_many_small_files_travel_in_batches_and_land_in_packs(
    remote: Any, platform: Any, tmp_path: Path
) -> None:
    source = tmp_path / "many"
    for i in range(3 * PACK_MIN_FILES):
        folder = source / f"d{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:03}.bin").write_bytes(os.urandom(100 + i))
    (source / "d0" / "f000.bin").chmod(0o600)
    result = remote.data.add_with_stats("many", source)
    assert result.new_bytes == sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    assert any(platform.blobs.backend.list("packs/"))  # uploaded in batches, stored in packs
    remote.data.checkout("many", tmp_path / "out")
    assert files_of(tmp_path / "out") == files_of(source)


def _batch(blobs: list[tuple[str, bytes]]) -> bytes:
    from shipyard.storage.blob_batch import encode

    return encode(blobs)


def test_a_batch_with_one_wrong_digest_stores_nothing(editor: httpx.Client, platform: Any) -> None:
    good = os.urandom(50)
    good_digest = blake3.blake3(good).hexdigest()
    wrong = blake3.blake3(b"something else").hexdigest()
    answer = editor.post("/blobs/batch", content=_batch([(good_digest, good), (wrong, b"x")]))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["digest"] == wrong
    assert not platform.blobs.exists(good_digest)
    answer = editor.post("/blobs/batch", content=_batch([(good_digest, good)]))
    assert (answer.status_code, answer.json()) == (201, {"blobs": 1, "created": 1, "bytes": 50})
    assert platform.blobs.get_bytes(good_digest) == good


def test_malformed_and_oversized_batches_are_refused(
    editor: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for body in (b"", b"\x05\x00\x00\x00[1,2]", _batch([("ab", b"")]), _batch([])[:-1] + b"x"):
        answer = editor.post("/blobs/batch", content=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == "validation_error"
    monkeypatch.setattr(shipyard.server.blobs, "MAX_BATCH_BYTES", 1000)
    data = os.urandom(2000)
    answer = editor.post("/blobs/batch", content=_batch([(blake3.blake3(data).hexdigest(), data)]))
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "validation_error")


def test_fetching_a_batch_names_a_missing_blob(editor: httpx.Client, platform: Any) -> None:
    stored = platform.blobs.put_bytes(b"stored").digest
    absent = blake3.blake3(b"absent").hexdigest()
    answer = editor.post("/blobs/fetch", json={"digests": [stored, absent]})
    assert answer.status_code == 404
    assert absent in answer.json()["error"]["message"]
    answer = editor.post("/blobs/fetch", json={"digests": [stored, stored]})
    assert answer.status_code == 200
    from shipyard.storage.blob_batch import decode

    assert decode(answer.content) == [(stored, b"stored")]


def test_fetching_a_blob_too_large_for_a_batch_is_refused(
    editor: httpx.Client, platform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = [platform.blobs.put_bytes(os.urandom(6)).digest for _ in range(2)]
    monkeypatch.setattr(shipyard.server.blobs, "MAX_BATCH_BLOB", 5)
    answer = editor.post("/blobs/fetch", json={"digests": stored[:1]})
    assert answer.status_code == 422
    assert "GET /blobs/DIGEST" in answer.json()["error"]["message"]
    monkeypatch.setattr(shipyard.server.blobs, "MAX_BATCH_BLOB", 10)
    monkeypatch.setattr(shipyard.server.blobs, "MAX_BATCH_BYTES", 10)
    answer = editor.post("/blobs/fetch", json={"digests": stored})
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "validation_error")
