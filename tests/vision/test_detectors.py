"""The pluggable detector: an ONNX model run through onnxruntime (built here with the onnx
helper API, so nothing is downloaded), and OpenCV's HOG on small regions."""

from __future__ import annotations

import numpy as np
import pytest

from mailwarden.vision import config, synthetic
from mailwarden.vision.detect import HogVerifier, OnnxDetector
from mailwarden.vision.pipeline import Analyzer

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")


def tiny_model(rows: list[list[float]], size: int = 64) -> bytes:
    """A model with the detector layout: image [1, 3, size, size] in, rows [N, 6] out. It returns
    fixed rows, plus the image's mean times zero, so the image really flows through it."""
    from onnx import TensorProto, helper

    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    out = helper.make_tensor_value_info("detections", TensorProto.FLOAT, [len(rows), 6])
    fixed = helper.make_tensor("fixed", TensorProto.FLOAT, [len(rows), 6], np.ravel(rows).tolist())
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["fixed", "nothing"], ["detections"]),
    ]
    graph = helper.make_graph(nodes, "tiny", [image], [out], initializer=[fixed, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def test_the_onnx_detector_scales_its_boxes_to_the_frame() -> None:
    model = tiny_model([[8, 16, 24, 48, 0.9, 0], [0, 0, 10, 10, 0.2, 0], [1, 1, 5, 5, 0.9, 3]])
    detector = OnnxDetector(model)
    found = detector.detect(np.zeros((360, 640, 3), np.uint8))
    # Only the confident person: the weak one and the other class are dropped.
    assert len(found) == 1
    d = found[0]
    assert d.label == "person" and d.score == pytest.approx(0.9)
    assert d.box == pytest.approx((80.0, 90.0, 240.0, 270.0))


def test_the_pipeline_runs_with_the_onnx_detector() -> None:
    scene = synthetic.dwell_scene()
    detector = OnnxDetector(tiny_model([[28, 30, 36, 56, 0.8, 0]]))
    rules = config.parse_rules(
        {"analysis": {"fps": None}, "zones": [{"name": "room", "rules": [{"type": "presence"}]}]}
    )
    analyzer = Analyzer(rules, scene.size, scene.fps, detector=detector)
    events = []
    for index, t, image in scene.frames():
        events += analyzer.process(image, index, t)
    # The model always sees the same person: one track, one presence, in the model's place.
    assert [e.type for e in events] == ["presence"]
    x0, y0, x1, y1 = events[0].bbox
    assert (x0, y0, x1, y1) == pytest.approx((280, 169, 360, 315), abs=4)
    assert analyzer.summary.person_tracks == 1


def test_hog_looks_only_at_the_region() -> None:
    hog = HogVerifier()
    blank = np.full((360, 640, 3), 128, np.uint8)
    assert not hog.is_person(blank, (100, 100, 160, 260))
    # A region too small to hold a person is refused without running the detector.
    assert not hog.is_person(blank, (10, 10, 14, 20))
