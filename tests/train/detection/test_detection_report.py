"""The --evaluate report's held-out table: figures as the results hold them, the goal marked."""
import pytest

from train.detection.report import held_out_table


def row(balanced_accuracy: float) -> dict:
    parts = {f"{p}_average_precision": 0.5 for p in ("fingerprint", "real_model", "zero_shot", "top_levels")}
    return {"balanced_accuracy": balanced_accuracy, "generated_caught": 0.9, "real_fpr": 0.015,
            "average_precision": 0.99, **parts, "discriminator": {"balanced_accuracy": 0.6, "average_precision": 0.7}}


@pytest.mark.parametrize("accuracy, cell", [(0.95, "**0.950**"), (0.9881, "**0.988**"), (0.934, "0.934")])
def test_a_balanced_accuracy_is_bold_only_at_or_above_the_goal(accuracy, cell):
    header, rule, line = held_out_table({"mlp-hinge": row(accuracy)})
    assert line.startswith(f"| mlp-hinge | {cell} | 0.900 | 0.015 | 0.990 | 0.500 |")
    assert header.count("|") == rule.count("|") == line.count("|")
