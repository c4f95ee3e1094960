"""Model cards: Markdown and HTML rendered from the registry's stored facts."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.errors import ValidationError
from shipyard.examples.credit import TARGET, make_credit_table
from shipyard.examples.training import feature_columns, make_model
from shipyard.registry.card import card, render_card
from shipyard.workspace import Workspace, init_workspace

DESCRIPTION = "Scores loan applicants. <script>alert('card')</script> & nothing else"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str, str]]:
    """credit-risk@v1 evaluated, gated into champion and approved; v2 described, unevaluated."""
    root = Path(tmp_path_factory.mktemp("card")) / "ws"
    init_workspace(root)
    ws = shipyard.connect(root)
    dv = ws.data.add("credit", make_credit_table(2000))
    frame = ws.data.load(dv.ref)
    numeric, categorical = feature_columns(frame)
    X = frame[numeric + categorical]
    model = make_model(frame, 1.0).fit(X, frame[TARGET])
    with ws.start_run(experiment="credit", inputs=[dv]) as run:
        first = run.log_model(model, name="credit-risk", example=X.head(5))
        second = run.log_model(
            model, name="credit-risk", example=X.head(5), description=DESCRIPTION
        )
    ws.models.evaluate(first.ref, dv.ref, target=TARGET, sensitive=["sex"])
    policy = {
        "evaluation": {"data": dv.ref, "target": TARGET, "sensitive": ["sex"]},
        "gates": ["roc_auc >= 0.5"],
    }
    ws.models.set_policy("credit-risk", policy)
    ws.models.promote("credit-risk", first.version, alias="champion")
    ws.models.request_approval(first.ref, "ready for review")
    ws.models.approve(first.ref, "looks fine")
    yield ws, first.ref, second.ref
    ws.close()


class Document(HTMLParser):
    """Collects tags and text, and every end tag that does not close the open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.mismatched: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.mismatched.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> Document:
    document = Document()
    document.feed(text)
    document.close()
    return document


def test_markdown_card_shows_the_stored_facts(registry: tuple[Workspace, str, str]) -> None:
    ws, ref, _ = registry
    text = card(ws.models, ref)
    [evaluation] = ws.models.evaluations(ref)
    assert text.startswith(f"# Model card: {ref}\n")
    assert "**Aliases:** champion" in text
    for name, value in evaluation["metrics"].items():
        assert f"| {name} | {value:.4g} |" in text
    for group, stats in evaluation["fairness"]["sex"]["by_group"].items():
        assert f"| {group} | {stats['count']} | {stats['accuracy']:.4g} |" in text
    parity = evaluation["fairness"]["sex"]["demographic_parity_difference"]
    assert f"- demographic_parity_difference: {parity:.4g}" in text
    top = evaluation["feature_importance"][0]
    assert f"| {top['feature']} | {top['mean']:.4g} |" in text
    assert "| roc_auc >= 0.5 | metric | ok |" in text
    assert "| approved | " in text
    assert "| looks fine |" in text
    assert "| `credit@v1` |" in text
    assert "**personal data:** email (email)" in text
    assert "holds personal data (email); the model does not take it as input" in text
    assert "The owner has not stated the intended use" in text
    assert "| income | float | float64 | yes |" in text


def test_html_card_is_standalone_and_escapes_the_description(
    registry: tuple[Workspace, str, str],
) -> None:
    ws, ref, described = registry
    for version in (ref, described):
        text = card(ws.models, version, format="html")
        document = parse(text)
        assert text.startswith("<!DOCTYPE html>")
        assert document.mismatched == []
        assert document.stack == []
        assert "style" in document.tags
        assert "table" in document.tags
        assert not {"script", "link", "img", "iframe"} & set(document.tags)
        assert "src=" not in text
    assert DESCRIPTION in "".join(parse(card(ws.models, described, format="html")).text)
    assert "&lt;script&gt;" in card(ws.models, described, format="html")


def test_markdown_card_shows_raw_html_as_text(registry: tuple[Workspace, str, str]) -> None:
    ws, _, described = registry
    text = card(ws.models, described, format="md")
    assert "<script>" not in text
    assert "&lt;script>alert('card')&lt;/script> & nothing else" in text


def test_card_of_an_unevaluated_version_says_so(registry: tuple[Workspace, str, str]) -> None:
    ws, _, described = registry
    text = card(ws.models, described)
    assert f"No evaluation stored: run `shipyard models evaluate {described} " in text
    assert "No evaluation is stored, so its quality and fairness are unknown." in text
    assert "No promotion verdict stored" in text
    assert "No approval steps recorded" in text
    assert DESCRIPTION.replace("<", "&lt;") in text  # raw HTML shown as text


@pytest.mark.parametrize("format", ["pdf", "HTML", ""])
def test_unknown_format_is_refused(registry: tuple[Workspace, str, str], format: str) -> None:
    ws, ref, _ = registry
    with pytest.raises(ValidationError, match="unknown card format") as raised:
        card(ws.models, ref, format=format)
    assert "\n" not in raised.value.message
    with pytest.raises(ValidationError, match="unknown card format"):
        render_card({"ref": ref}, format=format)


def _facts(**overrides: Any) -> dict[str, Any]:
    """A hand-made describe() document: unsafe, no run, one small group, a wide gap."""
    evaluation = {
        "data": "holdout@v3",
        "task": "classification",
        "target": "approved",
        "rows": 120,
        "metrics": {"accuracy": 0.912345},
        "fairness": {
            "region": {
                "by_group": {
                    "north": {"accuracy": 0.95, "count": 100},
                    "south | east": {"accuracy": 0.7, "count": 20},
                },
                "demographic_parity_difference": 0.25,
                "demographic_parity_ratio": 0.5,
            }
        },
    }
    facts = {
        "name": "scorer",
        "version": 3,
        "ref": "scorer@v3",
        "flavor": "cloudpickle",
        "safe": False,
        "author": "dana",
        "lineage": {"model": "scorer@v3", "run": None, "datasets": [], "code": None},
        "evaluations": [evaluation],
    }
    return {**facts, **overrides}


def test_limitations_are_derived_from_the_facts() -> None:
    text = render_card(_facts())
    assert "stored as cloudpickle, a format that runs code when loaded" in text
    assert "No training run is recorded" in text
    assert "Group 'south | east' of region has only 20 rows in holdout@v3" in text
    assert "demographic_parity_difference over region is 0.25 on holdout@v3 (above 0.1)" in text
    assert "demographic_parity_ratio over region is 0.5 on holdout@v3 (below 0.8)" in text
    assert "| south \\| east | 20 | 0.7 |" in text  # a pipe stays inside its cell
    assert "| accuracy | 0.9123 |" in text
    assert "No packages recorded." in text
    assert "No input columns recorded." in text


def test_a_clean_record_has_no_derived_limitation() -> None:
    facts = _facts(safe=True, evaluations=[])
    facts["lineage"] = {
        "run": {"id": "r1", "experiment": "e", "name": "n", "status": "finished", "user": "u"},
        "datasets": [{"ref": "train@v1", "digest": "ab" * 32, "kind": "table", "pii": []}],
        "code": {"commit": "c0ffee", "dirty": False},
    }
    facts["evaluations"] = [{**_facts()["evaluations"][0], "fairness": {}}]
    text = render_card(facts, format="md")
    assert "The evaluation on holdout@v3 covered no sensitive column" in text
    facts["evaluations"][0]["fairness"] = {"region": {"by_group": {"all": {"count": 500}}}}
    html = render_card(facts, format="html")
    assert "No limitation follows from the stored facts" in html
    assert parse(html).mismatched == []
