"""The registry: every primitive has every rule kind, or says why it needs none."""
import ftx  # noqa: F401  (registers every primitive)
from ftx.core import rule_coverage


def test_every_primitive_has_every_rule_or_an_exemption():
    missing = {name: [kind for kind, status in row.items() if status == "missing"]
               for name, row in rule_coverage().items()}
    missing = {name: kinds for name, kinds in missing.items() if kinds}
    assert not missing, f"primitives missing rules (add them or prim.exempt(kind, why)): {missing}"


def test_coverage_lists_known_primitives_and_exemptions():
    table = rule_coverage()
    assert table["sin"]["jvp"] == "yes" and table["sin"]["batch"] == "yes"
    assert table["sin"]["transpose"].startswith("exempt")
    assert table["add"]["transpose"] == "yes"
    assert table["lt"]["jvp"] == "yes" and "piecewise constant" in table["lt"]["transpose"]
