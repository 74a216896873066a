"""Runs ataraxis-data-structures 7.2.0's own pytest suite against ``seqring.compat``.

What it does, in order:

1. takes the ataraxis 7.2.0 sdist (``--sdist PATH``, or downloads it from PyPI with ``pip download``), and unpacks
   its ``tests/`` folder into a scratch directory;
2. rewrites only the import statements: every ``from ataraxis_data_structures[.module] import names`` becomes
   ``from seqring.compat import names``. A private name (``_compare_arrays``) or a module that compat does not have
   becomes a placeholder that raises when a test uses it; the tests that use one are in :data:`EXCLUDED`. Nothing
   else in a test is changed;
3. runs pytest on :data:`FILES` without the tests of :data:`PRIVATE` (they read or patch ataraxis's private
   attributes) and :data:`MESSAGE` (they match the exact text of error messages), then runs the :data:`MESSAGE`
   tests again with ``pytest.raises``'s ``match`` ignored, so that they still check the exception classes. It exits
   non-zero if either pass fails, or if an excluded id no longer names a test (so the lists cannot go stale).

The suite imports ``ataraxis_base_utilities`` and ``ataraxis_time``, whose releases need Python 3.12; the local
stand-ins in ``../shared/reference/ataraxis-env`` (the ones ``setup.sh`` installs beside the real ataraxis) are put on
``PYTHONPATH``.

``--target ataraxis`` runs the same files unrewritten and without exclusions, to check in an environment that has the
real ataraxis (``bash ../shared/reference/ataraxis-env/setup.sh``) that every test passes there.

Usage: ``python3 python/tests/ataraxis_suite/run.py [--sdist PATH] [--target compat|ataraxis] [pytest args...]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "7.2.0"
REPO = Path(__file__).resolve().parents[3]
STAND_INS = REPO.parent / "shared" / "reference" / "ataraxis-env"

#: The test files of the suite that exercise names seqring.compat provides (parallel_tools_test.py imports numba,
#: which seqring does not need: it runs where numba is installed, see :data:`OPTIONAL_FILES`).
FILES = [
    "tests/shared_memory/shared_memory_array_test.py",
    "tests/data_loggers/serialized_data_logger_test.py",
    "tests/data_loggers/log_archive_reader_test.py",
    "tests/data_structures/processing_tracker_test.py",
    "tests/processing/checksum_tools_test.py",
    "tests/data_structures/yaml_config_test.py",
    "tests/processing/write_tools_test.py",
    "tests/processing/interpolation_test.py",
    "tests/processing/filesystem_tools_test.py",
    "tests/processing/transfer_tools_test.py",
]

#: Test files that import a package seqring does not depend on, run only where it is importable: ``{file: module}``.
OPTIONAL_FILES = {"tests/processing/parallel_tools_test.py": "numba"}

SMA = "tests/shared_memory/shared_memory_array_test.py::"
LOGGER = "tests/data_loggers/serialized_data_logger_test.py::"
READER = "tests/data_loggers/log_archive_reader_test.py::"
TRACKER = "tests/data_structures/processing_tracker_test.py::"
CHECKSUM = "tests/processing/checksum_tools_test.py::"
DISCOVERY = READER + "TestArchiveDiscovery::"
YAML = "tests/data_structures/yaml_config_test.py::"
WRITE = "tests/processing/write_tools_test.py::"
INTERPOLATION = "tests/processing/interpolation_test.py::TestInterpolateData::"
FILESYSTEM = "tests/processing/filesystem_tools_test.py::"
TRANSFER = "tests/processing/transfer_tools_test.py::"
PARALLEL = "tests/processing/parallel_tools_test.py::"

_SCANDIR = ("injects an unreadable directory by patching os.scandir, which seqring's native walk does not call (the "
            "error itself is raised: seqring-state's walk, e.g. markers::unreadable_or_missing_roots_are_errors)")
_CHECKSUM_PATCH = ("patches ataraxis's transfer_tools.calculate_directory_checksum by its dotted path to fake a "
                   "corrupted copy (python/tests/test_tools.py::test_transfer_detects_a_corrupted_copy corrupts a "
                   "real copy instead)")
_WALK = ("calls walk_directory/walk_files of ataraxis's internal filesystem_tools module, which 7.2.0 does not export "
         "at the top level")

#: Tests that read or patch a private attribute of ataraxis (``_buffer``, ``_load_state``, a private function, a
#: module-internal name patched by its dotted path), which no user program depends on: not run against compat.
PRIVATE: dict[str, str] = {
    SMA + "test_create_array_recreates_leftover_buffer": "patches ataraxis's internal SharedMemory class by path",
    SMA + "test_connect_is_idempotent": "reads _buffer and _array",
    SMA + "test_creating_process_arms_buffer_destruction": "reads _destroy_buffer",
    SMA + "test_create_array_reports_a_buffer_that_survives_unlinking": "patches ataraxis's internal SharedMemory",
    SMA + "test_disconnect_connect": "its 'spawning' fixture patches ataraxis's internal get_spawning_popen",
    SMA + "test_recreating_a_name_revokes_the_previous_owner": "patches get_spawning_popen and SharedMemory; reads "
    "_destroy_buffer",
    SMA + "test_receiving_process_does_not_destroy_the_buffer": "patches get_spawning_popen; reads _destroy_buffer",
    SMA + "test_pickle_state_round_trip": "its 'spawning' fixture patches ataraxis's internal get_spawning_popen",
    LOGGER + "test_data_logger_initialization": "reads _started",
    LOGGER + "test_data_logger_start_stop": "reads _started",
    LOGGER + "test_data_logger_watchdog_reports_a_prematurely_shut_down_process": "drives the private _watchdog",
    LOGGER + "test_data_logger_watchdog_stands_down_for_a_concurrent_shutdown": "drives the private _watchdog",
    LOGGER + "test_compare_arrays_raises_on_mismatched_entry": "calls the private _compare_arrays",
    LOGGER + "test_compare_arrays_accepts_a_matching_entry": "calls the private _compare_arrays",
    LOGGER + "test_assemble_log_archives_keeps_sources_when_verification_fails": "patches the private "
    "_compare_arrays by path",
    LOGGER + "test_progress_display_restores_a_disabled_console": "calls the private _progress_display",
    LOGGER + "test_progress_display_restores_an_enabled_console": "calls the private _progress_display",
    READER + "TestLogArchiveReaderOnsetTimestamp::test_onset_discovery_caches_message_keys": "reads _message_keys",
    READER + "TestLogArchiveReaderMessageKeys::test_message_keys_no_onset_pattern_match": "calls the private "
    "_get_message_keys",
    TRACKER + "test_processing_tracker_initialize_jobs": "calls the private _load_state",
    TRACKER + "test_processing_tracker_initialize_jobs_preserves_existing": "calls the private _load_state",
    TRACKER + "test_processing_tracker_start_job": "calls the private _load_state",
    TRACKER + "test_processing_tracker_start_job_resolves_slurm_id": "calls the private _load_state",
    TRACKER + "test_processing_tracker_resolve_executor_id_reads_slurm_jobid_alias": "calls the private "
    "_resolve_executor_id (python/tests/test_compat_behaviour.py checks the same ids through start_job)",
    TRACKER + "test_processing_tracker_resolve_executor_id_tags_non_slurm_scheduler": "calls the private "
    "_resolve_executor_id (checked through start_job in test_compat_behaviour.py)",
    TRACKER + "test_processing_tracker_resolve_executor_id_requires_sge_corroboration": "calls the private "
    "_resolve_executor_id (checked through start_job in test_compat_behaviour.py)",
    TRACKER + "test_processing_tracker_start_job_with_executor_id": "calls the private _load_state",
    TRACKER + "test_processing_tracker_complete_job": "calls the private _load_state",
    TRACKER + "test_processing_tracker_fail_job": "calls the private _load_state",
    TRACKER + "test_processing_tracker_reset": "calls the private _load_state",
    TRACKER + "test_processing_tracker_yaml_serialization": "calls the private _load_state",
    TRACKER + "test_processing_tracker_complete_property_empty_jobs": "calls the private _save_state",
    **{YAML + f"test_collect_type_hooks_{case}": "calls the private _collect_type_hooks" for case in (
        "simple", "nested", "union_enum", "skips_a_generic_union_member",
        "skips_a_union_member_that_is_not_a_real_class", "returns_no_hook_for_an_annotation_that_is_not_a_real_class",
        "returns_no_hook_for_an_unresolvable_annotation")},
    YAML + "test_mapping_key_hook_passes_through_a_non_mapping": "calls the private _collect_type_hooks",
    YAML + "test_serialize_value_primitives": "calls the private _serialize_value",
    YAML + "test_serialize_value_path_dict_keys": "calls the private _serialize_value",
    YAML + "test_to_yaml_leaves_previous_file_intact_when_the_dump_fails": "makes PyYAML's yaml.dump raise; seqring "
    "writes the document natively (a failed write leaving the old file: test_compat_behaviour.py's atomic_after_raise)",
    WRITE + "test_publish_file_renames_on_posix": "calls the private _publish_file",
    WRITE + "test_publish_file_retries_locked_destination": "calls the private _publish_file",
    WRITE + "test_publish_file_exhausts_retries": "reads the private _RENAME_RETRY_COUNT and calls _publish_file",
    **{FILESYSTEM + f"test_walk_directory_{case}": _WALK for case in (
        "discovers_every_entry", "does_not_follow_links_to_directories", "returns_nothing_for_an_empty_directory",
        "raises_for_a_missing_directory", "raises_for_an_unreadable_subdirectory")},
    **{FILESYSTEM + f"test_walk_files_{case}": _WALK for case in (
        "reports_files_and_omits_directories", "resolves_links_to_decide_the_kind",
        "reports_no_file_for_a_link_that_resolves_to_nothing", "propagates_a_kind_failure_that_is_not_absence",
        "tolerates_a_kind_failure_that_means_absence", "tolerates_the_windows_link_loop_status",
        "propagates_an_invalid_argument_failure_without_the_link_loop_status",
        "raises_for_an_unreadable_subdirectory")},
    FILESYSTEM + "test_checksum_discovery_does_not_route_through_the_path_file_test": "calls the private "
    "_discover_checksum_files",
    FILESYSTEM + "test_calculate_directory_checksum_raises_for_an_unreadable_subdirectory": _SCANDIR,
    FILESYSTEM + "test_transfer_directory_raises_for_an_unreadable_source_subdirectory": _SCANDIR,
    FILESYSTEM + "test_discover_marker_files_raises_for_an_unreadable_subdirectory": _SCANDIR,
    FILESYSTEM + "test_index_marker_files_raises_for_an_unreadable_subdirectory": _SCANDIR,
    TRANSFER + "test_classify_entry_reports_each_entry_kind": "calls the private _classify_entry",
    TRANSFER + "test_classify_entry_reports_a_vanished_entry_as_a_plain_file": "calls the private _classify_entry",
    TRANSFER + "test_classify_entry_propagates_an_unreadable_entry": "calls the private _classify_entry",
    TRANSFER + "test_delete_directory_retries_a_refused_removal": "makes pathlib's Path.rmdir fail; seqring removes "
    "directories natively",
    TRANSFER + "test_delete_directory_warns_when_every_removal_attempt_fails": "makes pathlib's Path.rmdir fail and "
    "patches ataraxis's console; seqring removes directories natively and raises instead of warning",
    TRANSFER + "test_transfer_directory_integrity_check_detects_corruption": _CHECKSUM_PATCH,
    TRANSFER + "test_transfer_directory_checksum_path_truncation": _CHECKSUM_PATCH,
    TRANSFER + "test_transfer_directory_integrity_check_corruption_prevents_removal": _CHECKSUM_PATCH,
    TRANSFER + "test_transfer_directory_names_corruption_alone_for_a_freshly_generated_checksum": _CHECKSUM_PATCH,
}

#: Tests whose only difference on compat is the exact text of an error message (``pytest.raises(..., match=...)``):
#: they are run in a second pass with ``match`` ignored, so the exception class must still be ataraxis's.
MESSAGE: dict[str, str] = {
    SMA + "test_serialization_outside_process_start_errors": "RuntimeError's text",
    SMA + "test_create_array_errors": "TypeError's and FileExistsError's text",
    SMA + "test_getitem_errors": "ConnectionError's and IndexError's text",
    SMA + "test_setitem_errors": "ConnectionError's and IndexError's text",
    SMA + "test_array_context_manager_errors": "ConnectionError's text",
    READER + "TestLogArchiveReaderOnsetTimestamp::test_onset_not_found_raises_error": "ValueError's text",
    DISCOVERY + "test_find_log_archive_rejects_a_missing_directory": "FileNotFoundError's text, wrapped at 120 "
    "columns by ataraxis's console",
    DISCOVERY + "test_find_log_archive_rejects_a_directory_holding_no_matching_archive": "FileNotFoundError's "
    "wrapped text",
    DISCOVERY + "test_find_log_archives_rejects_a_missing_directory": "FileNotFoundError's wrapped text",
    DISCOVERY + "test_find_log_archives_rejects_a_source_holding_no_archive": "FileNotFoundError's wrapped text",
    DISCOVERY + "test_discover_log_archives_rejects_a_missing_directory": "FileNotFoundError's wrapped text",
    DISCOVERY + "test_read_archive_message_count_rejects_a_missing_archive": "FileNotFoundError's wrapped text",
    TRACKER + "test_processing_tracker_start_job_raises_for_unknown_job": "ValueError's text",
    TRACKER + "test_processing_tracker_align_jobs_rejects_out_of_universe_request": "ValueError's text",
    TRACKER + "test_processing_tracker_get_job_info_raises_for_unknown": "ValueError's text",
    TRACKER + "test_processing_tracker_complete_job_invalid_id": "ValueError's text",
    TRACKER + "test_processing_tracker_fail_job_invalid_id": "ValueError's text",
    TRACKER + "test_processing_tracker_get_job_status_invalid_id": "ValueError's text",
    TRACKER + "test_processing_tracker_generate_job_id_rejects_a_colon": "ValueError's text",
    TRACKER + "test_processing_tracker_align_jobs_rejects_an_empty_request": "ValueError's text",
    TRACKER + "test_processing_tracker_resolve_job_rejects_an_empty_universe": "ValueError's text",
    TRACKER + "test_processing_tracker_resolve_job_rejects_an_unknown_identifier": "ValueError's text",
    CHECKSUM + "test_calculate_directory_checksum_rejects_an_empty_directory": "ValueError's text",
    CHECKSUM + "test_calculate_directory_checksum_rejects_a_directory_holding_only_excluded_files": "ValueError's "
    "text",
    YAML + "test_yaml_config_to_yaml_errors": "ValueError's text, wrapped by ataraxis's console",
    YAML + "test_yaml_config_from_yaml_errors": "ValueError's wrapped text",
    YAML + "test_yaml_config_from_yaml_non_mapping_errors": "ValueError's wrapped text",
    INTERPOLATION + "test_empty_source_distribution_is_rejected": "ValueError's wrapped text",
    INTERPOLATION + "test_empty_source_values_are_rejected": "ValueError's wrapped text",
    INTERPOLATION + "test_empty_source_coordinates_are_rejected": "ValueError's wrapped text",
    FILESYSTEM + "test_index_marker_files_rejects_an_empty_name_set": "ValueError's wrapped text",
    FILESYSTEM + "test_index_marker_files_rejects_a_depth_bound_below_one": "ValueError's wrapped text",
    FILESYSTEM + "test_discover_marker_roots_rejects_a_negative_level_count": "ValueError's wrapped text",
    FILESYSTEM + "test_resolve_unique_roots_rejects_paths_sharing_every_component": "ValueError's wrapped text",
    FILESYSTEM + "test_transfer_directory_rejects_a_verified_source_holding_no_coverable_file": "RuntimeError's "
    "wrapped text",
    FILESYSTEM + "test_transfer_directory_rejects_a_verified_source_holding_only_a_checksum_file": "RuntimeError's "
    "wrapped text",
    TRANSFER + "test_transfer_directory_rejects_a_dirty_destination": "RuntimeError's text",
    DISCOVERY + "test_find_log_archive_rejects_an_ambiguous_source": "ValueError's text (seqring's own: 'N archives "
    "of source S under DIR: paths')",
    DISCOVERY + "test_find_log_archives_rejects_an_ambiguous_source": "ValueError's text",
    **{PARALLEL + f"test_{case}": "ValueError's text, wrapped by ataraxis's console" for case in (
        "limit_worker_threads_rejects_invalid_thread_count",
        "limit_worker_threads_rejects_a_maximum_below_the_thread_count",
        "limit_worker_threads_rejects_a_blank_additional_variable_name",
        "limit_worker_threads_rejects_an_additional_width_below_one",
        "initialize_worker_threads_rejects_invalid_thread_count",
        "initialize_worker_threads_rejects_a_maximum_below_the_thread_count")},
}

#: Every test id not run as written, with its reason (for the report and the staleness check).
EXCLUDED: dict[str, str] = {**PRIVATE, **MESSAGE}

#: The pytest plugin that deselects the exact test ids listed one a line in ``_seqring_excluded.txt``, every
#: parametrization of a listed test included (pytest's own ``--deselect`` takes prefixes: ``…::test_reset`` would
#: also deselect ``…::test_reset_jobs``).
_EXCLUDE_PLUGIN = """\
from pathlib import Path

_EXCLUDED = set(Path(__file__).with_name("_seqring_excluded.txt").read_text().split())


def _excluded(item):
    # A parametrized test is listed once, by its function's id.
    return item.nodeid.split("[")[0] in _EXCLUDED


def pytest_collection_modifyitems(config, items):
    kept = [item for item in items if not _excluded(item)]
    deselected = [item for item in items if _excluded(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
"""

#: The pytest plugin of the second pass: ``pytest.raises`` ignores ``match``.
_NO_MATCH_PLUGIN = """\
import pytest

_raises = pytest.raises


def _raises_without_match(*args, match=None, **kwargs):
    return _raises(*args, **kwargs)


pytest.raises = _raises_without_match
"""


def _download(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-binary", ":all:", "--ignore-requires-python", f"ataraxis-data-structures=={VERSION}", "-d", str(dest)],
        check=True,
    )
    return next(dest.glob(f"ataraxis_data_structures-{VERSION}.tar.gz"))


def _unpack(sdist: Path, dest: Path) -> Path:
    """Unpacks the sdist's ``tests/`` and ``pyproject.toml``; returns the unpacked root."""
    root = f"ataraxis_data_structures-{VERSION}/"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(root + "tests/") or m.name == root + "pyproject.toml"]
        for m in members:
            if not (m.isfile() or m.isdir()) or ".." in Path(m.name).parts:
                raise SystemExit(f"unexpected member in the sdist: {m.name}")
        tar.extractall(dest, members=members)
    return dest / root


_IMPORT = re.compile(r"^(?P<indent>[ \t]*)from ataraxis_data_structures(?P<module>(\.\w+)*) import (?P<names>\([^)]*\)|[^\n]*)", re.M)


def _rewrite(source: str) -> str:
    """Points every ``from ataraxis_data_structures... import ...`` at ``seqring.compat`` (see the module doc)."""

    def replace(match: re.Match[str]) -> str:
        indent = match["indent"]
        names = [n.strip() for n in match["names"].strip("()").replace("\n", " ").split(",") if n.strip()]
        lines = []
        for entry in names:
            name, _, alias = (part.strip() for part in entry.partition(" as "))
            alias = alias or name
            lines.append(
                f"{indent}try:\n{indent}    from seqring.compat import {name} as {alias}\n"
                f"{indent}except ImportError:\n{indent}    {alias} = _seqring_missing({name!r})"
            )
        return "\n".join(lines)

    rewritten = _IMPORT.sub(replace, source)
    if rewritten == source:
        return source
    helper = (
        "def _seqring_missing(name):\n"
        "    class _Missing:\n"
        "        def __getattr__(self, attr):\n"
        "            raise NotImplementedError(f'seqring.compat has no {name}')\n"
        "        def __call__(self, *args, **kwargs):\n"
        "            raise NotImplementedError(f'seqring.compat has no {name}')\n"
        "    return _Missing()\n"
    )
    # After `from __future__` (which must come first) and the module docstring.
    lines = rewritten.split("\n")
    at = max((i + 1 for i, line in enumerate(lines) if line.startswith("from __future__")), default=0)
    lines.insert(at, helper)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sdist", type=Path, help="the ataraxis-data-structures 7.2.0 sdist (default: download it)")
    parser.add_argument("--target", choices=["compat", "ataraxis"], default="compat")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args, pytest_args = parser.parse_known_args()
    scratch = Path(tempfile.mkdtemp(prefix="ataraxis-suite-"))
    try:
        sdist = args.sdist or _download(scratch)
        root = _unpack(sdist, scratch)
        if args.target == "compat":
            for path in (root / "tests").rglob("*.py"):
                path.write_text(_rewrite(path.read_text()))
        (root / "pytest.ini").write_text(
            "[pytest]\naddopts = --import-mode=importlib -p no:cacheprovider\npythonpath = .\n"
            "markers =\n    xdist_group: ataraxis's pytest-xdist grouping (unused here)\n"
        )
        env = dict(os.environ)
        if args.target == "compat":
            if not STAND_INS.is_dir():
                print(f"the ataraxis helper stand-ins are missing: {STAND_INS}", file=sys.stderr)
                return 1
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(STAND_INS), env.get("PYTHONPATH")]))
        files = _files()
        command = [sys.executable, "-m", "pytest", "-q", *files]
        if args.target == "ataraxis":
            print(f"ataraxis {VERSION} suite against the real ataraxis: every test", flush=True)
            return subprocess.run([*command, *pytest_args], cwd=root, env=env).returncode
        missing = _check_excluded(root, env, files)
        if missing:
            print("excluded ids that name no test:", *missing, sep="\n  ", file=sys.stderr)
            return 1
        ran = lambda ids: [i for i in ids if i.split("::")[0] in files]  # noqa: E731
        print(f"ataraxis {VERSION} suite against seqring.compat: {len(ran(PRIVATE))} test(s) excluded (private "
              f"attributes), {len(ran(MESSAGE))} run with messages unchecked", flush=True)
        for test_id, reason in sorted(EXCLUDED.items()):
            kind = "private" if test_id in PRIVATE else "message"
            print(f"  {kind}: {test_id}: {reason}")
        (root / "_seqring_excluded.txt").write_text("\n".join(EXCLUDED) + "\n")
        (root / "_seqring_exclude.py").write_text(_EXCLUDE_PLUGIN)
        (root / "_seqring_no_match.py").write_text(_NO_MATCH_PLUGIN)
        env["PYTHONPATH"] = os.pathsep.join([str(root), env["PYTHONPATH"]])
        first = subprocess.run([*command, "-p", "_seqring_exclude", *pytest_args], cwd=root, env=env).returncode
        print("second pass: the message tests with pytest.raises(match=...) ignored", flush=True)
        second = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "_seqring_no_match",
             *(test_id for test_id in MESSAGE if test_id.split("::")[0] in files), *pytest_args],
            cwd=root, env=env,
        ).returncode
        return first or second
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _files() -> list[str]:
    """:data:`FILES`, and each of :data:`OPTIONAL_FILES` whose module this Python can import."""
    files = list(FILES)
    for path, module in OPTIONAL_FILES.items():
        if importlib.util.find_spec(module) is not None:
            files.append(path)
        else:
            print(f"{path} is not run: it imports {module}, which is not installed", flush=True)
    return files


def _check_excluded(root: Path, env: dict[str, str], files: list[str]) -> list[str]:
    """The ids in :data:`EXCLUDED` that pytest does not collect (ids of a file not run are not checked)."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", *files],
        cwd=root, env=env, capture_output=True, text=True,
    ).stdout
    collected = {line.strip().split("[")[0] for line in out.splitlines() if "::" in line}
    return [test_id for test_id in EXCLUDED if test_id.split("::")[0] in files and test_id not in collected]


if __name__ == "__main__":
    sys.exit(main())
