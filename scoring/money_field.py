"""The money input of every form (applicant and staff): one field over ``formatting.parse_money``,
so ``2,000,000``, ``$2,000,000.00`` and ``2000000`` are the same amount everywhere."""

from __future__ import annotations

from decimal import Decimal

from wtforms import Field, StringField

from scoring.formatting import MONEY_HELP, parse_money

__all__ = ["MONEY_HELP", "MoneyField"]


class MoneyField(Field):
    """An amount typed by a person; blank is None.

    ``strict`` (the applicant form): refuse a minus sign or more than two decimals with the money
    help, and anything above ``maximum``. Not strict (staff forms): the form's own validators
    check bounds and places and say which was wrong.
    """

    widget = StringField.widget

    def __init__(self, label=None, validators=None, *, strict=True, maximum=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)
        self.strict, self.maximum = strict, maximum

    def process_formdata(self, valuelist):
        """Read the typed amount (``ValueError`` with the money help if it is not one)."""
        if not valuelist:  # not in the post at all: keep the current value
            return
        self.data = None
        value = parse_money(valuelist[0])
        if value is None or not self.strict:
            self.data = value
            return
        if value < 0 or value.as_tuple().exponent < -2:
            raise ValueError(MONEY_HELP)
        if self.maximum is not None and value > self.maximum:
            raise ValueError("That amount is too large.")
        self.data = value.quantize(Decimal("0.01"))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:.2f}" if isinstance(self.data, Decimal) else ""
