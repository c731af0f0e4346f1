"""sp-tasks: invoke tasks. Each task is thin: flags -> one sp_tasks call -> print -> exit code.

Run ``invoke --list`` for the tasks and ``invoke --help <task>`` for flags. Heavy modules are
imported inside task bodies so listing and validating stay fast. Every task takes ``--env``
(default: the ``sp.env`` config key, i.e. ``INVOKE_SP_ENV`` or ``local``).
"""
from __future__ import annotations

from pathlib import Path

from invoke import Collection, task

from sp_tasks.errors import ExitStatus
from sp_tasks.taskkit import check_format, emit, exit_with, reports_errors

ROOT = Path(__file__).resolve().parent


def _settings(c, env):
    from sp_tasks.settings import load_settings

    return load_settings(env or c.config.sp.env, ROOT)


# -- emulator ---------------------------------------------------------------------------------
@task(help={"env": "environment whose EMULATOR_PORT / EMULATOR_DATA_DIR to use (default local)"})
@reports_errors
def emulator_start(c, env=None):
    """Start the local Atlas emulator in the background (reuses a running one)."""
    from sp_tasks.atlas.connect import emulator_data_dir
    from sp_tasks.emulator import daemon

    settings = _settings(c, env)
    print(daemon.start(emulator_data_dir(settings), settings.emulator_port).describe())


@task(help={"env": "environment whose emulator to stop (default local)"})
@reports_errors
def emulator_stop(c, env=None):
    """Stop the background emulator (its state stays in the data directory)."""
    from sp_tasks.atlas.connect import emulator_data_dir
    from sp_tasks.emulator import daemon

    settings = _settings(c, env)
    stopped = daemon.stop(emulator_data_dir(settings), settings.emulator_port)
    print("emulator stopped" if stopped else "emulator was not running")


@task(help={"env": "environment whose emulator to check (default local)"})
@reports_errors
def emulator_status(c, env=None):
    """Say whether the background emulator is running, where, and with which data directory."""
    from sp_tasks.atlas.connect import emulator_data_dir
    from sp_tasks.emulator import daemon

    settings = _settings(c, env)
    print(daemon.status(emulator_data_dir(settings), settings.emulator_port).describe())


# -- validation and tiers -------------------------------------------------------------------
@task(help={"env": "environment whose ${VAR} values and DEFAULT_TIER to use (default local)",
            "format": "text (default), json, or github (workflow annotations)"})
@reports_errors
def validate(c, env=None, format=None):
    """Check processors/ and connections/ offline (schemas, ASP rules, secrets); exit 4 on errors."""
    from sp_tasks import diagnostics
    from sp_tasks.desired import load_project
    from sp_tasks.validation import validate_project

    fmt = check_format(format or "text", diagnostics.FORMATS)
    settings = _settings(c, env)
    found = validate_project(load_project(settings))
    emit(diagnostics.render(found, fmt))
    if settings.github_actions and format is None and found:
        emit(diagnostics.render_github(found))
    exit_with(ExitStatus.INVALID if diagnostics.count(found)[0] else ExitStatus.SUCCESS)


@task(help={"env": "environment whose baselines/<env>/history.csv profiles to use (default local)",
            "format": "text (default) or json"})
@reports_errors
def tier_advise(c, env=None, format="text"):
    """Recommend a tier per processor: parallelism rule, plus memory and throughput when profiled."""
    from sp_tasks.desired import load_desired
    from sp_tasks.tiers import advise_all, render_advice

    fmt = check_format(format, ("text", "json"))
    settings = _settings(c, env)
    emit(render_advice(advise_all(load_desired(settings), settings.baselines_dir / "history.csv"), fmt))


emulator = Collection("emulator")
emulator.add_task(emulator_start, "start")
emulator.add_task(emulator_stop, "stop")
emulator.add_task(emulator_status, "status")

# Register new tasks here as well as defining them above.
ns = Collection(emulator)
ns.add_task(validate)
ns.add_task(tier_advise)
ns.configure({"sp": {"env": "local"}})
