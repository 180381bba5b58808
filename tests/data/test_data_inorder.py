"""inorder.in_order: a function over items on threads, the caller's thread one of them;
answers, and the first error, in the order of the items."""

import threading
import time

import pytest

from chainrule.data.inorder import in_order


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_answers_come_in_the_order_of_the_items(workers):
    def slow_evens(item):
        time.sleep(0.01 if item % 2 == 0 else 0)  # later items often finish first
        return item * item

    assert list(in_order(slow_evens, range(20), workers, workers + 1)) == [i * i for i in range(20)]


def test_the_first_error_in_item_order_is_raised():
    """Item 1 fails late, item 3 at once: item 1's error, as one thread would raise it."""

    def failing(item):
        if item == 1:
            time.sleep(0.05)
            raise ValueError("item 1")
        if item == 3:
            raise ValueError("item 3")
        return item

    answers = in_order(failing, range(6), 2, 4)
    assert next(answers) == 0
    with pytest.raises(ValueError, match="item 1"):
        next(answers)


def test_the_caller_works_while_a_thread_is_stuck():
    """A pool thread held on item 0: the caller does the later items itself meanwhile, and
    the answers still come in order."""
    started, release = threading.Event(), threading.Event()
    ran_here = []
    caller = threading.get_ident()

    def work(item):
        if threading.get_ident() != caller:
            started.set()
            release.wait(5)  # the pool's thread: stuck until the caller has done the rest
        else:
            ran_here.append(item)
            if len(ran_here) == 2:
                release.set()
        return item

    def items():
        yield 0
        started.wait(5)  # item 0 is on the pool's thread before the others are handed out
        yield from (1, 2)

    answers = in_order(work, items(), 2, 3)
    assert next(answers) == 0
    assert ran_here == [1, 2]
    assert list(answers) == [1, 2]


def test_an_item_a_spare_thread_is_slow_to_finish_is_done_again_by_the_caller():
    """spare: the pool thread, stuck on item 0, is not waited for; the caller does item 0
    again itself, and its answer is the one yielded."""
    started, release = threading.Event(), threading.Event()
    caller = threading.get_ident()
    done_by_caller = []

    def work(item):
        if threading.get_ident() != caller:
            started.set()
            release.wait(5)  # stuck until the caller has done every item
            return "from the stuck thread"
        done_by_caller.append(item)
        if len(done_by_caller) == 3:
            release.set()
        return item

    def items():
        yield 0
        started.wait(5)
        yield from (1, 2)

    began = time.perf_counter()
    assert list(in_order(work, items(), 2, 2, spare=True)) == [0, 1, 2]
    assert sorted(done_by_caller) == [0, 1, 2] and time.perf_counter() - began < 4
