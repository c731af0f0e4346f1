"""sp-tasks: invoke tasks. Each task is thin: flags -> one sp_tasks call -> print -> exit code.

Run ``invoke --list`` for the tasks and ``invoke <task> --help`` (or ``-h``) for flags and exit
codes. Every task is declared with ``@sp_task`` (sp_tasks/taskkit.py): the same short flag means
the same thing everywhere (-e env, -p processor, -f format, -y yes, -t tier; -h is help), options
are checked (sp_tasks/options.py) before anything is sent, and sp_tasks/console.py prints,
asks and turns errors into exit codes. Heavy modules are imported inside task bodies so
listing and validating stay fast. ``--env`` defaults to the ``sp.env`` config key
(``INVOKE_SP_ENV``) or ``local``.
"""
from __future__ import annotations

from pathlib import Path

from invoke import Collection

from sp_tasks import options
from sp_tasks.console import current
from sp_tasks.errors import ExitStatus
from sp_tasks.taskkit import check_format, emit, sp_task

ROOT = Path(__file__).resolve().parent


def _settings(c, env):
    from sp_tasks.settings import load_settings

    return load_settings(env or c.config.sp.env, ROOT)


# -- emulator ---------------------------------------------------------------------------------
@sp_task(help={"env": "environment whose EMULATOR_PORT / EMULATOR_DATA_DIR to use (default local)"})
def emulator_start(c, env=None):
    """Start the local Atlas emulator in the background (reuses a running one)."""
    from sp_tasks.atlas.connect import emulator_data_dir
    from sp_tasks.emulator import daemon

    settings = _settings(c, env)
    with current().waiting("the local emulator to start"):
        emit(daemon.start(emulator_data_dir(settings), settings.emulator_port).describe())


@sp_task(help={"env": "environment whose emulator to stop (default local)"})
def emulator_stop(c, env=None):
    """Stop the background emulator (its state stays in the data directory)."""
    from sp_tasks.atlas.connect import emulator_data_dir
    from sp_tasks.emulator import daemon

    settings = _settings(c, env)
    stopped = daemon.stop(emulator_data_dir(settings), settings.emulator_port)
    emit("emulator stopped" if stopped else "emulator was not running")


@sp_task(help={"env": "environment whose emulator to check (default local)"})
def emulator_status(c, env=None):
    """Say whether the background emulator is running, where, and with which data directory.

    Exits 1 when none is running, so scripts can test it."""
    from sp_tasks.atlas.connect import emulator_data_dir
    from sp_tasks.emulator import daemon

    settings = _settings(c, env)
    state = daemon.status(emulator_data_dir(settings), settings.emulator_port)
    emit(state.describe() if state.running else f"{state.describe()}: start it with "
         f"`invoke emulator.start -e {settings.name}` (tasks also start it when they need it)")
    return ExitStatus.SUCCESS if state.running else ExitStatus.ERROR


# -- validation and tiers -------------------------------------------------------------------
@sp_task(help={"env": "environment whose ${VAR} values and DEFAULT_TIER to use (default local)",
               "format": "text (default), json, or github (workflow annotations)"}, exits=(4,))
def validate(c, env=None, format=None):
    """Check processors/ and connections/ offline (schemas, ASP rules, secrets); exit 4 on errors."""
    from sp_tasks import diagnostics
    from sp_tasks.desired import load_project
    from sp_tasks.validation import validate_project

    from sp_tasks.profiling.decision import regression_diagnostics

    fmt = check_format(format, diagnostics.FORMATS)
    settings = _settings(c, env)
    project = load_project(settings)
    found = validate_project(project)
    found += regression_diagnostics(settings, [Path(f.path).stem for f in project.of_kind("processor")])
    emit(diagnostics.render(found, fmt))
    if settings.github_actions and format is None and found:
        emit(diagnostics.render_github(found))
    return ExitStatus.INVALID if diagnostics.count(found)[0] else ExitStatus.SUCCESS


@sp_task(help={"env": "environment whose baselines/<env>/history.csv profiles to use (default local)",
               "format": "text (default) or json"}, exits=(4,))
def tier_advise(c, env=None, format="text"):
    """Recommend a tier per processor: parallelism rule, plus memory and throughput when profiled."""
    from sp_tasks.desired import load_desired
    from sp_tasks.tiers import advise_all, render_advice

    fmt = check_format(format, ("text", "json"))
    settings = _settings(c, env)
    emit(render_advice(advise_all(load_desired(settings), settings.baselines_dir / "history.csv"), fmt))


# -- plan, snapshot, deploy, rollback, drift ---------------------------------------------------
def _runner(settings, targets=()):
    from sp_tasks.atlas.connect import open_client
    from sp_tasks.deploy.runner import Runner

    progress = current().progress  # retries and rate-limit pacing are heard, not silent waits
    return Runner(settings, open_client(settings, notify=progress), progress=progress, targets=tuple(targets))


def _confirm(plan) -> bool:
    """Ask before writing (--yes skips it); declining raises Cancelled: exit 1, nothing sent."""
    from sp_tasks.planning.render import summary_line

    current().confirm(f"{summary_line(plan)}\nApply to {plan.environment} ({plan.workspace})?",
                      declined="cancelled: nothing was sent")
    return True


def _show_plan(fmt, strategy="in-place", dry_run=False):
    """Print the plan before anything is applied (text output; machines get it in the result).
    Blue-green and canary differ from the plan's in-place wording, so their steps are shown too
    (by the result of a dry run, which lists the steps it would take)."""
    from sp_tasks.deploy.render import render_steps, staged_processors

    def show(plan, steps):
        if fmt == "text":
            staged = staged_processors(steps)
            shown_steps = strategy != "in-place" and not dry_run
            emit(_render_plan(plan, fmt, staged) + (render_steps(steps, strategy) if shown_steps else ""))

    return show


def _render_plan(the_plan, fmt, staged=None):
    from sp_tasks.planning import render

    if fmt == "text":
        return render.render_text(the_plan, color=current().color, staged=staged)
    if fmt == "markdown":
        return render.render_markdown(the_plan, staged=staged)
    return render.render_json(the_plan)


def _emit_outcome(fmt, flow):
    """Run a deploy/rollback flow and print its outcome in ``fmt``. A failed one is printed by the
    console (JSON and Markdown on stdout, so CI gets its result either way)."""
    from sp_tasks.deploy import render

    outcome = flow()
    emit(outcome.to_json() if fmt == "json" else render.render_outcome_markdown(outcome)
         if fmt == "markdown" else render.render_outcome_text(outcome))


PLAN_FORMATS = ("text", "markdown", "json")


def _check_targets(targets, desired, prune):
    """-p names a Git processor (checked before anything is sent); with --prune it may also name a
    live one Git no longer has (checked against live state when planning)."""
    from sp_tasks.planning.targeting import check_defined

    if targets and not prune:
        check_defined(targets, desired)


@sp_task(help={"env": "environment to plan for (default local)",
               "detailed-exitcode": "exit 2 when the plan has changes (for CI)",
               "format": "text (default), markdown or json", "out": "also write the plan JSON to this file",
               "prune": "plan deleting live processors/connections that are not in Git",
               "tier": "override DEFAULT_TIER for this plan (SP2..SP50 or auto)",
               "rotate-secrets": "update connections that have secrets (their values cannot be read back to compare)"},
         exits=(2, 4))
def plan(c, env=None, detailed_exitcode=False, format="text", out=None, prune=False, tier=None,
         rotate_secrets=False, processor=None):
    """Show what deploy would change, and why, without changing anything."""
    from sp_tasks.desired import load_desired
    from sp_tasks.planning import render

    fmt = check_format(format, PLAN_FORMATS)
    tier, out = options.tier(tier), options.writable_file("--out", out)
    targets = options.names("--processor", processor)
    settings = _settings(c, env)
    desired = load_desired(settings)
    _check_targets(targets, desired, prune)
    runner = _runner(settings, targets)
    the_plan = runner.plan(desired, runner.live(), prune=prune, tier=tier, rotate_secrets=rotate_secrets)
    emit(_render_plan(the_plan, fmt))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render.render_json(the_plan), encoding="utf-8")
    return ExitStatus.CHANGES_PRESENT if detailed_exitcode and the_plan.has_changes() else ExitStatus.SUCCESS


@sp_task(help={"env": "environment to snapshot (default local)",
               "out": "file to write (default .sp/snapshots/<env>/<UTC timestamp>.json)"})
def snapshot(c, env=None, out=None):
    """Save the full live state of the workspace (no secrets) for rollback or audit."""
    out = options.writable_file("--out", out)
    settings = _settings(c, env)
    runner = _runner(settings)
    emit(str(runner.snapshot(runner.live(), "manual", out)))


@sp_task(help={"env": "environment to deploy (default local)",
               "dry-run": "show the plan and the steps, send nothing",
               "plan": "apply exactly this saved plan (refused if stale or for another env)",
               "strategy": "in-place (default), blue-green or canary",
               "tier": "override DEFAULT_TIER (SP2..SP50 or auto)",
               "prune": "also delete live processors/connections that are not in Git",
               "rotate-secrets": "also update connections that have secrets (after rotating a password)",
               "format": "text (default), markdown or json"}, exits=(4,))
def deploy(c, env=None, yes=False, dry_run=False, plan=None, strategy=None, tier=None, prune=False,
           rotate_secrets=False, format="text", processor=None):
    """Validate, snapshot, plan, apply, health-gate and verify; roll back automatically on failure.

    With -p NAME (repeatable) only those processors and the connections they use are deployed;
    the plan names everything left untouched."""
    from sp_tasks.deploy import service
    from sp_tasks.desired import load_desired
    from sp_tasks.errors import UsageError

    fmt = check_format(format, PLAN_FORMATS)
    strategy, tier = options.strategy(strategy), options.tier(tier)
    plan_file = options.readable_file("--plan", plan)
    targets = options.names("--processor", processor)
    if plan_file and targets:
        raise UsageError("--plan applies a saved plan as it is (its targets included): make it with "
                         "`invoke plan -p NAME --out FILE` instead of giving -p to deploy")
    settings = _settings(c, env)
    desired = load_desired(settings)  # invalid definitions stop here: nothing is sent
    _check_targets(targets, desired, prune)
    runner = _runner(settings, targets)
    _emit_outcome(fmt, lambda: service.deploy(
        runner, desired, strategy=strategy, plan_file=str(plan_file) if plan_file else None, prune=prune, tier=tier,
        rotate_secrets=rotate_secrets, dry_run=dry_run, confirm=_confirm, show_plan=_show_plan(fmt, strategy, dry_run),
        answerable=current().check_answerable))


@sp_task(help={"env": "environment to roll back (default local)",
               "snapshot": "snapshot file to restore (default: the last verified good state; see --list)",
               "to-ref": "restore the processors/connections of this Git revision instead (e.g. HEAD~1)",
               "list": "list the snapshots to roll back to (time, reason, revision, verified) and exit",
               "dry-run": "show the plan only", "format": "text (default), markdown or json"}, exits=(4,))
def rollback(c, env=None, snapshot=None, to_ref=None, list=False, yes=False, dry_run=False, format="text",
             processor=None):
    """Restore the last verified good state: a snapshot (default) or a Git revision, with the same planner.

    With -p NAME (repeatable) only those processors (and the connections they use) are restored."""
    from sp_tasks.deploy import service, snapshots
    from sp_tasks.desired import load_desired
    from sp_tasks.errors import UsageError

    fmt = check_format(format, PLAN_FORMATS)
    if snapshot and to_ref:
        raise UsageError("give either --snapshot FILE or --to-ref REV, not both")
    snapshot_file = options.readable_file("--snapshot", snapshot)
    targets = options.names("--processor", processor)
    settings = _settings(c, env)
    if list:
        from sp_tasks.deploy.render import render_candidates

        runner = _runner(settings)
        emit(render_candidates(snapshots.candidates(settings.root, settings, runner.live()), settings.name, fmt))
    elif to_ref:
        from sp_tasks.gitrev import desired_at_ref

        desired = desired_at_ref(settings, to_ref)
        runner = _runner(settings, targets)
        _emit_outcome(fmt, lambda: service.deploy(runner, desired, dry_run=dry_run, confirm=_confirm,
                                                  show_plan=_show_plan(fmt)))
    else:
        git_desired = load_desired(settings)
        runner = _runner(settings, targets)
        path = snapshot_file or snapshots.default_target(
            snapshots.candidates(settings.root, settings, runner.live()), settings.name).path
        _emit_outcome(fmt, lambda: service.rollback(runner, path, git_desired, dry_run=dry_run,
                                                    confirm=_confirm, show_plan=_show_plan(fmt)))


@sp_task(help={"env": "environment whose deploy lock to break (default local)"})
def unlock(c, env=None, yes=False):
    """Break the workspace's deploy lock (left by a deploy that died); asks first: a running deploy
    that loses it stops without rolling back."""
    from sp_tasks.deploy import lock

    settings = _settings(c, env)
    runner = _runner(settings)
    held = runner.lock_status(runner.live())
    if held is None:
        emit(f"{settings.name}: no deploy lock on workspace {settings.workspace}")
        return
    state = f"stale: {held['stale_because']}" if held["stale_because"] else "its lease is current: it may be running"
    current().progress(f"{settings.name}: locked by {lock.describe(held)}; {state}")
    current().confirm("Break the deploy lock?", declined="left as is: the lock is still held")
    broken = lock.break_locks(runner.client)
    emit(f"{settings.name}: deploy lock broken ({len(broken)} lock processor(s) deleted)")


@sp_task(help={"env": "environment to check (default local)", "format": "text (default), markdown or json"},
         exits=(2, 4))
def drift(c, env=None, format="text", processor=None):
    """Compare live state with Git for a scheduled job: exit 2 when they differ."""
    from sp_tasks.desired import load_desired

    fmt = check_format(format, PLAN_FORMATS)
    targets = options.names("--processor", processor)
    settings = _settings(c, env)
    desired = load_desired(settings)
    _check_targets(targets, desired, prune=False)
    runner = _runner(settings, targets)
    the_plan = runner.plan(desired, runner.live())
    emit(_render_plan(the_plan, fmt))
    return ExitStatus.CHANGES_PRESENT if the_plan.has_changes() else ExitStatus.SUCCESS


@sp_task(help={"env": "environment to check (default local)", "format": "text (default) or json"})
def doctor(c, env=None, format="text"):
    """Check an environment before its first deploy, reading only: credentials, project, workspace,
    API versions, rate-limit budget, connection states, and the fields of every answer; exit 1 on
    anything that would break a deploy."""
    from sp_tasks import doctor as checks
    from sp_tasks.atlas.connect import open_client
    from sp_tasks.desired import load_project

    fmt = check_format(format, ("text", "json"))
    settings = _settings(c, env)
    project = load_project(settings)  # only counted: doctor does not judge definitions (validate does)
    names = tuple(f.doc["name"] for f in project.of_kind("connection") if isinstance(f.doc, dict) and "name" in f.doc)
    report = checks.run_doctor(settings, lambda s: open_client(s, notify=current().progress),
                               git_processors=len(project.of_kind("processor")), git_connections=names)
    emit(checks.to_json(report) if fmt == "json" else checks.render_text(report))
    return ExitStatus.SUCCESS if report.ok else ExitStatus.ERROR


# -- feature environments ---------------------------------------------------------------------
def _ask(question) -> bool:
    """Confirm an action (--yes skips it); declining raises Cancelled: exit 1."""
    current().confirm(question)
    return True


@sp_task(positional=["name"],
         help={"name": "feature name or branch (feature/my-thing -> environment my-thing, workspace feature-my-thing)",
               "from": "committed environment to derive from: project, credentials, variables (default: the default "
                       "environment, local; CI passes --from staging)",
               "tier": "DEFAULT_TIER of the feature environment (default: the base's, else SP2)",
               "yes": "accepted (env.create never asks)", "format": "text (default), markdown or json"}, exits=(4,))
def env_create(c, name, from_=None, tier=None, yes=False, format="text"):
    """Derive a feature environment from --from, create its workspace and deploy Git to it (idempotent).

    It does not ask first (--yes is accepted): everything it changes is the feature environment's own
    workspace, which exists for this branch alone."""
    from sp_tasks.deploy import service
    from sp_tasks.desired import load_desired
    from sp_tasks.feature.derive import derive

    fmt = check_format(format, PLAN_FORMATS)
    tier = options.tier(tier)
    env = derive(ROOT, name, base=from_ or c.config.sp.env, tier=tier)
    current().progress(env.describe())
    settings = _settings(c, env.name)
    desired = load_desired(settings)  # invalid definitions stop here: nothing is sent
    runner = _runner(settings)
    # The feature workspace belongs to the branch alone: what the branch no longer defines goes (prune).
    _emit_outcome(fmt, lambda: service.deploy(runner, desired, prune=True, confirm=lambda plan: True,
                                              show_plan=_show_plan(fmt)))


@sp_task(positional=["name"],
         help={"name": "feature name or branch, as given to env.create",
               "from": "base to derive the environment from when its files are not here, e.g. in a fresh CI "
                       "checkout (default: the default environment, local)",
               "format": "text (default) or json"})
def env_destroy(c, name, from_=None, yes=False, format="text"):
    """Stop and delete a feature environment's processors, then its connections, then its workspace; verify."""
    from sp_tasks.feature import derive, teardown

    fmt = check_format(format, ("text", "json"))
    env = derive.existing(ROOT, name) or derive.derive(ROOT, name, base=from_ or c.config.sp.env)
    settings = _settings(c, env.name)
    teardown.check_feature(settings, env)
    # a failed one's steps: in its error (console)
    outcome = teardown.destroy(_runner(settings), confirm=_ask, desired=_desired_if_valid(settings))
    if outcome.complete:
        derive.remove(ROOT, env)
    emit(outcome.to_json() if fmt == "json" else teardown.render_text(outcome))


def _desired_if_valid(settings):
    """Git's definitions for env.destroy, which names the data they write; None when they do not
    validate (destroy still works from live state: an invalid file must not keep a workspace alive)."""
    from sp_tasks.desired import load_desired
    from sp_tasks.errors import ValidationFailed

    try:
        return load_desired(settings)
    except ValidationFailed:
        return None


# -- profiling: profile, compare-baseline, charts, report ------------------------------------------
def _rule(settings, accept=()):
    from sp_tasks.profiling.decision import rule_from_thresholds

    return rule_from_thresholds(settings.thresholds, accept=accept or (),
                                source=f"environments/{settings.name}/thresholds.json")


@sp_task(help={"env": "environment to profile (default local)", "duration": "seconds to sample (default 60)",
               "interval": "seconds between samples (default 5)",
               "output": "write the raw samples CSV here instead of .sp/<env>/samples.csv (the run summary always "
                         "goes to .sp/<env>/current.csv)",
               "record": "append the run to the history (baselines/<env>/history.csv, or .sp/<env>/ with "
                         "PERF_ARTIFACTS=.sp); refused from a tree with uncommitted changes",
               "allow-dirty": "record even with uncommitted changes (the rows are marked dirty)",
               "reset": "start .sp/<env>/current.csv afresh instead of adding this run to it",
               "runs": "profile runs to take back to back (default 1; compare-baseline is calibrated for 4)"},
         exits=(3,))
def profile(c, env=None, duration=None, interval=None, processor=None, output=None, record=False,
            allow_dirty=False, reset=False, runs=None):
    """Sample processor stats to a samples CSV, summarize the run, check thresholds.json; exit 3 on a breach."""
    from sp_tasks.atlas.connect import open_client
    from sp_tasks.clock import SystemClock
    from sp_tasks.gitrev import current_sha, uncommitted
    from sp_tasks.profiling.fingerprints import settings_environment
    from sp_tasks.profiling.paths import paths_for
    from sp_tasks.profiling.record import check_options, profile_runs, run_profile

    # Strings from the command line (a float default would make invoke crash on "abc"): checked here.
    duration = options.positive_float("--duration", duration, 60.0)
    interval = options.positive_float("--interval", interval, 5.0)
    check_options(duration, interval)
    count = options.whole_number("--runs", runs, 1)
    names, output = options.names("--processor", processor), options.writable_file("--output", output)
    settings = _settings(c, env)
    dirty = uncommitted(settings.root) if record else []
    fetch, sha, environment = open_client(settings).list_processors, current_sha(settings.root), \
        settings_environment(settings)

    def one(i: int):
        meter = current().meter("profiling" if count == 1 else f"profiling run {i + 1}/{count}")
        return run_profile(fetch, SystemClock(), env=settings.name, root=settings.root, git_sha=sha,
                           duration=duration, interval=interval, processors=names or None,
                           thresholds=settings.thresholds,
                           thresholds_source=f"environments/{settings.name}/thresholds.json", record=record,
                           output=output, progress=meter, paths=paths_for(settings), environment=environment,
                           uncommitted=dirty, allow_dirty=allow_dirty, reset=reset and i == 0)

    outcome = profile_runs(count, one, current().progress)
    emit(outcome.text)
    return outcome.exit_status


@sp_task(iterable=["accept"],
         help={"env": "environment whose run history is the baseline (default local)",
               "history": "run history CSV (default baselines/<env>/history.csv, or .sp/<env>/ with "
                          "PERF_ARTIFACTS=.sp)",
               "current": "current runs CSV (default .sp/<env>/current.csv, else the newest recorded run)",
               "format": "text (default), markdown or json",
               "accept": "processor:metric whose change is intended: shown as accepted, never a regression "
                         "(repeatable; metric may be *)"}, exits=(3,))
def compare_baseline(c, env=None, history=None, current=None, format="text", accept=None):
    """Compare the current profile run(s) with the comparable run history; exit 3 on any regression."""
    from sp_tasks.profiling.paths import paths_for
    from sp_tasks.profiling.service import run_compare_baseline

    fmt = check_format(format, PLAN_FORMATS)
    history = options.readable_file("--history", history)
    current_file = options.readable_file("--current", current)
    settings = _settings(c, env)
    outcome = run_compare_baseline(settings.name, settings.root, history=history, current=current_file, fmt=fmt,
                                   rule=_rule(settings, accept), paths=paths_for(settings))
    emit(outcome.text)
    return outcome.exit_status


@sp_task(help={"env": "environment whose history to draw (default local)",
               "out": "directory for the PNGs (default reports/<env>/charts, or .sp/<env>/charts)"})
def charts(c, env=None, out=None):
    """Draw one trend chart per processor, plus an overview; only the charts whose numbers changed."""
    from sp_tasks.profiling.paths import paths_for
    from sp_tasks.profiling.service import run_charts

    out = options.writable_dir("--out", out)
    settings = _settings(c, env)
    emit(run_charts(settings.name, settings.root, out=out, rule=_rule(settings), paths=paths_for(settings)).text)


@sp_task(help={"env": "environment to report on (default local)",
               "out": "Markdown file to write (default reports/<env>/latest.md, or .sp/<env>/report.md)"})
def report(c, env=None, out=None):
    """Write the Markdown performance report linking the charts `invoke charts` drew (draws none itself)."""
    from sp_tasks.profiling.paths import paths_for
    from sp_tasks.profiling.service import run_report

    out = options.writable_file("--out", out)
    settings = _settings(c, env)
    outcome = run_report(settings.name, settings.root, out=out, rule=_rule(settings), paths=paths_for(settings))
    emit(f"wrote {outcome.paths[0]}")


@sp_task(iterable=["accept"],
         help={"env": "environment whose workspace runs the copies (default local; the emulator in CI)",
               "base": "Git revision whose definitions are the base, e.g. origin/main (default HEAD)",
               "runs": "rounds; in each, base and head copies run together from a fresh start (default 5, "
                       "at least 3)",
               "duration": "seconds sampled per round (default 10)",
               "interval": "seconds between samples (default 1)",
               "accept": "processor:metric whose change is intended: shown as accepted (repeatable; metric may "
                         "be *)",
               "images": "URL prefix where ab.png will be served, for the PR comment's image link",
               "from-last-run": "render the last run's comment again (e.g. with --images) without measuring",
               "clean": "only remove copies a killed perf-ab run left behind"}, exits=(3,))
def perf_ab(c, env=None, base="HEAD", runs=None, duration=None, interval=None, accept=None, images=None,
            from_last_run=False, clean=False):
    """Measure the base revision's and the working tree's processors side by side; exit 3 on a regression.

    Copies X__ab_base and X__ab_head write to their own sinks and are removed at the end (also on
    Ctrl-C/SIGTERM). Exit 1 also when the A/A check failed: unchanged processors measured apart,
    so the run cannot be trusted — rerun, or give it more --runs/--duration. Writes .sp/<env>/ab/.
    """
    from sp_tasks.profiling.abtask import clean as clean_copies
    from sp_tasks.profiling.abtask import rounds_option, run_perf_ab

    rounds = rounds_option(runs)
    duration = options.positive_float("--duration", duration, 10.0)
    interval = options.positive_float("--interval", interval, 1.0)
    settings = _settings(c, env)
    if clean:
        emit(clean_copies(settings))
        return ExitStatus.SUCCESS
    outcome = run_perf_ab(settings, base_ref=base, rounds=rounds, duration=duration, interval=interval,
                          accept=accept or (), images=images, from_last_run=from_last_run, say=current().progress)
    emit(outcome.text)
    return outcome.exit_status


emulator = Collection("emulator")
emulator.add_task(emulator_start, "start")
emulator.add_task(emulator_stop, "stop")
emulator.add_task(emulator_status, "status")
environments = Collection("env")
environments.add_task(env_create, "create")
environments.add_task(env_destroy, "destroy")

# Register new tasks here as well as defining them above; declare them with @sp_task.
ns = Collection(emulator, environments)
ns.add_task(validate)
ns.add_task(tier_advise)
for _task in (plan, snapshot, deploy, rollback, drift, profile, unlock, doctor):
    ns.add_task(_task)
for _task in (compare_baseline, charts, report, perf_ab):
    ns.add_task(_task)
ns.configure({"sp": {"env": "local"}})
