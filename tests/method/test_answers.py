"""Answer types (asal.method.answers), by hand: the paper's dominant label and MulActSeg's
multi-class answer, their bit masks, costs, and the budget that stops a round's answers."""

import numpy as np
import pytest

from asal.method.answers import (AnswerSpec, answer_queries, bit, dominant, members,
                                 multiclass, set_size)

# Three classes and void (column 3). Region 0: 70% class 0, 25% class 1, 5% class 2.
# Region 1: 60% void, 40% class 2. Region 2: 50% class 2, 45% class 1, 5% void.
HIST = np.array([[70, 25, 5, 0],
                 [0, 0, 40, 60],
                 [0, 45, 50, 5]])


def test_bit_masks_and_their_members():
    assert bit([0, 2, 3]).tolist() == [1, 4, 8]
    assert members(np.array([0b101, 0b1000]), 4).tolist() == [[True, False, True, False],
                                                              [False, False, False, True]]
    assert set_size(np.array([0, 1, 0b101, 0b1111])).tolist() == [0, 1, 2, 4]


def test_dominant_answer_is_the_most_frequent_label_for_one_click():
    sets, clicks = dominant(HIST, AnswerSpec())
    assert sets.tolist() == [1, 8, 4]  # class 0; void; class 2
    assert clicks.tolist() == [1, 1, 1]


def test_multiclass_names_every_class_of_at_least_min_share_and_pays_per_class():
    sets, clicks = multiclass(HIST, AnswerSpec(type="multiclass", min_share=0.1))
    # region 0: classes 0 (70%) and 1 (25%), not 2 (5%): 0b011, two clicks;
    # region 1: void dominant: void alone, one click;
    # region 2: classes 1 (45%) and 2 (50%): 0b110, two clicks
    assert sets.tolist() == [0b011, 0b1000, 0b110]
    assert clicks.tolist() == [2, 1, 2]
    # a share of 0.05 also names region 0's class 2: three classes, three clicks
    sets, clicks = multiclass(HIST, AnswerSpec(type="multiclass", min_share=0.05))
    assert sets[0] == 0b111 and clicks[0] == 3
    # extra classes priced at 0: always one click (the dominant label's price)
    _, clicks = multiclass(HIST, AnswerSpec(type="multiclass", extra_class_cost=0))
    assert clicks.tolist() == [1, 1, 1]


def test_answers_stop_when_the_clicks_are_spent():
    spec = AnswerSpec(type="multiclass", min_share=0.1)
    # costs 2, 1, 2: with 3 clicks the third query is not asked (2 + 1 = 3 spent)
    sets, clicks, label, n = answer_queries(HIST, spec, budget=3)
    assert n == 2 and clicks.tolist() == [2, 1] and sets.tolist() == [0b011, 0b1000]
    # the label a single-label reader sees: the most frequent label named
    assert label.tolist() == [0, 3]
    # with 4 clicks the third is asked and may overrun the budget by its extra class
    _, clicks, label, n = answer_queries(HIST, spec, budget=4)
    assert n == 3 and clicks.sum() == 5 and label.tolist() == [0, 3, 2]
    # the paper's oracle spends one click per query: B clicks answer B queries
    _, clicks, _, n = answer_queries(HIST, AnswerSpec(), budget=3)
    assert n == 3 and clicks.tolist() == [1, 1, 1]


def test_the_dominant_answer_takes_any_number_of_classes():
    # 150 classes (ADE20K) and void: a bit mask would not hold them; the label is enough
    hist = np.zeros((3, 151), np.int64)
    hist[0, 149], hist[1, 150], hist[2, 3] = 5, 9, 2
    sets, clicks, label, n = answer_queries(hist, AnswerSpec(), budget=3)
    assert sets is None and label.tolist() == [149, 150, 3] and clicks.tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="up to 62 classes"):
        answer_queries(hist, AnswerSpec(type="multiclass"))


def test_no_query_and_no_click():
    empty = np.zeros((0, 4), np.int64)
    for spec in (AnswerSpec(), AnswerSpec(type="multiclass")):
        _, clicks, label, n = answer_queries(empty, spec, budget=5)
        assert n == 0 and len(clicks) == len(label) == 0
    with pytest.raises(ValueError, match="at least one click"):
        answer_queries(HIST, AnswerSpec(), budget=0)


def test_an_answer_type_must_name_a_label_and_cost_a_click(monkeypatch):
    with pytest.raises(ValueError, match="min_share"):
        AnswerSpec(min_share=0.0)
    with pytest.raises(ValueError, match="unknown"):
        AnswerSpec(type="nosuchtype")
    from asal.method import answers

    spec = AnswerSpec(type="multiclass")
    for bad, says in [(lambda h, s: (np.zeros(len(h), np.int64), np.ones(len(h))), "no label"),
                      (lambda h, s: (np.full(len(h), 1 << 4), np.ones(len(h))), "beyond"),
                      (lambda h, s: (np.ones(len(h), np.int64), np.zeros(len(h))), "one click"),
                      (lambda h, s: (np.ones(2, np.int64), np.ones(2)), "one label set")]:
        monkeypatch.setitem(answers.BUILTIN_ANSWERS, "multiclass", bad)
        with pytest.raises(ValueError, match=says):
            answer_queries(HIST, spec)
