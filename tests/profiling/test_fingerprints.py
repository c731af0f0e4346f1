"""Fingerprints: the same definition gives the same digits whatever its name, number types or secrets."""
from __future__ import annotations

import pytest

from sp_tasks.errors import ConfigError
from sp_tasks.profiling.fingerprints import Machine, definition_fingerprint, environment_fingerprint
from sp_tasks.settings import load_settings
from tests.test_tasks_validate import REPO

PIPELINE = [{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gt": 100}}},
            {"$https": {"connectionName": "api", "headers": {"Authorization": "Bearer one"}}},
            {"$merge": {"into": {"connectionName": "c", "db": "d", "coll": "x"}}}]


def test_what_does_not_change_a_definition_does_not_change_its_fingerprint():
    base = definition_fingerprint(PIPELINE, {"dlq": {"connectionName": "c", "db": "d", "coll": "q"}}, "SP10")
    assert len(base) == 12 and all(c in "0123456789abcdef" for c in base)
    same_number = [PIPELINE[0], {"$match": {"obs.watts": {"$gt": 100.0}}}, *PIPELINE[2:]]
    rotated = [*PIPELINE[:2], {"$https": {"connectionName": "api", "headers": {"Authorization": "Bearer two"}}},
               PIPELINE[3]]
    reordered_options = {"dlq": {"coll": "q", "db": "d", "connectionName": "c"}, "resumeFromCheckpoint": False}
    for pipeline, options in ((same_number, None), (rotated, None), (PIPELINE, reordered_options)):
        assert definition_fingerprint(pipeline, options or {"dlq": {"connectionName": "c", "db": "d", "coll": "q"}},
                                      "SP10") == base


def test_what_changes_a_definition_changes_its_fingerprint():
    base = definition_fingerprint(PIPELINE, None, "SP10")
    stricter = [PIPELINE[0], {"$match": {"obs.watts": {"$gt": 400}}}, *PIPELINE[2:]]
    swapped = [PIPELINE[0], PIPELINE[2], PIPELINE[1], PIPELINE[3]]  # stage order matters
    assert len({base, definition_fingerprint(stricter, None, "SP10"), definition_fingerprint(swapped, None, "SP10"),
                definition_fingerprint(PIPELINE, None, "SP30")}) == 4


def test_environment_fingerprints_are_readable_and_say_what_makes_numbers_move():
    machine = Machine("AMD EPYC 7763; 64-Core", "x86_64", 4, "3.11")
    assert environment_fingerprint(emulator=True, machine=machine, version="0.1.0") == (
        "emulator; AMD EPYC 7763, 64-Core; x86_64; 4 CPUs; Python 3.11; sp-tasks 0.1.0")
    assert environment_fingerprint(emulator=False, cloud="AWS/VIRGINIA_USA") == "atlas; AWS/VIRGINIA_USA"


def test_local_artifacts_stay_in_dot_sp_unless_asked_and_a_bad_value_is_refused():
    assert load_settings("local", REPO, {}).baselines_dir == REPO / ".sp" / "local"
    assert load_settings("local", REPO, {"PERF_ARTIFACTS": "repo"}).baselines_dir == REPO / "baselines" / "local"
    with pytest.raises(ConfigError, match="PERF_ARTIFACTS 'git' must be repo"):
        load_settings("local", REPO, {"PERF_ARTIFACTS": "git"})
