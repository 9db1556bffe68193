"""docs/*.md: links into the code point at lines that exist and, for the losses, the right ones."""
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\((\.\./[^)#]+)(?:#L(\d+)(?:-L(\d+))?)?\)")


def code_links():
    for doc in sorted((REPO / "docs").glob("*.md")):
        for match in LINK.finditer(doc.read_text()):
            yield doc.name, match[1], match[2], match[3]


@pytest.mark.parametrize("doc, target, first, last", list(code_links()))
def test_links_from_docs_resolve(doc, target, first, last):
    path = (REPO / "docs" / target).resolve()
    assert path.exists(), f"{doc} links to missing {target}"
    if first:
        assert int(last or first) <= len(path.read_text().splitlines()), f"{doc}: {target}#L{first}"


def lines(path: str, first: int, last: int) -> str:
    return "\n".join((REPO / path).read_text().splitlines()[first - 1:last])


@pytest.mark.parametrize("anchor, expected", [
    ("L18-L19", ["binary_cross_entropy_with_logits(real_logit, torch.ones_like",
                 "binary_cross_entropy_with_logits(fake_logit, torch.zeros_like"]),
    ("L20", ["class_weight * F.cross_entropy(real_class_logits, real_labels)"]),
    ("L27", ["binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))"]),
    ("L28", ["class_weight * F.cross_entropy(fake_class_logits, fake_labels)"]),
    ("L38", ["F.relu(1 - real_logit).mean() + F.relu(1 + fake_logit).mean()"]),
    ("L45", ["-fake_logit.mean() + class_weight * F.cross_entropy(fake_class_logits"]),
    ("L55", ["fake_logit.mean() - real_logit.mean()"]),
    ("L65-L68", ["epsilon * real.float() + (1 - epsilon) * fake.float()",
                 "torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)",
                 "((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()"]),
])
def test_losses_md_points_at_the_lines_that_implement_each_term(anchor, expected):
    assert f"../train/gan/losses.py#{anchor}" in (REPO / "docs" / "losses.md").read_text()
    first, last = (int(n) for n in re.findall(r"\d+", anchor) * (2 if "-" not in anchor else 1))
    text = lines("train/gan/losses.py", first, last)
    assert all(piece in text for piece in expected), text


DOC_LINK = re.compile(r"\]\(([\w./-]+\.md)(?:#([\w-]+))?\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def doc_links():
    for doc in sorted((REPO / "docs").glob("*.md")):
        for match in DOC_LINK.finditer(doc.read_text()):
            if not match[1].startswith(".."):
                yield doc.name, match[1], match[2]


@pytest.mark.parametrize("doc, target, anchor", list(doc_links()))
def test_links_between_docs_resolve_to_a_file_and_heading(doc, target, anchor):
    path = REPO / "docs" / target
    assert path.is_file(), f"{doc} links to missing {target}"
    if anchor:
        headings = [slug(line.lstrip("#")) for line in path.read_text().splitlines()
                    if line.startswith("#")]
        assert anchor in headings, f"{doc}: {target}#{anchor} not among {headings}"


def test_slug():
    assert slug(" Discriminator: real vs generated") == "discriminator-real-vs-generated"
