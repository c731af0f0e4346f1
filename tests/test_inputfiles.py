"""Reading user-given files: every failure is a DataFileError (exit 4) naming file, place and fix."""
from __future__ import annotations

import os

import pytest

from sp_tasks import inputfiles, jsonpos
from sp_tasks.errors import DataFileError, ExitStatus, InvalidEnvironment, MalformedFile, MalformedJson


def test_missing_directory_and_non_utf8_files(tmp_path):
    with pytest.raises(DataFileError, match="nope.json does not exist: check the path of the plan file"):
        inputfiles.read_text(tmp_path / "nope.json", what="plan file")
    with pytest.raises(DataFileError, match="is a directory: give the path of a snapshot file inside it"):
        inputfiles.read_text(tmp_path, what="snapshot file")
    (tmp_path / "latin.env").write_bytes(b"A=1\nREGION=S\xe3o\n")
    with pytest.raises(MalformedFile) as err:
        inputfiles.read_text(tmp_path / "latin.env", "config.env", what="config.env file")
    assert str(err.value) == "config.env:2:9: byte 0xe3 is not UTF-8 text; save the config.env file as UTF-8"
    assert err.value.exit_status == ExitStatus.INVALID
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf{}")
    assert inputfiles.read_text(tmp_path / "bom.json") == "{}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(DataFileError, match="permission denied"):
        inputfiles.read_text(path)


@pytest.mark.parametrize("levels", [101, 400, 5000, 100_000])
def test_nesting_beyond_the_limit_is_malformed_json_at_its_place(levels):
    text = '{"a":\n' + "[" * levels + "]" * levels + "}"
    with pytest.raises(MalformedJson) as err:
        jsonpos.parse(text, "p.json")
    assert (err.value.line, err.value.column) == (2, 100)  # the bracket that opens level 101
    assert "nested more than 100 levels deep" in str(err.value)


def test_nesting_up_to_the_limit_parses_and_strings_do_not_count():
    text = "[" * 99 + '"[[[[{{{{"' + "]" * 99
    assert jsonpos.parse(text).value is not None
    assert jsonpos.parse("[" * 105 + "]" * 105, max_depth=110).value is not None


def test_environment_errors_are_exit_4_and_still_config_errors():
    from sp_tasks.errors import ConfigError

    assert issubclass(InvalidEnvironment, ConfigError) and InvalidEnvironment.exit_status == ExitStatus.INVALID
    assert ConfigError.exit_status == ExitStatus.ERROR  # missing credentials, a busy port: not bad input


def test_profile_data_files(tmp_path):
    from sp_tasks.profiling.datafiles import read_runs

    with pytest.raises(DataFileError, match="is a directory"):
        read_runs(tmp_path)
    (tmp_path / "h.csv").write_bytes(b"run_id,timestamp\n\xff\n")
    with pytest.raises(MalformedFile, match=r"h.csv:2:1: byte 0xff is not UTF-8"):
        read_runs(tmp_path / "h.csv")
    (tmp_path / "h.csv").write_bytes(b'run_id,timestamp,git_sha,processor,metric,value\n"a\x00b,1\n')
    with pytest.raises(DataFileError, match="h.csv: line 2"):
        read_runs(tmp_path / "h.csv")
