"""``sp processors list|stats|test|tier-advise|profile|schema``: the commands that only read.

Scope: ``-p NAME`` (repeatable) or ``--all`` (defined in Git) as everywhere; without either,
``list`` and ``stats`` show the whole workspace (marking what Git defines) and the offline
commands take every processor file. ``list`` and ``stats`` are one list call whatever the
processor count; ``stats`` shows missing metrics as "-", never as 0. ``test`` exits 4 on invalid
files; ``profile`` exits 3 on a threshold breach.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from sp_tasks import options
from sp_tasks.cli import add_command, checked, views
from sp_tasks.desired import PROCESSOR
from sp_tasks.gitrev import current_sha
from sp_tasks.errors import ConfigError, ExitStatus, ValidationFailed


def register(commands, common, scope) -> None:
    def add(name, run, help_text, with_scope=True, exits=()):
        return add_command(commands, name, run, help_text, [common, scope] if with_scope else [common],
                           "sp processors", exits)

    add("list", cmd_list, "processors in the workspace: state, tier, pipeline, whether Git defines them")
    stats = add("stats", cmd_stats, "state, input/output/DLQ counts, latency p50/p99, memory (one API call)")
    stats.add_argument("--verbose", action="store_true", help="add each processor's operatorStats")
    add("test", cmd_test, "validate processor files offline (exit 4 on errors)")
    add("tier-advise", cmd_tier_advise, "recommend a tier per processor (parallelism, and profiles if recorded)")
    profile = add("profile", cmd_profile, "sample stats for --duration and summarize (exit 3 on a threshold breach)",
                  exits=(3,))
    profile.add_argument("--duration", type=checked(options.positive_float, "--duration"), default=60.0,
                         help="seconds to sample (default 60)")
    profile.add_argument("--interval", type=checked(options.positive_float, "--interval"), default=5.0,
                         help="seconds between samples (default 5)")
    profile.add_argument("--record", action="store_true",
                         help="append the run to the history (baselines/<env>/, or .sp/<env>/ with PERF_ARTIFACTS=.sp)")
    profile.add_argument("--output", metavar="FILE",
                         help="FILE.json: the profile JSON document; any other name: the raw samples CSV "
                              "(default .sp/<env>/samples.csv)")
    profile.add_argument("--thresholds", metavar="FILE",
                         help="limits to check instead of environments/<env>/thresholds.json")
    schema = add("schema", cmd_schema, "the processor file JSON Schema, or NAME's normalized definition",
                 with_scope=False)
    schema.add_argument("name", nargs="?", metavar="NAME", help="processor whose definition to print")
    schema.add_argument("--live", action="store_true", help="the live definition instead of the Git one")
    schema.add_argument("-n", "--samples", type=int, help=argparse.SUPPRESS)  # the seed's; explained when used


# -- live reads ---------------------------------------------------------------------------
def _live_docs(ctx) -> list[dict]:
    """One list call; filtered to the selection (-p names must exist, --all skips undeployed ones)."""
    from sp_tasks.cli.processors import deployed

    docs = ctx.client.list_processors()
    names = ctx.selected(required=False)
    if names is None:
        return sorted(docs, key=lambda d: d["name"])
    by_name = {d["name"]: d for d in docs}
    return [by_name[n] for n in deployed(ctx, names, {n: d.get("state", "") for n, d in by_name.items()})]


def cmd_list(ctx) -> int:
    docs = _live_docs(ctx)
    git = ctx.git_names(PROCESSOR)
    if ctx.json:  # "status" and "summary" are the seed's names, which its guide's jq filters read
        ctx.emit_json({"processors": [
            {"name": d["name"], "state": d.get("state"), "status": d.get("state"), "tier": d.get("tier"),
             "in_git": d["name"] in git,
             **views.redacted_definition({k: d[k] for k in ("pipeline", "options") if d.get(k)})} for d in docs],
            "summary": views.processors_summary(docs)})
    else:
        ctx.emit(views.table(views.PROCESSOR_HEADERS, [views.processor_row(d, d["name"] in git) for d in docs],
                             empty="no processors"))
        if docs:
            ctx.emit(views.summary_line(views.processors_summary(docs)))
    return 0


def cmd_stats(ctx) -> int:
    from sp_tasks.profiling.collect import samples_from_docs

    docs = _live_docs(ctx)
    metrics: dict[str, dict[str, float]] = {}
    for sample in samples_from_docs(docs, datetime.now(timezone.utc)):
        metrics.setdefault(sample.processor, {})[sample.metric] = sample.value
    records = [views.stats_record(d, metrics.get(d["name"], {}), ctx.args.verbose) for d in docs]
    if ctx.json:
        ctx.emit_json({"processors": records})
        return 0
    ctx.emit(views.stats_table(records))
    if ctx.args.verbose:
        ctx.emit("\n".join(["", *(views.operators_table(r) for r in records)]))
    return 0


# -- offline ------------------------------------------------------------------------------
def _git_selection(ctx) -> list[str]:
    names = ctx.selected(required=False) or sorted(ctx.git_names(PROCESSOR))
    ctx.require_in_git(names)
    return names


def cmd_test(ctx) -> int:
    from sp_tasks import diagnostics
    from sp_tasks.validation import validate_project

    files = ctx.git_names(PROCESSOR)
    wanted = {files[n] for n in _git_selection(ctx)}
    found = [d for d in validate_project(ctx.project) if d.file in wanted]
    ctx.emit(diagnostics.render(found, "json" if ctx.json else "text"))
    if ctx.settings.github_actions and not ctx.json and found:
        ctx.emit(diagnostics.render_github(found))
    return int(ExitStatus.INVALID if diagnostics.count(found)[0] else ExitStatus.SUCCESS)


def cmd_tier_advise(ctx) -> int:
    from sp_tasks.desired import load_desired
    from sp_tasks.tiers import advise_all, render_advice

    names = _git_selection(ctx)
    advice = advise_all(load_desired(ctx.settings), ctx.settings.baselines_dir / "history.csv")
    ctx.emit(render_advice([a for a in advice if a.processor in names], ctx.args.format))
    return 0


def cmd_schema(ctx) -> int:
    from sp_tasks.schema_check import SCHEMA_DIR

    if ctx.args.samples is not None:
        raise ConfigError("-n (sampling output documents) is not supported: sp talks only to the Atlas Admin API, "
                          "which cannot read sink collections; query the sink with mongosh instead")
    if not ctx.args.name:
        ctx.emit((SCHEMA_DIR / "processor.schema.json").read_text(encoding="utf-8"))
        return 0
    doc = _live_definition(ctx) if ctx.args.live else _git_definition(ctx)
    ctx.emit(json.dumps(views.redacted_definition(doc), indent=2, ensure_ascii=False))
    return 0


def _git_definition(ctx) -> dict:
    """The file as deploy sends it: ${VAR} rendered, normalized; refused while the file is invalid."""
    from sp_tasks.planning.normalize import processor_document
    from sp_tasks.validation import validate_project

    name = ctx.args.name
    ctx.require_in_git([name])
    path = ctx.git_names(PROCESSOR)[name]
    errors = [d for d in validate_project(ctx.project) if d.file == path and d.is_error]
    if errors:
        raise ValidationFailed(errors)
    doc = next(s.doc for s in ctx.project.of_kind(PROCESSOR) if s.path == path)
    return processor_document(doc["name"], doc["pipeline"], doc.get("options"), doc.get("tier"))


def _live_definition(ctx) -> dict:
    from sp_tasks.planning.normalize import processor_document_from_api

    return processor_document_from_api(ctx.client.get_processor(ctx.args.name))


# -- profile ------------------------------------------------------------------------------
def cmd_profile(ctx) -> int:
    # TODO(profiling): call the same entry point as `invoke profile` once tasks.py has it; this is
    # the function it is built on (sp_tasks.profiling.record.run_profile).
    from sp_tasks.clock import SystemClock
    from sp_tasks.gitrev import uncommitted
    from sp_tasks.profiling.fingerprints import settings_environment
    from sp_tasks.profiling.paths import paths_for
    from sp_tasks.profiling.record import run_profile
    from sp_tasks.settings import load_thresholds_file

    names = ctx.selected(required=False) or sorted(ctx.git_names(PROCESSOR))
    if ctx.args.thresholds:
        path = options.readable_file("--thresholds", ctx.args.thresholds)
        thresholds, source = load_thresholds_file(path), ctx.args.thresholds
    else:
        thresholds, source = ctx.settings.thresholds, f"environments/{ctx.settings.name}/thresholds.json"
    options.writable_file("--output", ctx.args.output)
    document_file = ctx.args.output if (ctx.args.output or "").lower().endswith(".json") else None
    outcome = run_profile(ctx.client.list_processors, SystemClock(), env=ctx.settings.name, root=ctx.settings.root,
                          git_sha=current_sha(ctx.settings.root), duration=ctx.args.duration,
                          interval=ctx.args.interval, processors=names, thresholds=thresholds,
                          thresholds_source=source, record=ctx.args.record,
                          output=None if document_file else ctx.args.output,
                          progress=ctx.console.meter("profiling"),
                          on_note=ctx.progress, paths=paths_for(ctx.settings),
                          environment=settings_environment(ctx.settings),
                          uncommitted=uncommitted(ctx.settings.root) if ctx.args.record else ())
    if ctx.json or document_file:
        document = _profile_document(ctx, outcome, thresholds, source)
        if document_file:
            Path(document_file).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            ctx.progress(f"profile saved to {document_file}")
    if ctx.json:
        ctx.emit_json(document)
    else:
        ctx.emit(outcome.text)
    return int(outcome.exit_status)


def _profile_document(ctx, outcome, thresholds, source: str) -> dict:
    """The seed's JSON document (sp_tasks.cli.profile_doc) from the run just made and its samples file."""
    from sp_tasks.cli.profile_doc import build_document
    from sp_tasks.profiling.datafiles import load_samples
    from sp_tasks.profiling.frames import WARMUP_FRACTION

    run = outcome.data
    document = build_document(load_samples(outcome.paths[0]), run.summary, breaches=run.breaches,
                              thresholds=thresholds, thresholds_source=source, notes=run.notes, run_id=run.run_id,
                              duration=ctx.args.duration, interval=ctx.args.interval,
                              warmup_fraction=WARMUP_FRACTION)
    document["summary"]["files"] = [str(p) for p in outcome.paths]
    return document
