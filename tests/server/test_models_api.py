"""The registry through a server: upload, verified download, roles on aliases, approvals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shipyard
from live_server import LiveServer
from shipyard.data.manifest import Manifest
from shipyard.errors import IntegrityError, PermissionDenied, PromotionRefused, ValidationError
from shipyard.examples.credit import make_credit_table
from shipyard.examples.training import feature_columns, make_model
from shipyard.server.app import create_app


@pytest.fixture(scope="module")
def trained() -> tuple[Any, Any, Any]:
    frame = make_credit_table(1500, seed=11)
    numeric, categorical = feature_columns(frame)
    X = frame[numeric + categorical]
    return frame, X, make_model(frame, 1.0).fit(X, frame["default"])


@pytest.fixture
def tokens(platform: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server with auth on, and a token for each role."""
    secrets = {}
    for user, role in (("vic", "viewer"), ("eve", "editor"), ("ann", "approver")):
        _, secrets[role] = platform.access.create_token(user, role=role)
    with LiveServer(create_app(platform, auth=True)) as url:
        yield url, secrets


def _log(url: str, token: str, trained: tuple[Any, Any, Any]) -> Any:
    frame, X, model = trained
    with shipyard.connect(url, token=token) as ws:
        data = ws.data.add("credit", frame)
        with ws.start_run("credit", inputs=[data]) as run:
            return run.log_model(model, name="credit-risk", example=X.head(5))


def test_a_model_logged_through_the_server_loads_back_verified(
    tokens: tuple[str, dict[str, str]], trained: tuple[Any, Any, Any], platform: Any
) -> None:
    url, secrets = tokens
    version = _log(url, secrets["editor"], trained)
    assert (version.ref, version.flavor, version.safe) == ("credit-risk@v1", "sklearn", True)
    assert version.author == "eve"
    _, X, model = trained
    with shipyard.connect(url, token=secrets["viewer"]) as ws:
        loaded = ws.models.load("credit-risk@latest")
        assert (loaded.predict(X) == model.predict(X)).all()
        assert ws.models.lineage(version.ref)["datasets"][0]["ref"] == "credit@v1"
        assert [m.ref for m in ws.models.list()] == ["credit-risk@v1"]
    local = platform.models.get(version.ref)  # the same version, seen on the store
    assert local.signature == version.signature
    income = next(c for c in local.signature["inputs"] if c["name"] == "income")
    assert income["nullable"] is True  # the training data has gaps there


def test_a_viewer_cannot_register(
    tokens: tuple[str, dict[str, str]], trained: tuple[Any, Any, Any]
) -> None:
    url, secrets = tokens
    with pytest.raises(PermissionDenied):
        _log(url, secrets["viewer"], trained)


def test_a_tampered_blob_is_refused_by_the_client(
    tokens: tuple[str, dict[str, str]], trained: tuple[Any, Any, Any], platform: Any
) -> None:
    url, secrets = tokens
    version = _log(url, secrets["editor"], trained)
    manifest = Manifest.from_bytes(platform.blobs.get_bytes(version.digest))
    entry = manifest.by_path()["model.skops"]
    path = Path(platform.settings.artifacts_url.removeprefix("file://"))
    blob = next(p for p in path.rglob(f"*{entry.digest[4:]}*") if p.is_file())
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with shipyard.connect(url, token=secrets["viewer"]) as ws, pytest.raises(IntegrityError):
        ws.models.load(version.ref)


def test_roles_bind_on_protected_aliases_and_approvals(
    tokens: tuple[str, dict[str, str]], trained: tuple[Any, Any, Any]
) -> None:
    url, secrets = tokens
    version = _log(url, secrets["editor"], trained)
    with shipyard.connect(url, token=secrets["editor"]) as editor:
        with pytest.raises(PermissionDenied):
            editor.models.promote("credit-risk", version.version, alias="champion")
        assert editor.models.promote("credit-risk", 1, alias="challenger")["ok"] is True
        with pytest.raises(PermissionDenied):
            editor.models.set_policy("credit-risk", {"gates": [], "require_approval": True})
        editor.models.request_approval(version.ref, "please")
        with pytest.raises(PermissionDenied):
            editor.models.approve(version.ref)
    with shipyard.connect(url, token=secrets["approver"]) as approver:
        approver.models.set_policy(
            "credit-risk",
            {
                "evaluation": {"data": "credit@v1", "target": "default", "sensitive": ["sex"]},
                "gates": ["roc_auc >= 0.99"],
                "require_approval": True,
            },
        )
        assert approver.models.policy("credit-risk").require_approval is True
        with pytest.raises(PromotionRefused) as refused:
            approver.models.promote("credit-risk", 1, alias="champion")
        assert [c["ok"] for c in refused.value.details] == [False, False]
        with pytest.raises(ValidationError):
            approver.models.reject(version.ref, "")
        approver.models.approve(version.ref, "fine")
        approver.models.set_policy(
            "credit-risk",
            {
                "evaluation": {"data": "credit@v1", "target": "default", "sensitive": ["sex"]},
                "gates": ["roc_auc >= 0.5"],
                "require_approval": True,
            },
        )
        verdict = approver.models.promote("credit-risk", 1, alias="champion")
        assert verdict["ok"] is True
        assert approver.models.get("credit-risk@champion").aliases == ("challenger", "champion")
        evaluation = approver.models.evaluations(version.ref)[0]
        assert set(evaluation["fairness"]["sex"]["by_group"]) == {"female", "male"}
