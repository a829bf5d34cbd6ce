from __future__ import annotations

import pytest

from pipeline.domain.codes import is_code, normalise_code, split_code_list


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("I10.x00x032", "I10.x00x032"),
        (" i10.X00X032 ", "I10.x00x032"),
        ("Ｉ20.000".replace("Ｉ", "I"), "I20.000"),
        ("E10.500†H28.0*", "E10.500†H28.0*"),
        ("X59.900", "X59.900"),  # chapter X stays upper case
    ],
)
def test_normalise_code(raw: str, code: str) -> None:
    assert normalise_code(raw) == code
    assert is_code(code)


def test_split_code_list_tolerates_separators_and_reports_malformed() -> None:
    assert split_code_list("I10.x00x032; E11.900；E78.500;") == (["I10.x00x032", "E11.900", "E78.500"], [])
    assert split_code_list("E11.900，E11.900、E78.500") == (["E11.900", "E78.500"], [])
    assert split_code_list("E11.900;糖尿病;12") == (["E11.900"], ["糖尿病", "12"])
