"""The one reading of typed money (``scoring.formatting.parse_money``)."""

from decimal import Decimal

import pytest

from scoring.formatting import MONEY_HELP, parse_money


@pytest.mark.parametrize(
    "typed, value",
    [
        ("2,000,000", Decimal("2000000")),
        ("$2,000,000.00", Decimal("2000000.00")),
        ("2000000", Decimal("2000000")),
        (" $ 250,000 ", Decimal("250000")),
        ("12.345", Decimal("12.345")),  # places are the form's to judge
        ("-5", Decimal("-5")),  # so is the sign
        ("", None),
        (None, None),
    ],
)
def test_amounts_as_people_type_them(typed, value):
    assert parse_money(typed) == value


@pytest.mark.parametrize("typed", ["lots", "2,00,000", "1e40", "NaN", "$$5", "5$", "1,000.", "--5"])
def test_anything_else_gets_the_money_help(typed):
    with pytest.raises(ValueError, match="Enter dollars and cents") as caught:
        parse_money(typed)
    assert str(caught.value) == MONEY_HELP
