"""strangers.py's reading of a detector graph: which tensors are its parts, and the whole
detector's logit from theirs."""
import numpy as np
import onnx
import pytest
from onnx import helper, TensorProto

from train.detection.strangers import detector_logit, part_logit_names, scored
from train.errors import EvaluationError


def graph_of(nodes, inputs=("a", "b", "c")) -> onnx.ModelProto:
    values = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None]) for n in inputs]
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    out = helper.make_tensor_value_info("real_logit", TensorProto.FLOAT, [None])
    return helper.make_model(helper.make_graph(nodes, "g", values, [out], [axes]))


def stacked_min(parts, out):
    """What torch exports for parts(...).amin(1): Unsqueeze each part, Concat, ReduceMin."""
    nodes = [helper.make_node("Unsqueeze", [p, "axes"], [f"u_{p}"]) for p in parts]
    return nodes + [helper.make_node("Concat", [f"u_{p}" for p in parts], ["stack"], axis=1),
                    helper.make_node("ReduceMin", ["stack", "axes"], [out], keepdims=0)]


@pytest.mark.parametrize("nodes, expected", [
    # a fitted DetectorNet: the minimum over its four stacked parts
    (stacked_min(["a", "b", "c", "d"], "real_logit"),
     {"fingerprint": "a", "real_model": "b", "zero_shot": "c", "top_levels": "d"}),
    # a base of two parts joined with a zero-shot part whose own graph ends in a Min (a detector
    # older than the top-levels part: it has three)
    (stacked_min(["a", "b"], "fitted") + [helper.make_node("Min", ["c", "b"], ["zero_shot/real_logit"]),
                                           helper.make_node("Min", ["fitted", "zero_shot/real_logit"], ["real_logit"])],
     {"fingerprint": "a", "real_model": "b", "zero_shot": "zero_shot/real_logit"}),
    # that detector joined with a top-levels part too
    (stacked_min(["a", "b"], "fitted") + [
        helper.make_node("Min", ["c", "b"], ["zero_shot/real_logit"]),
        helper.make_node("Min", ["fitted", "zero_shot/real_logit"], ["without_top_levels/real_logit"]),
        helper.make_node("Neg", ["d"], ["top_levels/real_logit"]),
        helper.make_node("Min", ["without_top_levels/real_logit", "top_levels/real_logit"], ["real_logit"])],
     {"fingerprint": "a", "real_model": "b", "zero_shot": "zero_shot/real_logit",
      "top_levels": "top_levels/real_logit"}),
])
def test_part_logit_names_finds_the_parts_of_each_form(nodes, expected):
    assert part_logit_names(graph_of(nodes, inputs=("a", "b", "c", "d"))) == expected


def test_a_graph_that_is_not_a_detectors_minimum_is_refused_naming_the_count():
    with pytest.raises(EvaluationError, match="minimum of 5 tensors"):
        inputs = ("a", "b", "c", "d", "e")
        part_logit_names(graph_of(stacked_min(list(inputs), "real_logit"), inputs=inputs))


def test_the_detector_is_the_minimum_of_its_parts_in_the_rows_too():
    real = {"fingerprint": np.array([2.0, 1.0, -0.5]), "zero_shot": np.array([1.0, 3.0, 4.0])}
    generated = {"fingerprint": np.array([-1.0, 2.0]), "zero_shot": np.array([3.0, 0.5])}
    assert detector_logit(real).tolist() == [1.0, 1.0, -0.5]
    row = scored(real, generated)["detector"]
    assert row["caught"] == 0.5 and row["real_fpr"] == pytest.approx(1 / 3)
