"""Browser events back in order, once each, whichever path brought them."""

from __future__ import annotations

from rt_widget.streams import GAP_TIMEOUT_S, MAX_AHEAD, Stream


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


def test_items_of_the_wrong_shape_are_dropped_and_the_rest_kept(caplog):
    stream = Stream()
    batch = [
        {"seq": 0, "event": {"type": "e0"}},
        "not an item",
        {"seq": "1", "event": {}},
        {"seq": True, "event": {}},
        {"seq": 1, "event": "not an object"},
        {"seq": 1, "event": {}, "t": "soon"},
        {"seq": 1, "event": {}, "t": 10**5000},
        {"seq": 1, "event": {}, "call_id": 5},
        {"seq": 1, "event": {"type": "e1"}, "t": 1.5e12, "call_id": "rtc_1", "direction": "client"},
    ]
    assert seqs(stream.accept(batch)) == [0, 1]
    assert caplog.text.count("A browser event was dropped") == 7


def test_a_batch_that_is_not_a_list_is_dropped(caplog):
    stream = Stream()
    assert stream.accept({"seq": 0}) == []
    assert stream.accept("abc") == []
    assert seqs(stream.accept(items(0))) == [0]
    assert "not a list was dropped" in caplog.text


def test_a_seq_absurdly_far_ahead_cannot_skip_the_events_before_it(caplog):
    now = [0.0]
    stream = Stream(clock=lambda: now[0])
    stream.accept(items(0))
    assert stream.accept([{"seq": 10**5000, "event": {}}, {"seq": MAX_AHEAD + 5, "event": {}}]) == []
    now[0] += 10 * GAP_TIMEOUT_S
    assert seqs(stream.accept(items(1, 2))) == [1, 2]  # nothing was skipped
    assert caplog.text.count(f"more than {MAX_AHEAD} past the next expected") == 2
