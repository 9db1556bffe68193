"""python -m train.doc_numbers: spans parsed, keys looked up, values formatted, stale ones found
and rewritten; and the repository's own docs agree with their JSON files (the number test)."""
import json

import pytest

from train import doc_numbers
from train.doc_numbers import (DocNumbersConfig, documents, format_value, look_up, main, replace_block,
                               measure, parse_spans, refresh, run, Span)
from train.errors import DocNumberError

DATA = {"held_out": {"mlp-ns": {"balanced_accuracy": 0.87735}},
        "entries": [{"fid": 26.5}, {"fid": 29.6, "runs": [3, 4]}],
        "config": {"generated_train": "50000", "target_fpr": "0.02"}, "version": "1.30.0",
        "step": 9360, "tolerance": 0.0001, "gap": 2.4586915969848633e-06}


def span(source="r.json", key="step", spec="", written="9360", line=1):
    return Span("doc.md", line, source, key, spec, written)


@pytest.mark.parametrize("line, expected", [
    ("at <!-- num r.json:a.b .3f -->0.736<!-- /num -->.", [("r.json", "a.b", ".3f", "0.736")]),
    ("x <!-- num docs/r.json:entries.0.fid -->26.5<!-- /num -->", [("docs/r.json", "entries.0.fid", "", "26.5")]),
    ("**<!-- num r.json:p %.0f -->77<!-- /num --> %**", [("r.json", "p", "%.0f", "77")]),
    ("a <!-- num r.json:x ,d -->1,000<!-- /num --> and <!-- num r.json:y -->2<!-- /num -->",
     [("r.json", "x", ",d", "1,000"), ("r.json", "y", "", "2")]),
    ("no span, just 0.736 and <!-- a comment -->", []),
])
def test_parse_spans_reads_file_key_format_and_written_text(line, expected):
    spans = parse_spans(f"# title\n\n{line}\n", "doc.md")
    assert [(s.source, s.key, s.spec, s.written) for s in spans] == expected
    assert all(s.line == 3 and s.document == "doc.md" for s in spans)


@pytest.mark.parametrize("line, message", [
    ("a <!-- num r.json:x -->1", "doc.md:2: a span is not"),
    ("a <!-- num r.json -->1<!-- /num -->", "doc.md:2: a span is not"),
    ("<!-- num r.json:x -->1<!-- /num --> starts", "doc.md:2: a span starts the line"),
    ("  <!-- num r.json:x -->1<!-- /num --> indented", "doc.md:2: a span starts the line"),
])
def test_a_malformed_span_or_one_starting_a_line_is_an_error_naming_its_line(line, message):
    with pytest.raises(DocNumberError, match=message):
        parse_spans(f"first\n{line}\n", "doc.md")


@pytest.mark.parametrize("key, expected", [
    ("step", 9360),
    ("held_out.mlp-ns.balanced_accuracy", 0.87735),
    ("entries.1.fid", 29.6),
    ("entries.1.runs.1", 4),
    ("config.target_fpr", "0.02"),
])
def test_look_up_follows_nested_keys_and_list_indices(key, expected):
    assert look_up(DATA, key) == expected


@pytest.mark.parametrize("key, missing", [("held_out.upsample", "upsample"), ("entries.2.fid", "2"),
                                           ("entries.first", "first"), ("step.x", "x")])
def test_look_up_of_a_missing_key_names_it(key, missing):
    with pytest.raises(DocNumberError, match=f"no key '{key}' \\(nothing at '{missing}'\\)"):
        look_up(DATA, key)


@pytest.mark.parametrize("value, spec, expected", [
    (0.87735, ".3f", "0.877"),
    (0.87735, ".2f", "0.88"),
    (0.0209, "%.1f", "2.1"),
    (0.7925, "%.0f", "79"),
    (9360, ",d", "9,360"),
    (9360, "", "9360"),
    (0.535, "", "0.535"),
    ("50000", ",d", "50,000"),
    ("0.02", "%.0f", "2"),
    ("1.30.0", "", "1.30.0"),
    (4.276633262634277e-06, ".1e", "4.3e-6"),
    (0.0001, ".0e", "1e-4"),
    (123456.0, ".2e", "1.23e+5"),
])
def test_format_value_known_answers(value, spec, expected):
    assert format_value(value, spec) == expected


@pytest.mark.parametrize("value, spec", [(0.5, ",d"), ("1.30.0", ".2f"), ([1], ".3f"), (1.0, "x")])
def test_a_value_the_format_cannot_take_is_an_error_naming_both(value, spec):
    with pytest.raises(DocNumberError, match=f"cannot format .* with '{spec}'"):
        format_value(value, spec)


def test_measure_reads_the_json_file_once(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps(DATA))
    loaded = {}
    assert measure(span(key="entries.0.fid", spec=".2f"), tmp_path, loaded) == "26.50"
    assert measure(span(key="step", spec=",d"), tmp_path, loaded) == "9,360"
    assert list(loaded) == ["r.json"]


@pytest.mark.parametrize("source, key, message", [
    ("missing.json", "step", "doc.md:7: missing.json: no such file"),
    ("r.json", "entries.5.fid", "doc.md:7: r.json: no key 'entries.5.fid'"),
    ("bad.json", "step", "doc.md:7: bad.json: Expecting value"),
])
def test_a_missing_file_or_key_is_an_error_naming_document_file_and_key(tmp_path, source, key, message):
    (tmp_path / "r.json").write_text(json.dumps(DATA))
    (tmp_path / "bad.json").write_text("not json")
    with pytest.raises(DocNumberError, match=message):
        measure(span(source=source, key=key, line=7), tmp_path, {})


def make_repo(root, step=9360):
    """A repository with a JSON file and three documents citing it, one of them stale."""
    (root / "docs").mkdir()
    (root / "models").mkdir()
    (root / "docs" / "results.json").write_text(json.dumps({**DATA, "step": step}))
    cite = "docs/results.json"
    (root / "README.md").write_text(
        f"# R\n\nStep <!-- num {cite}:step ,d -->9,360<!-- /num --> of the run; caught "
        f"**<!-- num {cite}:held_out.mlp-ns.balanced_accuracy %.0f -->88<!-- /num --> %**.\n")
    (root / "models" / "README.md").write_text(f"FID <!-- num {cite}:entries.1.fid .1f -->30.0<!-- /num -->\n")
    (root / "docs" / "notes.md").write_text(f"Pinned: <!-- num {cite}:version -->1.30.0<!-- /num -->.\n")
    return root


@pytest.mark.parametrize("value, spec, shown", [(0.12345, ".3f", "0.123"), (0.5, "%.0f", "50"), (3, "", "3")])
def test_a_span_made_by_span_parses_back_to_its_source_key_and_text(value, spec, shown):
    (parsed,) = parse_spans(f"x {doc_numbers.span('d/r.json', 'rows.a.b', value, spec)} y", "doc.md")
    assert (parsed.source, parsed.key, parsed.spec, parsed.written) == ("d/r.json", "rows.a.b", spec, shown)


def test_replace_block_rewrites_only_between_the_markers(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("a\n<!-- t -->\nold\nold\n<!-- /t -->\nb\n")
    replace_block(doc, "<!-- t -->", "<!-- /t -->", ["new"])
    assert doc.read_text() == "a\n<!-- t -->\nnew\n<!-- /t -->\nb\n"
    with pytest.raises(DocNumberError, match="<!-- u -->"):
        replace_block(doc, "<!-- u -->", "<!-- /u -->", ["new"])


def test_documents_are_the_readme_the_model_card_and_docs(tmp_path):
    make_repo(tmp_path)
    (tmp_path / "docs" / "figures").mkdir()
    (tmp_path / "docs" / "figures" / "x.md").write_text("not a doc")
    assert [p.relative_to(tmp_path).as_posix() for p in documents(tmp_path)] == \
        ["README.md", "models/README.md", "docs/notes.md"]


def test_check_lists_the_stale_number_with_file_line_key_written_and_measured(tmp_path):
    make_repo(tmp_path)
    with pytest.raises(DocNumberError) as error:
        run(DocNumbersConfig(check=True), tmp_path)
    assert str(error.value).splitlines() == [
        "1 of 4 numbers are stale (--write rewrites them):",
        "models/README.md:1: docs/results.json:entries.1.fid written '30.0', measured '29.6'"]


def test_write_then_check_round_trip_touches_only_the_spans(tmp_path):
    make_repo(tmp_path)
    before = (tmp_path / "README.md").read_text()
    stale, count = run(DocNumbersConfig(write=True), tmp_path)
    assert [(s.document, s.written, s.measured) for s in stale] == [("models/README.md", "30.0", "29.6")]
    assert (tmp_path / "models" / "README.md").read_text() == \
        "FID <!-- num docs/results.json:entries.1.fid .1f -->29.6<!-- /num -->\n"
    assert (tmp_path / "README.md").read_text() == before
    assert run(DocNumbersConfig(check=True), tmp_path) == ([], 4)


def test_a_drifted_json_value_is_reported_then_rewritten(tmp_path):
    make_repo(tmp_path)
    run(DocNumbersConfig(write=True), tmp_path)
    (tmp_path / "docs" / "results.json").write_text(json.dumps({**DATA, "step": 9840}))
    stale, _ = refresh(tmp_path, write=False)
    assert [(s.document, s.line, s.key, s.written, s.measured) for s in stale] == \
        [("README.md", 3, "step", "9,360", "9,840")]
    refresh(tmp_path, write=True)
    assert "Step <!-- num docs/results.json:step ,d -->9,840<!-- /num --> of" in \
        (tmp_path / "README.md").read_text()


def test_the_command_exits_1_listing_stale_numbers_and_0_when_none(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(doc_numbers, "REPO", make_repo(tmp_path))
    assert main(["--check"]) == 1
    assert "doc_numbers: 1 of 4 numbers are stale" in capsys.readouterr().err
    assert main(["--write"]) == 0 and "rewrote 1 of 4 numbers" in capsys.readouterr().out
    assert main([]) == 0 and "all 4 numbers agree" in capsys.readouterr().out


def test_the_repository_docs_agree_with_their_json_files():
    """The number test: every figure README.md, models/README.md and docs/*.md cite from a
    JSON file is what that file holds (`python -m train.doc_numbers --write` fixes it)."""
    stale, count = refresh(doc_numbers.REPO, write=False)
    assert count >= 40, "the docs cite their figures through spans"
    assert not stale, "\n".join(f"{s.document}:{s.line}: {s.source}:{s.key} written "
                                f"{s.written!r}, measured {s.measured!r}" for s in stale)


def copy_docs(root):
    """A copy of the repository's checked docs and of every JSON file their spans cite."""
    repo = doc_numbers.REPO
    cited = {span.source for doc in documents(repo)
             for span in parse_spans(doc.read_text(), doc.relative_to(repo).as_posix())}
    for path in documents(repo) + [repo / source for source in sorted(cited)]:
        copy = root / path.relative_to(repo)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(path.read_text())
    return root


def test_the_number_test_fails_on_a_drifted_figure_of_the_real_docs(tmp_path):
    """A copy of the repository's docs and JSON files, one measured figure changed: the check
    names every span citing it."""
    results = copy_docs(tmp_path) / "docs" / "detector_results.json"
    data = json.loads(results.read_text())
    data["held_out_summary"]["worst_balanced_accuracy"] = 0.7312
    results.write_text(json.dumps(data))
    stale, _ = refresh(tmp_path, write=False)
    assert {(s.document, s.measured) for s in stale} == {
        ("models/README.md", "0.73"), ("docs/gan_notes.md", "0.73"), ("docs/gan_notes.md", "0.731"),
        ("docs/detector.md", "0.731")}


def test_a_new_detector_shipped_json_reaches_every_doc_citing_the_shipped_models(tmp_path):
    """docs/detector_shipped.json is `python -m train.detector --shipped`'s output: after a new
    generator is shipped, rerunning it makes the seed's test, the real test FPR and the sanity
    battery stale wherever they are cited, and --write brings every copy in line."""
    shipped = copy_docs(tmp_path) / "docs" / "detector_shipped.json"
    data = json.loads(shipped.read_text())
    data["seed_test"]["detector"]["balanced_accuracy"] = 0.9312
    data["real_test_fpr"] = 0.0312
    data["sanity"]["models"]["detector"]["passed"] = 5
    shipped.write_text(json.dumps(data))
    stale = {(s.document, s.key, s.measured) for s in refresh(tmp_path, write=False)[0]}
    assert stale == {("README.md", "seed_test.detector.balanced_accuracy", "0.931"),
                     ("models/README.md", "seed_test.detector.balanced_accuracy", "0.931"),
                     ("docs/gan_notes.md", "seed_test.detector.balanced_accuracy", "0.931"),
                     ("docs/detector.md", "seed_test.detector.balanced_accuracy", "0.931"),
                     ("README.md", "real_test_fpr", "3.1"), ("docs/detector.md", "real_test_fpr", "3.12"),
                     ("README.md", "sanity.models.detector.passed", "5"),
                     ("models/README.md", "sanity.models.detector.passed", "5"),
                     ("docs/detector.md", "sanity.models.detector.passed", "5"),
                     ("docs/gan_notes.md", "sanity.models.detector.passed", "5")}
    refresh(tmp_path, write=True)
    assert refresh(tmp_path, write=False)[0] == []


def test_a_new_eval_json_reaches_the_readme_the_model_card_and_the_notes(tmp_path):
    """docs/eval.json is the shipped run's `python -m train.evaluate` output: replacing it
    makes the Inception FID stale wherever it is cited, and --write brings every copy in line."""
    evaluation = copy_docs(tmp_path) / "docs" / "eval.json"
    data = json.loads(evaluation.read_text())
    data["fid"]["fid"] = 21.37
    evaluation.write_text(json.dumps(data))
    stale, _ = refresh(tmp_path, write=False)
    assert {(s.document, s.measured) for s in stale if s.key == "fid.fid"} == \
        {("README.md", "21.4"), ("models/README.md", "21.4"), ("docs/gan_notes.md", "21.4"),
         ("docs/recipe.md", "21.37"), ("docs/detector.md", "21.4")}  # recipe.md: two decimals
    refresh(tmp_path, write=True)
    assert refresh(tmp_path, write=False)[0] == []
