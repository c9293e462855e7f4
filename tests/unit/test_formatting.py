"""Numbers as the pages show them."""

from scoring import formatting


def test_counts_have_thousands_commas():
    assert formatting.count(87960) == "87,960"
    assert formatting.count(100000) == "100,000"
    assert formatting.count(7) == "7"
    assert formatting.count(None) == "—"
