"""ataraxis-data-structures 7.2.0's ``YamlConfig`` (the dataclass mixin with ``to_yaml``/``from_yaml``) and
``YAML_EXCLUDE_METADATA``, over :func:`seqring.tools.yaml_dump` and :func:`seqring.tools.yaml_load`.

The file is written and read by seqring's native YAML code: only ``.yaml``/``.yml`` paths, written atomically
(temporary file, fsync, rename) and framed by ``---``/``...`` as ataraxis writes it, in a form PyYAML (ataraxis)
reads back as the same values. This module only reshapes values: a dataclass becomes a dict (``Path`` → POSIX
string, ``Enum`` → its value, tuple → list, fields marked ``YAML_EXCLUDE_METADATA`` left out), and a loaded dict
becomes the dataclass again through its annotations, as ataraxis does with dacite (``str`` → ``Path``, value →
``Enum``, list → tuple, mapping keys converted too, no type checks).

Where seqring differs: the text is read as YAML 1.2, so a hand-written ``yes``/``no``/``on``/``off`` is the string,
not a boolean, and a date stays a string; a document omitting a required field raises
:class:`MissingValueError` (a ``KeyError``; dacite's has no builtin base); malformed YAML raises
:class:`seqring.errors.ConfigError` (a ``ValueError``) naming the line and column instead of ``yaml.YAMLError``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Mapping
from enum import Enum
from functools import lru_cache
from itertools import zip_longest
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Literal, Union, get_args, get_origin, get_type_hints

try:  # Python 3.10+
    from types import UnionType  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    UnionType = type(Union[int, str])  # type: ignore[misc,assignment]

from ..errors import ConfigError
from ..tools import yaml_dump, yaml_load

__all__ = ["YamlConfig", "YAML_EXCLUDE_METADATA", "MissingValueError"]

_EXCLUDE_KEY = "yaml_exclude"

#: The dataclass field metadata that keeps a field out of the written document (ataraxis's name and value).
YAML_EXCLUDE_METADATA: "MappingProxyType[str, bool]" = MappingProxyType({_EXCLUDE_KEY: True})

PathLike = Union[str, "os.PathLike[str]"]


class MissingValueError(KeyError):
    """A document omits a field its dataclass requires (one without a default, not ``Optional``)."""

    def __init__(self, field_path: str) -> None:
        super().__init__(field_path)
        self.field_path = field_path

    def __str__(self) -> str:
        return f'missing value for field "{self.field_path}"'


def _serialize(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _serialize(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get(_EXCLUDE_KEY, False)
        }
    if isinstance(value, dict):
        return {_serialize(k): _serialize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize(item) for item in value]
    return value


def _is_union(t: Any) -> bool:
    return isinstance(t, UnionType) or get_origin(t) is Union


def _is_class(t: Any, base: type) -> bool:
    try:
        return isinstance(t, type) and issubclass(t, base)
    except TypeError:
        return False


def _union_enum_hook(targets: List[type]) -> Callable[[Any], Any]:
    def hook(value: Any) -> Any:
        if value is None:
            return None
        for enum_class in targets:
            try:
                return enum_class(value)
            except (ValueError, KeyError):
                continue
        return value

    return hook


def _key_hook(key_type: type) -> Callable[[Any], Any]:
    def hook(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {key_type(k): v for k, v in value.items()}

    return hook


@lru_cache(maxsize=256)
def _type_hooks(cls: type) -> Dict[Any, Callable[[Any], Any]]:
    """The conversions of loaded values, by annotation: ``Path`` and ``Enum`` types to their constructors, unions
    holding enums to a hook trying each enum, mappings keyed by ``Path``/``Enum`` to a key-converting hook (the hooks
    ataraxis gives dacite)."""
    hooks: Dict[Any, Callable[[Any], Any]] = {}
    visited: set = set()

    def walk(t: Any) -> None:
        args = get_args(t)
        if args:
            if _is_union(t):
                enums = [a for a in args if _is_class(a, Enum) and a is not Enum]
                if enums:
                    hooks[t] = _union_enum_hook(enums)
            origin = get_origin(t)
            if _is_class(origin, Mapping) and len(args) == 2:
                key = args[0]
                if _is_class(key, Path) or (_is_class(key, Enum) and key is not Enum):
                    hooks[t] = _key_hook(key)
            for a in args:
                walk(a)
            return
        if not isinstance(t, type) or t in visited:
            return
        visited.add(t)
        if _is_class(t, Path) or (_is_class(t, Enum) and t is not Enum):
            hooks[t] = t
        elif dataclasses.is_dataclass(t):
            walk_class(t)

    def walk_class(c: type) -> None:
        try:
            hints = get_type_hints(c)
        except (TypeError, NameError, AttributeError):
            return
        for hint in hints.values():
            walk(hint)

    walk_class(cls)
    return hooks


def _is_optional(t: Any) -> bool:
    return _is_union(t) and type(None) in get_args(t)


def _is_instance(value: Any, t: Any) -> bool:
    if t is Any:
        return True
    if _is_union(t):
        return any(_is_instance(value, a) for a in get_args(t))
    origin, args = get_origin(t), get_args(t)
    if origin is Literal:
        return value in args
    if origin is not None:
        if not isinstance(origin, type) or not isinstance(value, origin):
            return False
        if not args:
            return True
        if isinstance(value, Mapping):
            kt, vt = args if len(args) == 2 else (Any, Any)
            return all(_is_instance(k, kt) and _is_instance(v, vt) for k, v in value.items())
        if isinstance(value, tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                return all(_is_instance(v, args[0]) for v in value)
            return len(value) == len(args) and all(_is_instance(v, a) for v, a in zip(value, args))
        return all(_is_instance(v, args[0]) for v in value)
    if t is type(None) or t is None:
        return value is None
    if isinstance(t, type):
        return isinstance(value, t)
    return True


def _build(t: Any, data: Any, hooks: Dict[Any, Callable[[Any], Any]]) -> Any:
    if isinstance(t, dataclasses.InitVar):
        t = t.type
    try:
        hook = hooks.get(t)
    except TypeError:  # an unhashable annotation
        hook = None
    if hook is not None:
        data = hook(data)
    if _is_optional(t) and data is None:
        return data
    if _is_union(t):
        data = _build_union(t, data, hooks)
    elif get_origin(t) is not None and _is_class(get_origin(t), Collection):
        data = _build_collection(t, data, hooks)
    elif dataclasses.is_dataclass(t) and isinstance(data, Mapping):
        data = _from_dict(t, data, hooks)
    if _is_class(t, tuple) or _is_class(get_origin(t), tuple):
        data = (get_origin(t) or t)(data)
    return data


def _build_union(t: Any, data: Any, hooks: Dict[Any, Callable[[Any], Any]]) -> Any:
    members = get_args(t)
    if _is_optional(t) and len(members) == 2:
        return _build([m for m in members if m is not type(None)][0], data, hooks)
    for member in members:
        try:
            value = _build(member, data, hooks)
        except Exception:  # noqa: BLE001 - as dacite: a member that cannot build the value does not match
            continue
        if _is_instance(value, member):
            return value
    return data  # no type checks: the value loads as written


def _build_collection(t: Any, data: Any, hooks: Dict[Any, Callable[[Any], Any]]) -> Any:
    origin, args = get_origin(t), get_args(t)
    kind = data.__class__
    if isinstance(data, Mapping) and _is_class(origin, Mapping):
        item = args[1] if len(args) == 2 else Any
        return kind((k, _build(item, v, hooks)) for k, v in data.items())
    if isinstance(data, tuple) and _is_class(origin, tuple):
        if not data:
            return kind()
        if len(args) == 2 and args[1] is Ellipsis:
            return kind(_build(args[0], v, hooks) for v in data)
        return kind(_build(a, v, hooks) for v, a in zip_longest(data, args))
    if isinstance(data, Collection) and not isinstance(data, (str, bytes, Mapping)):
        item = args[0] if args else Any
        return kind(_build(item, v, hooks) for v in data)
    return data


def _from_dict(cls: type, data: Mapping, hooks: Dict[Any, Callable[[Any], Any]]) -> Any:
    hints = get_type_hints(cls)
    init: Dict[str, Any] = {}
    later: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        t = hints.get(f.name, Any)
        if f.name in data:
            value = _build(t, data[f.name], hooks)
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            value = f.default_factory()  # type: ignore[misc]
        elif _is_optional(t):
            value = None
        elif not f.init:
            continue
        else:
            raise MissingValueError(f.name)
        if f.init:
            init[f.name] = value
        else:
            later[f.name] = value
    instance = cls(**init)
    for name, value in later.items():
        object.__setattr__(instance, name, value)
    return instance


def _check_suffix(file_path: Path, action: str) -> None:
    if file_path.suffix not in {".yaml", ".yml"}:
        raise ConfigError(
            f"Unable to {action}. The 'file_path' argument must end in the '.yaml' or '.yml' extension, but got "
            f"{file_path}."
        )


@dataclasses.dataclass
class YamlConfig:
    """A dataclass mixin that saves and loads its instance as a ``.yaml`` file (ataraxis's ``YamlConfig``)::

        @dataclass
        class Rig(YamlConfig):
            name: str = "rig-1"
            output: Path = Path("/data")

        Rig().to_yaml(Path("rig.yaml"))
        rig = Rig.from_yaml(Path("rig.yaml"))
    """

    def to_yaml(self, file_path: PathLike) -> None:
        """Writes the instance to ``file_path`` (``.yaml``/``.yml``), atomically, creating missing parent
        directories: ``Path`` fields as strings, ``Enum`` fields as their values, tuples as lists, fields marked
        ``YAML_EXCLUDE_METADATA`` left out.

        Raises ``ValueError`` (:class:`seqring.errors.ConfigError`) for another extension, ``TypeError`` for a
        value with no YAML form."""
        path = Path(file_path)
        _check_suffix(path, "write the dataclass instance to a .yaml file using the provided file path")
        yaml_dump(path, _serialize(self))

    @classmethod
    def restore_excluded_fields(cls, data: Dict[Any, Any], file_path: Path) -> Dict[Any, Any]:
        """The loaded mapping, extended with the values of fields this class leaves out of the document (override
        it to supply them; this one returns ``data`` unchanged). ``from_yaml`` calls it before building the
        instance."""
        del file_path
        return data

    @classmethod
    def from_yaml(cls, file_path: PathLike) -> Any:
        """The instance stored in ``file_path`` (``.yaml``/``.yml``), with ``Path``, ``Enum``, tuple and nested
        dataclass fields rebuilt from their annotations.

        Raises ``ValueError`` (:class:`seqring.errors.ConfigError`) for another extension, malformed YAML or a
        document that is not a mapping; :class:`FileNotFoundError` for a missing file;
        :class:`MissingValueError` for a document without a required field."""
        path = Path(file_path)
        _check_suffix(path, "create the dataclass instance using the data from a .yaml file")
        data = yaml_load(path)
        if not isinstance(data, dict):
            raise ConfigError(
                f"Unable to create the dataclass instance using the data from the {path} .yaml file. The file must "
                f"contain a top-level mapping, but got {type(data).__name__}."
            )
        data = cls.restore_excluded_fields(data=dict(data), file_path=path)
        return _from_dict(cls, data, _type_hooks(cls))
