"""reporting.keyfindings: the change in per cent, the most similar group's positions and ratings."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assessment.reporting import evidence as ev
from assessment.reporting.front import peer_finding
from assessment.reporting.keyfindings import peer_group_words, peer_positions, peer_rating, percent_change


@pytest.mark.parametrize("now, before, want", [(110, 100, 10.0), (90, 100, -10.0), (100, 100, 0.0), (3, 2, 50.0)])
def test_percent_change(now, before, want):
    got = percent_change(now, before)
    assert got == pytest.approx(want)
    assert before * (1 + got / 100) == pytest.approx(now)  # the change applied to `before` gives `now` back


def test_percent_change_from_nothing_is_not_a_number():
    assert math.isnan(percent_change(5, 0))


@pytest.fixture(scope="module")
def doc(demo_document):
    return demo_document("strategic_assessment")


def test_positions_one_per_measure_with_a_group(doc):
    pos = peer_positions(doc)
    key = ev.role_dataset(doc, "peer_benchmark")
    assert key is not None, "the demo catalogue has a most-similar-group table"
    peers = doc.workbench.intake.tables[key]
    assert len(pos) > 0 and set(pos["position"]) <= {"above", "within", "below"}
    assert pos["column"].is_unique and set(pos["column"]) <= set(peers.columns)
    # the partnership's own rate is the table's figure for it
    mine = peers[peers["csp_code"].astype(str) == doc.catalogue.partnership.code].iloc[0]
    want = pd.to_numeric(mine[pos["column"]]).to_numpy(dtype=float)
    assert pos["rate"].to_numpy() == pytest.approx(want)
    assert np.isfinite(pos["group_mean"].to_numpy(dtype=float)).all()


def test_rating_follows_the_position_of_the_named_measure(doc):
    pos = peer_positions(doc)
    first = pos.iloc[0]
    assert peer_rating(doc, (first["column"].lower(),)) == peer_finding(first["position"])
    assert peer_rating(doc, ("no measure is called this",)) == (None, "")


def test_group_words_count_the_other_members(doc):
    key = ev.role_dataset(doc, "peer_benchmark")
    n = len(doc.workbench.intake.tables[key]) - 1
    assert peer_group_words(doc) == f"the {n} most similar partnerships"
