"""The one console: exit-code mapping, colour rules, prompts, heartbeats, and the final line in text and JSON."""
from __future__ import annotations

import io
import json

import pytest

from polling import wait_for
from sp_tasks import console as con
from sp_tasks.clock import FakeClock
from sp_tasks.deploy import waiting
from sp_tasks.diagnostics import Diagnostic
from sp_tasks.errors import (AtlasUnavailable, Cancelled, ConfigError, ExitStatus, HealthGateFailed, UsageError,
                             ValidationFailed, WaitTimeout)


class Tty(io.StringIO):
    def isatty(self):
        return True


def console(fmt="text", *, yes=False, answer=None, tty=True):
    stdin = (Tty if tty else io.StringIO)(answer or "")
    return con.Console(fmt, yes=yes, stdout=io.StringIO(), stderr=io.StringIO(), stdin=stdin, command="invoke deploy")


def test_one_mapping_from_errors_to_exit_codes():
    assert con.exit_code(ValidationFailed([])) == 4
    assert con.exit_code(UsageError("x")) == con.exit_code(AtlasUnavailable("x")) == 1
    assert con.exit_code(HealthGateFailed("x")) == con.exit_code(Cancelled("x")) == 1
    assert con.exit_code(KeyboardInterrupt()) == 130
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        con.exit_code(ZeroDivisionError())


def test_help_lists_the_exit_codes_a_command_can_end_with():
    text = con.exit_codes_help((3,))
    assert text.startswith("Exit codes:") and "  3    regression" in text and "  130  interrupted" in text
    assert "  2 " not in text and "  4    invalid input" in text and "  0    success" in text


@pytest.mark.parametrize("environ, tty, expected", [
    ({}, True, True), ({}, False, False), ({"NO_COLOR": "1"}, True, False), ({"TERM": "dumb"}, True, False),
    ({"FORCE_COLOR": "1"}, False, True), ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
    ({"NO_COLOR": ""}, True, True),  # no-color.org: only a non-empty value counts
])
def test_colour_only_on_a_terminal_and_never_with_no_color(environ, tty, expected):
    assert con.wants_color(Tty() if tty else io.StringIO(), environ) is expected
    assert con.paint("x", "red", expected) == ("\033[31mx\033[0m" if expected else "x")


def test_yes_skips_the_prompt_and_y_confirms():
    quiet = console(yes=True)
    quiet.confirm("Apply?")
    assert quiet.stderr.getvalue() == ""
    asked = console(answer="y\n")
    asked.confirm("Apply?")
    assert asked.stderr.getvalue() == "Apply? [y/N] "


@pytest.mark.parametrize("answer", ["n\n", "\n", "yes please\n", ""])
def test_anything_but_yes_cancels_with_exit_1(answer):
    asked = console(answer=answer)
    with pytest.raises(Cancelled, match="nothing was sent") as info:
        asked.confirm("Apply?", declined="cancelled: nothing was sent")
    assert con.exit_code(info.value) == 1


def test_a_session_nobody_can_answer_is_refused_naming_the_flag():
    with pytest.raises(ConfigError, match=r"invoke deploy needs confirmation .* --yes"):
        console(tty=False).confirm("Apply?")


def test_the_final_line_in_text_carries_every_diagnostic():
    found = [Diagnostic("processors/a.json", 3, "/pipeline", "sink-missing", "error", "no sink; add $merge")]
    text = console()
    assert text.fail(ValidationFailed(found)) == 4
    err = text.stderr.getvalue()
    assert "processors/a.json:3" in err and err.rstrip().endswith("1 invalid definition(s); nothing was sent to Atlas")
    assert text.stdout.getvalue() == ""


def test_errors_are_json_under_format_json():
    found = [Diagnostic("processors/a.json", 3, "/pipeline", "sink-missing", "error", "no sink")]
    machine = console("json")
    assert machine.fail(ValidationFailed(found)) == 4
    doc = json.loads(machine.stdout.getvalue())
    assert doc["ok"] is False and doc["exit_code"] == 4 and doc["error"]["type"] == "ValidationFailed"
    assert doc["diagnostics"][0]["rule"] == "sink-missing"
    machine = console("json")
    machine.fail(UsageError("--strategy 'nosuch' is not valid"))
    assert json.loads(machine.stdout.getvalue())["error"] == {"type": "UsageError",
                                                            "message": "--strategy 'nosuch' is not valid"}


def test_run_returns_the_body_status_and_ends_an_interrupt_with_a_final_line():
    quiet = console()
    assert con.run(quiet, lambda: ExitStatus.REGRESSION) == 3
    assert con.run(quiet, lambda: None) == 0

    def interrupted():
        stop = KeyboardInterrupt()
        stop.add_note("the deploy was rolled back to snap.json and verified")
        raise stop

    assert con.run(quiet, interrupted) == 130
    assert quiet.stderr.getvalue().endswith("error: interrupted; the deploy was rolled back to snap.json and verified\n")


def test_current_is_the_running_commands_console():
    seen = []
    mine = console()
    con.run(mine, lambda: seen.append(con.current()))
    assert seen == [mine] and con.current() is not mine


def test_heartbeat_after_3_s_then_regularly():
    clock, said = FakeClock(), []
    beat = con.Heartbeat("solarGroupStats to stop", clock, said.append)
    for _ in range(44):  # 0 … 21.5 s
        beat.tick()
        clock.sleep(0.5)
    assert said[:3] == ["still waiting for solarGroupStats to stop (3 s)", "still waiting for solarGroupStats to stop (9 s)",
                        "still waiting for solarGroupStats to stop (15 s)"]
    assert said[3:] == ["still waiting for solarGroupStats to stop (21 s)"]  # nothing in between


def test_a_long_stop_reports_heartbeats_through_the_progress_callable():
    said = []

    class Stopping:
        def __init__(self, clock):
            self.clock = clock

        def get_processor(self, name):
            return {"state": "STOPPED" if self.clock.monotonic() > 16 else "STARTED"}

    clock = FakeClock()
    waiting.wait_for_processor(Stopping(clock), "solarGroupStats", "STOPPED", clock=clock, timeout=300,
                               progress=said.append)
    assert [s.split(" (")[0] for s in said] == ["still waiting for processor solarGroupStats to be STOPPED"] * 3
    clock = FakeClock()
    with pytest.raises(WaitTimeout, match="processor solarGroupStats to be STOPPED after 10 s: it is still STARTED"):
        waiting.wait_for_processor(Stopping(clock), "solarGroupStats", "STOPPED", clock=clock, timeout=10)


def test_a_blocking_call_gets_heartbeats_from_a_thread():
    busy = console()
    with busy.waiting("the local emulator to start", first=0.0, every=0.01):
        wait_for(lambda: "still waiting for the local emulator to start" in busy.stderr.getvalue())
    after = busy.stderr.getvalue()
    assert after.startswith("  still waiting for the local emulator to start (0 s)")


def test_a_long_run_without_a_terminal_still_reports_progress():
    quiet = console()
    show = quiet.steps("profiling", every=10)
    for second in range(0, 61, 2):
        show(float(second), 60.0)
    lines = quiet.stderr.getvalue().splitlines()
    assert lines == [f"  profiling: {n} of 60 s" for n in (0, 10, 20, 30, 40, 50, 60)]


def test_a_progress_bar_on_a_terminal_and_steps_elsewhere():
    bar = con.Console(stdout=io.StringIO(), stderr=Tty())
    draw = bar.meter("profiling", width=10)
    for done in (0.0, 2.0, 4.0):
        draw(done, 4.0)
    assert bar.stderr.getvalue().endswith("\rprofiling [##########]   4.0/4.0 s\n")
    assert bar.stderr.getvalue().count("\r") == 3
    piped = console()
    piped.meter("profiling")(0.0, 60.0)
    assert piped.stderr.getvalue() == "  profiling: 0 of 60 s\n"


def test_every_output_ends_with_a_newline_even_after_an_unfinished_bar_or_prompt(monkeypatch):
    """Ctrl-C mid-bar or Ctrl-D at a prompt used to leave the final line glued to the bar/prompt."""
    monkeypatch.setenv("NO_COLOR", "1")
    cut = con.Console(stdout=io.StringIO(), stderr=Tty())
    cut.meter("profiling", width=4)(1.0, 4.0)

    def interrupted():
        raise KeyboardInterrupt

    assert con.run(cut, interrupted) == con.INTERRUPTED
    assert cut.stderr.getvalue() == "\rprofiling [#...]   1.0/4.0 s\nerror: interrupted\n"

    reported: list[str] = []  # invoke's path: the final line goes into an Exit message
    eof = console(answer="")
    with pytest.raises(Cancelled) as info:
        eof.confirm("Apply?")
    eof.fail(info.value, reported.append)
    assert eof.stderr.getvalue() == "Apply? [y/N] \n" and reported[-1].startswith("error: cancelled")

    answered = console(answer="y\n")
    answered.confirm("Apply?")
    answered.out("done")
    answered.progress("saved")
    assert answered.stderr.getvalue() == "Apply? [y/N]   saved\n"  # the Enter typed ended the prompt's line
