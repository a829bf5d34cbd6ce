"""A job's parameters: one dataclass per job (see :mod:`pipeline.jobs.table`), stored in the job's row as JSON and
read back with every field checked against its annotation, so a worker never starts work on parameters it cannot
use and a mistake is named by job and field ("job 'kfold': field 'folds' must be an integer, not 'five'").

Fields may be str, int, float, bool, None, ``X | None``, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``,
``Any`` (kept as the JSON gives it) and nested dataclasses (a JSON object). A params class may check more in
``__post_init__`` by raising :class:`pipeline.errors.InputError`; the message is kept, prefixed with the job.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from pipeline.errors import InputError

P = TypeVar("P")


class ParamsError(InputError):
    """Parameters a job cannot run with: a missing, unknown or mistyped field, or one its class refuses."""


def require_one_of(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """For a params class's ``__post_init__``: refuse a value outside its field's vocabulary, naming the field."""
    if value not in allowed:
        raise InputError(f"field {name!r} is {value!r}, not one of {', '.join(map(str, allowed))}")


def to_json(params: Any) -> dict[str, Any]:
    """The JSON object of a params dataclass (tuples become lists, nested dataclasses objects)."""
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise TypeError(f"job parameters are a dataclass instance, not {params!r}")
    return {f.name: _dump(getattr(params, f.name)) for f in dataclasses.fields(params)}


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    return value


def from_json(cls: type[P], data: Any, job: str) -> P:
    """``cls`` built from a JSON object; :class:`ParamsError` names the job and the field that is wrong."""
    return _read_dataclass(cls, data, job, "")


def _read_dataclass(cls: type[P], data: Any, job: str, prefix: str) -> P:
    if not isinstance(data, Mapping):
        what = f"field {prefix[:-1]!r}" if prefix else "its parameters"
        raise ParamsError(f"job {job!r}: {what} must be a mapping of fields, not {data!r}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ParamsError(f"job {job!r}: unknown field {prefix + unknown[0]!r} (known: {', '.join(known)})")
    values = {}
    for name, f in known.items():
        if name in data:
            values[name] = _convert(hints[name], data[name], job, prefix + name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ParamsError(f"job {job!r}: field {prefix + name!r} is missing")
    try:
        return cls(**values)
    except InputError as e:  # the class's own checks (__post_init__)
        raise ParamsError(f"job {job!r}: {e}", e.problems) from None


def _convert(tp: Any, value: Any, job: str, path: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        choices = [a for a in args if a is not type(None)]
        inside = len(choices) == 1 and (get_origin(choices[0]) is not None or dataclasses.is_dataclass(choices[0]))
        if inside:  # a list, mapping or dataclass, or None: the message names what is wrong inside it
            return _convert(choices[0], value, job, path)
        for arg in choices:
            try:
                return _convert(arg, value, job, path)
            except ParamsError:
                continue
        raise _wrong(tp, value, job, path)
    if tp is type(None):
        if value is None:
            return None
        raise _wrong(tp, value, job, path)
    if tp in (str, bool, int):
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):  # True is an int to Python
            return value
        raise _wrong(tp, value, job, path)
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _wrong(tp, value, job, path)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise _wrong(tp, value, job, path)
        item = args[0] if args else Any
        items = [_convert(item, v, job, f"{path}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise _wrong(tp, value, job, path)
        item = args[1] if args else Any
        return {k: _convert(item, v, job, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _read_dataclass(tp, value, job, path + ".")  # type: ignore[arg-type]
    raise TypeError(f"job {job!r}: field {path!r} has a type no job parameter may have: {tp!r}")


def _wrong(tp: Any, value: Any, job: str, path: str) -> ParamsError:
    return ParamsError(f"job {job!r}: field {path!r} must be {describe(tp)}, not {value!r}")


def describe(tp: Any) -> str:
    """A type as the error messages say it ("an integer or null")."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin in (list, tuple):
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "a mapping"
    names = {str: "text", int: "an integer", float: "a number", bool: "true or false", type(None): "null"}
    return names.get(tp, repr(tp))
