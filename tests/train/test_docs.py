"""The Markdown docs' links: every relative link resolves, links into the code name a symbol
(never a line number) that the linked file defines, and docs/losses.md's table quotes
expressions that the named loss functions really contain."""
import ast
import inspect
import re
from pathlib import Path

import pytest

from train.gan import losses

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md", REPO / "models" / "README.md"]
LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")
SYMBOL = re.compile(r"`?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)`?")


def relative_links():
    """(doc, link text, target path, anchor) of every link that is not a URL or a bare anchor."""
    for doc in DOCS:
        for match in LINK.finditer(doc.read_text()):
            text, target = match[1], match[2]
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path, _, anchor = target.partition("#")
            yield doc.relative_to(REPO).as_posix(), text, (doc.parent / path).resolve(), anchor


def ids(links):
    return [f"{doc}->{path.relative_to(REPO).as_posix()}#{anchor}" if anchor else
            f"{doc}->{path.relative_to(REPO).as_posix()}" for doc, _, path, anchor in links]


LINKS = list(relative_links())
CODE_LINKS = [link for link in LINKS if link[2].suffix == ".py"]
MD_LINKS = [link for link in LINKS if link[2].suffix == ".md"]


@pytest.mark.parametrize("doc, text, path, anchor", LINKS, ids=ids(LINKS))
def test_relative_links_resolve_to_a_file(doc, text, path, anchor):
    assert path.is_file(), f"{doc} links to missing {path}"


@pytest.mark.parametrize("doc, text, path, anchor", CODE_LINKS, ids=ids(CODE_LINKS))
def test_code_links_name_a_symbol_not_a_line(doc, text, path, anchor):
    assert not re.fullmatch(r"L\d+(-L\d+)?", anchor), \
        f"{doc}: link {path.name} by the symbol it means, not #{anchor} (lines move)"
    symbol = SYMBOL.fullmatch(text)
    if symbol and not text.strip("`").endswith(path.name):  # [`name`](file.py), not [`file.py`]
        assert symbol[1] in defined_names(path), f"{doc}: {path.name} defines no {symbol[1]}"


def defined_names(path: Path) -> set[str]:
    """Top-level functions, classes and assigned names of a module, and Class.method names."""
    names = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {f"{node.name}.{item.name}" for item in node.body
                          if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_defined_names_reads_functions_classes_methods_and_constants():
    names = defined_names(REPO / "train" / "gan" / "losses.py")
    assert {"discriminator_loss", "GANLoss", "LOSSES"} <= names and "adversarial" not in names


# docs/losses.md's tables: each term's function, and the expressions that compute the term.
LOSS_TERMS = [
    ("discriminator_loss", ["binary_cross_entropy_with_logits(real_logit, torch.ones_like",
                            "binary_cross_entropy_with_logits(fake_logit, torch.zeros_like",
                            "class_weight * F.cross_entropy(real_class_logits, real_labels)"]),
    ("generator_loss", ["binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))",
                        "class_weight * F.cross_entropy(fake_class_logits, fake_labels)"]),
    ("hinge_discriminator_loss", ["F.relu(1 - real_logit).mean() + F.relu(1 + fake_logit).mean()"]),
    ("critic_generator_loss", ["-fake_logit.mean() + class_weight * F.cross_entropy(fake_class_logits"]),
    ("wasserstein_discriminator_loss", ["fake_logit.mean() - real_logit.mean()"]),
    ("gradient_penalty", ["epsilon * real.float() + (1 - epsilon) * fake.float()",
                          "torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)",
                          "((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()"]),
]


@pytest.mark.parametrize("symbol, expressions", LOSS_TERMS, ids=[s for s, _ in LOSS_TERMS])
def test_losses_md_links_each_loss_function_that_computes_its_terms(symbol, expressions):
    assert f"[`{symbol}`](../train/gan/losses.py)" in (REPO / "docs" / "losses.md").read_text()
    function = getattr(losses, symbol)
    source = inspect.getsource(function)
    assert all(piece in source for piece in expressions), source
    assert "maximises" in function.__doc__ or "penalty" in function.__doc__, \
        f"{symbol}'s docstring states its formula"


def test_every_loss_function_is_in_losses_md():
    linked = {symbol for doc, symbol, path, _ in CODE_LINKS if path.name == "losses.py"}
    pairs = {f.__name__ for loss in losses.LOSSES.values() for f in (loss.discriminator, loss.generator)}
    assert pairs | {"gradient_penalty"} <= {s.strip("`") for s in linked}
    assert {s for s, _ in LOSS_TERMS} == pairs | {"gradient_penalty"}


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc, text, path, anchor", [l for l in MD_LINKS if l[3]],
                         ids=ids([l for l in MD_LINKS if l[3]]))
def test_links_between_docs_resolve_to_a_heading(doc, text, path, anchor):
    headings = [slug(line.lstrip("#")) for line in path.read_text().splitlines()
                if line.startswith("#")]
    assert anchor in headings, f"{doc}: {path.name}#{anchor} not among {headings}"


def test_slug():
    assert slug(" Discriminator: real vs generated") == "discriminator-real-vs-generated"
