from __future__ import annotations

import pytest

from pipeline.domain.codes import chapter, code_credit, is_code, normalise_code, split_code_list


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


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("A01.000", 1),
        ("B99", 1),
        ("C50.900", 2),
        ("D48.9", 2),  # the last neoplasm category …
        ("D50.000", 3),  # … and the first of blood: chapter II and III share the letter D
        ("H59.0", 7),
        ("H60.0", 8),  # eye, then ear, within H
        ("I10.x00x032", 9),
        ("S72.001", 19),
        ("T98.3", 19),  # injuries span two letters
        ("Z95.501", 21),
        ("U07.100", 22),
        ("W00.0", 20),  # external causes V01–Y98
        ("V00.0", None),  # before V01: in no chapter
        ("", None),
    ],
)
def test_each_code_falls_in_its_icd_chapter(code: str, number: int | None) -> None:
    assert chapter(code) == number


@pytest.mark.parametrize(
    ("predicted", "gold", "credit"),
    [
        ("I20.000", "I20.000", 1.0),  # the code
        ("I20.800x007", "I20.000", 0.5),  # its category, I20
        ("I21.401", "I20.000", 0.25),  # its chapter, circulatory
        ("E11.900", "I20.000", 0.0),  # another chapter
        ("D50.000", "D48.9", 0.0),  # one letter, two chapters
        ("V00.0", "V01.0", 0.0),  # a category in no chapter is near nothing
    ],
)
def test_a_predicted_code_earns_credit_by_the_hierarchy(predicted: str, gold: str, credit: float) -> None:
    assert code_credit(predicted, gold) == credit
