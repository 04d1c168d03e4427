"""Boxes: the geometry the locator's recall, the synthesis's placement and the crops share."""

import pytest

from seqocr.boxes import iou, overlaps
from seqocr.evaluate.metrics import IOU_MATCH, match_boxes


def test_iou_is_one_for_the_same_box_zero_apart_and_a_third_for_half_shifted():
    box = (10.0, 10.0, 30.0, 20.0)
    assert iou(box, box) == 1.0
    assert iou(box, (40.0, 10.0, 60.0, 20.0)) == 0.0
    assert iou(box, (20.0, 10.0, 40.0, 20.0)) == pytest.approx(1 / 3)


def test_an_empty_box_overlaps_nothing():
    assert iou((5.0, 5.0, 5.0, 5.0), (5.0, 5.0, 5.0, 5.0)) == 0.0
    assert not overlaps((0.0, 0.0, 10.0, 10.0), (10.0, 0.0, 20.0, 10.0))  # touching edges only
    assert overlaps((0.0, 0.0, 10.0, 10.0), (9.0, 9.0, 20.0, 20.0))


def test_a_found_box_counts_for_one_true_box_only():
    truths = [(0.0, 0.0, 10.0, 10.0), (0.0, 0.0, 10.0, 10.0)]
    best = match_boxes(truths, [(0.0, 0.0, 10.0, 10.0)])
    assert best == [1.0, 0.0] and best[0] >= IOU_MATCH
