"""strangers.py's reading of a detector graph: which tensors are its parts."""
import onnx
import pytest
from onnx import helper, TensorProto

from train.detection.strangers import part_logit_names
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
    # a fitted DetectorNet: the minimum over its three stacked parts
    (stacked_min(["a", "b", "c"], "real_logit"), ["a", "b", "c"]),
    # a base of two parts joined with a zero-shot part whose own graph ends in a Min
    (stacked_min(["a", "b"], "fitted") + [helper.make_node("Min", ["c", "b"], ["zero_shot/real_logit"]),
                                           helper.make_node("Min", ["fitted", "zero_shot/real_logit"], ["real_logit"])],
     ["a", "b", "zero_shot/real_logit"]),
])
def test_part_logit_names_finds_the_three_parts_of_either_form(nodes, expected):
    assert part_logit_names(graph_of(nodes)) == expected


def test_a_graph_without_three_parts_is_refused_naming_the_count():
    with pytest.raises(EvaluationError, match="minimum of 2 tensors"):
        part_logit_names(graph_of([helper.make_node("Min", ["a", "b"], ["real_logit"])]))
