"""Parallel waits share list reads (deploy/states.py); a lone wait reads its one processor."""
import threading
from contextlib import ExitStack

import pytest

from sp_tasks.clock import FakeClock
from sp_tasks.deploy.states import FRESH, ProcessorStates
from sp_tasks.errors import AtlasNotFound


class Client:
    def __init__(self, **states):
        self.states = states
        self.calls: list[str] = []
        self.listing = None  # an Event the list call waits for, to hold it in flight

    def list_processors(self, include_locks=False):
        self.calls.append("list")
        if self.listing:
            self.listing.wait(10)
        return [{"name": n, "state": s} for n, s in self.states.items()]

    def get_processor(self, name):
        self.calls.append(f"get {name}")
        if name not in self.states:
            raise AtlasNotFound(404, "STREAM_PROCESSOR_NOT_FOUND", "missing")
        return {"name": name, "state": self.states[name]}


def test_a_lone_wait_reads_its_processor_and_parallel_waits_share_one_list_read():
    client, clock = Client(a="CREATED", b="STOPPED"), FakeClock()
    states = ProcessorStates(client, clock)
    with states.waiting():
        assert states.reader("a")() == "CREATED"
        assert client.calls == ["get a"]
        with states.waiting():
            read_a, read_b = states.reader("a"), states.reader("b")
            assert read_a() == "CREATED" and read_b() == "STOPPED"
            assert client.calls == ["get a", "list"]  # b was answered by a's list read
            client.states["a"] = "STARTED"
            assert read_a() == "CREATED"  # the same moment: the read is fresh enough
            clock.advance(FRESH + 0.01)
            assert read_a() == "STARTED" and client.calls.count("list") == 2
            assert states.reader("zz")() is None  # absent from the list: gone


def test_a_wait_never_trusts_a_list_read_that_started_before_it():
    client, clock = Client(a="STARTED"), FakeClock()
    states = ProcessorStates(client, clock)
    with ExitStack() as stack:
        stack.enter_context(states.waiting())
        stack.enter_context(states.waiting())
        assert states.reader("a")() == "STARTED"
        client.states["a"] = "STOPPED"  # a stop answered after that read, at the same instant
        assert states.reader("a")() == "STOPPED"  # a new wait lists again
        assert client.calls == ["list", "list"]


def test_waits_asking_while_a_list_read_runs_share_its_answer():
    client, clock = Client(a="CREATED", b="CREATED", c="CREATED"), FakeClock()
    client.listing = threading.Event()
    states = ProcessorStates(client, clock)
    answers = {}
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(states.waiting())
        readers = {n: states.reader(n) for n in "abc"}
        threads = [threading.Thread(target=lambda n=n: answers.setdefault(n, readers[n]())) for n in "abc"]
        for t in threads:
            t.start()
        while states.list_calls == 0:  # one of them is listing (held); the others find it in flight
            threading.Event().wait(0.01)
        client.listing.set()
        for t in threads:
            t.join(10)
    assert answers == {"a": "CREATED", "b": "CREATED", "c": "CREATED"}
    assert client.calls == ["list"]


def test_a_failed_list_read_fails_only_its_own_wait_and_the_next_read_lists_again():
    client, clock = Client(a="CREATED"), FakeClock()
    states = ProcessorStates(client, clock)
    real = client.list_processors
    client.list_processors = lambda include_locks=False: (_ for _ in ()).throw(TimeoutError("read timed out"))
    with states.waiting(), states.waiting():
        read = states.reader("a")
        with pytest.raises(TimeoutError):
            read()
        client.list_processors = real
        assert read() == "CREATED"
