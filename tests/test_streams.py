"""Browser events back in order, once each, whichever path brought them."""

from __future__ import annotations

from rt_widget.streams import GAP_TIMEOUT_S, Stream


def items(*seqs: int) -> list[dict]:
    return [{"seq": s, "event": {"type": f"e{s}"}} for s in seqs]


def seqs(ready: list[dict]) -> list[int]:
    return [item["seq"] for item in ready]


def test_in_order_batches_pass_straight_through():
    stream = Stream()
    assert seqs(stream.accept(items(0, 1))) == [0, 1]
    assert seqs(stream.accept(items(2))) == [2]


def test_repeats_are_dropped():
    stream = Stream()
    stream.accept(items(0, 1, 2))
    assert seqs(stream.accept(items(1, 2, 3))) == [3]
    assert seqs(stream.accept(items(0))) == []


def test_a_batch_that_overtakes_waits_for_the_one_before_it():
    stream = Stream()
    assert seqs(stream.accept(items(0))) == [0]
    assert seqs(stream.accept(items(3, 4))) == []  # came over the link before 1-2 over the comm
    assert seqs(stream.accept(items(1, 2))) == [1, 2, 3, 4]
    assert seqs(stream.accept(items(3, 4, 5))) == [5]


def test_a_gap_that_never_fills_is_given_up_on_so_nothing_waits_forever():
    now = [0.0]
    stream = Stream(clock=lambda: now[0])
    stream.accept(items(0))
    assert stream.accept(items(2)) == []
    now[0] += GAP_TIMEOUT_S / 2
    assert stream.accept(items(3)) == []
    now[0] += GAP_TIMEOUT_S
    assert seqs(stream.accept(items(4))) == [2, 3, 4]
    assert seqs(stream.accept(items(1, 5))) == [5]  # too late: 1 was given up on
