"""The --evaluate report's held-out table (figures as the results hold them, the goal marked) and
its timing line."""
import pytest

from train.detection.report import held_out_table, timing


def row(balanced_accuracy: float) -> dict:
    parts = {f"{p}_average_precision": 0.5 for p in ("fingerprint", "real_model", "zero_shot", "top_levels")}
    return {"balanced_accuracy": balanced_accuracy, "generated_caught": 0.9, "real_fpr": 0.015,
            "average_precision": 0.99, **parts, "discriminator": {"balanced_accuracy": 0.6, "average_precision": 0.7}}


@pytest.mark.parametrize("accuracy, cell", [(0.95, "**0.950**"), (0.9881, "**0.988**"), (0.934, "0.934")])
def test_a_balanced_accuracy_is_bold_only_at_or_above_the_goal(accuracy, cell):
    header, rule, line = held_out_table({"mlp-hinge": row(accuracy)})
    assert line.startswith(f"| mlp-hinge | {cell} | 0.900 | 0.015 | 0.990 | 0.500 |")
    assert header.count("|") == rule.count("|") == line.count("|")


def test_the_timing_adds_up_every_rows_fit_and_names_this_runs_time_apart():
    results = {"held_out": {"a": {"seconds": 600.0}, "b": {"seconds": 1200.0}}, "seconds": 30.0}
    assert timing(results) == ("The 2 held-out fits took 30 min in all, one process each (each row's `seconds`); "
                               "this run, which fits only the rows not kept from an earlier one, took 0 min.")
