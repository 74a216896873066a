"""seqring.compat against ataraxis-data-structures 7.2.0's own signatures (read with inspect from the installed
package, in ../shared/reference/ataraxis-7.2.0-signatures.txt): every parameter's name, kind and default, every
public method and property, and the constants. seqring may add keyword-only parameters with defaults."""

import ast
import inspect
import re

import pytest

import seqring.compat as compat
from conftest import FIXTURES

REFERENCE = FIXTURES.parents[1] / "reference" / "ataraxis-7.2.0-signatures.txt"
CLASSES = ["SharedMemoryArray", "DataLogger", "LogArchiveReader", "LogMessage", "LogPackage", "ProcessingTracker",
           "YamlConfig", "JobState"]
FUNCTIONS = [
    "assemble_log_archives", "calculate_directory_checksum", "atomic_write", "direct_write", "delete_directory",
    "transfer_directory", "interpolate_data", "discover_marker_files", "discover_marker_roots", "index_marker_files",
    "resolve_unique_roots", "limit_worker_threads", "initialize_worker_threads", "discover_log_archives",
    "find_log_archive", "find_log_archives", "read_archive_message_count",
]
# Members compat does not provide, each listed in the README (Python, what seqring.compat does not match).
NOT_PROVIDED: set = set()


def reference():
    """{name: (parameters source or None, {member: parameters source or None})} from the reference file."""
    if not REFERENCE.is_file():
        pytest.fail(f"the ataraxis reference is missing: {REFERENCE}")
    out, members = {}, None
    for line in REFERENCE.read_text().splitlines():
        top = re.match(r"(?:class|def) (\w+)\((.*)\) -> .*$", line)
        if top:
            members = {}
            out[top.group(1)] = (top.group(2), members)
            continue
        member = re.match(r"    (?:classmethod |staticmethod )?(?:def (\w+)\((.*)\) -> .*|property (\w+))$", line)
        if member and members is not None:
            members[member.group(1) or member.group(3)] = member.group(2)
        elif not line.startswith("    "):
            members = None
        const = re.match(r"(\w+) = ('.*'|\d+)$", line)
        if const:
            out[const.group(1)] = (ast.literal_eval(const.group(2)), None)
    return out


def value(node):
    if node is None:
        return None
    literal = ast.literal_eval(node)
    return ANY if literal is Ellipsis else literal


def parameters(source):
    """(name, kind, default) of each parameter in a signature's source, without self; a default inspect showed as
    ``<...>`` (a dataclass factory, an enum member) becomes ``ANY``."""
    source = re.sub(r"<[^<>]*>", "...", source)
    args = ast.parse(f"def f({source}): pass").body[0].args
    plain = args.posonlyargs + args.args
    defaults = [None] * (len(plain) - len(args.defaults)) + [value(d) for d in args.defaults]
    out = [(a.arg, "positional", d) for a, d in zip(plain, defaults)]
    out += [(a.arg, "keyword", value(d)) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return [p for p in out if p[0] not in ("self", "cls")]


class _Any:
    def __eq__(self, other):
        return True


ANY = _Any()


def ours(fn):
    kinds = {inspect.Parameter.KEYWORD_ONLY: "keyword"}
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = None if p.default is inspect.Parameter.empty else p.default
        out.append((p.name, kinds.get(p.kind, "positional"), default))
    return [p for p in out if p[0] not in ("self", "cls")]


def compatible(mine, theirs):
    """``mine`` takes every call ``theirs`` takes: the same parameters, plus keyword-only ones with defaults."""
    names = {p[0] for p in theirs}
    extra = [p for p in mine if p[0] not in names]
    return [p for p in mine if p[0] in names] == theirs and all(k == "keyword" and d is not None for _, k, d in extra)


@pytest.mark.parametrize("name", CLASSES + FUNCTIONS)
def test_signatures_match_ataraxis(name):
    ref = reference()
    source, members = ref[name]
    obj = getattr(compat, name)
    assert compatible(ours(obj), parameters(source))
    for member, member_source in (members or {}).items():
        if member.startswith("__") and member not in ("__getitem__", "__setitem__", "__getstate__", "__setstate__"):
            continue
        if (name, member) in NOT_PROVIDED:
            assert not hasattr(obj, member), f"{name}.{member} exists now: drop it from NOT_PROVIDED and the docs"
            continue
        assert hasattr(obj, member), f"{name}.{member} is missing"
        if member_source is not None and member not in ("__getstate__", "__setstate__", "__setattr__", "__delattr__"):
            mine = ours(getattr(obj, member))
            if member in ("__getitem__", "__setitem__") and type(getattr(obj, member)).__name__ == "wrapper_descriptor":
                # A native subscript slot (compat's arr[i] and arr[i] = v are native): its arguments are
                # positional-only and named by CPython; arr[i] is the only way it is called.
                assert len(mine) == len(parameters(member_source)), f"{name}.{member}"
                continue
            assert compatible(mine, parameters(member_source)), f"{name}.{member}"


def test_constants_match_ataraxis():
    ref = reference()
    for name in ("LOG_ARCHIVE_SUFFIX", "LOG_DIRECTORY_SUFFIX", "PARALLEL_PROCESSING_THRESHOLD"):
        assert getattr(compat, name) == ref[name][0]
    assert set(CLASSES + FUNCTIONS) <= set(compat.__all__)
