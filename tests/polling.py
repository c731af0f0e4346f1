"""Waiting for something a background thread or the emulator will do, with a deadline, not a sleep."""
import time


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05):
    """Return the first truthy ``predicate()`` value; fail the test if none comes within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout:g}s")
        time.sleep(step)
