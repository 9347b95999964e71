import pytest

from distill_lab.prose import compare, signed


def test_compare_uses_the_tolerance_on_both_sides():
    assert compare(2.0, 1.0) == "above" and compare(1.0, 2.0) == "below"
    assert compare(1.0, 1.0) == "level with"
    assert compare(1.4, 1.0, tol=0.5) == "level with" and compare(1.6, 1.0, tol=0.5) == "above"
    assert compare(0.4, 1.0, tol=0.5, less="worse than") == "worse than"


def test_compare_rejects_a_negative_tolerance():
    with pytest.raises(ValueError, match="tol=-1"):
        compare(1.0, 2.0, tol=-1)


def test_signed_never_prints_minus_zero():
    assert signed(1.26) == "+1.3 points"
    assert signed(-0.04) == "0.0 points" and signed(-0.4, "pts") == "-0.4 pts"
    assert signed(3, "x", digits=0) == "+3 x"
