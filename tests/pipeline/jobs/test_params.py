"""Job parameters to JSON and back: every field checked against its annotation, mistakes named by job and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from pipeline.errors import InputError
from pipeline.jobs.params import ParamsError, from_json, require_one_of, to_json
from pipeline.jobs.table import JobTable, JobType
from tests.pipeline.jobs.job_handlers import H, OkParams


@dataclass(frozen=True)
class Inner:
    name: str
    share: float = 0.5


@dataclass(frozen=True)
class Every:
    count: int
    ratio: float
    flag: bool
    label: str | None
    names: tuple[str, ...] = ()
    sizes: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    inner: Inner | None = None
    mode: str = "a"

    def __post_init__(self) -> None:
        require_one_of("mode", self.mode, ("a", "b"))


def test_every_kind_of_field_goes_to_json_and_back() -> None:
    params = Every(3, 0.25, True, None, ("x", "y"), [1, 2], {"k": [1, {"n": None}]}, Inner("i", 1.0), "b")
    data = to_json(params)
    assert data["names"] == ["x", "y"] and data["inner"] == {"name": "i", "share": 1.0}
    assert from_json(Every, data, "every") == params
    assert from_json(Every, {"count": 1, "ratio": 2, "flag": False, "label": "l"}, "every").ratio == 2.0  # int → float


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ratio": 1.0, "flag": True, "label": None}, "job 'every': field 'count' is missing"),
        ({"count": "1", "ratio": 1.0, "flag": True, "label": None}, "field 'count' must be an integer, not '1'"),
        ({"count": 1.5, "ratio": 1.0, "flag": True, "label": None}, "field 'count' must be an integer, not 1.5"),
        ({"count": 1, "ratio": "x", "flag": True, "label": None}, "field 'ratio' must be a number, not 'x'"),
        ({"count": 1, "ratio": 1, "flag": 1, "label": None}, "field 'flag' must be true or false, not 1"),
        ({"count": 1, "ratio": 1, "flag": True, "label": 3}, "field 'label' must be text or null, not 3"),
        ({"count": 1, "ratio": 1, "flag": True, "label": None, "sizes": [1, "2"]}, "field 'sizes[1]' must be"),
        ({"count": 1, "ratio": 1, "flag": True, "label": None, "names": "ab"}, "field 'names' must be a list of"),
        ({"count": 1, "ratio": 1, "flag": True, "label": None, "inner": {"nam": "x"}}, "unknown field 'inner.nam'"),
        ({"count": 1, "ratio": 1, "flag": True, "label": None, "inner": {}}, "field 'inner.name' is missing"),
        ({"count": 1, "ratio": 1, "flag": True, "label": None, "mode": "c"}, "field 'mode' is 'c', not one of a, b"),
        ({"count": 1, "ratio": 1, "flag": True, "label": None, "colour": 1}, "unknown field 'colour' (known: count,"),
        (["count"], "job 'every': its parameters must be a mapping of fields"),
    ],
)
def test_a_wrong_field_is_named_with_its_job(data: Any, message: str) -> None:
    with pytest.raises(ParamsError) as caught:
        from_json(Every, data, "every")
    assert str(caught.value).startswith("job 'every': ") and message in str(caught.value)
    assert isinstance(caught.value, InputError)  # a refused command writes nothing


def test_a_table_refuses_two_jobs_with_one_name_or_class_and_names_classes_where_they_are_defined() -> None:
    ok = JobType("ok", f"{H}:ok_job", f"{H}:OkParams")
    with pytest.raises(Exception, match="job name 'ok' twice"):
        JobTable((ok, JobType("ok", f"{H}:fail_job", f"{H}:FailParams")))
    with pytest.raises(Exception, match="params class .* twice"):
        JobTable((ok, JobType("again", f"{H}:ok_job", f"{H}:OkParams")))
    with pytest.raises(Exception, match="old handlers name the job 'gone'"):
        JobTable((ok,), old_handlers={"x:y": "gone"})
    reexported = JobType("ok", f"{H}:ok_job", "tests.pipeline.jobs.test_params:OkParams")  # imported here
    with pytest.raises(Exception, match="is not a class defined there"):
        reexported.params_class()
    assert JobTable((ok,)).of(OkParams(2)) is ok
