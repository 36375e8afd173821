"""A deterministic benchmark for CI regression gates (README: "Use in CI").

Exact instruction counts do not jitter, so `opprof diff` can compare a
pull request's run of this script with main's and fail on real growth.
Keep such a script deterministic: fixed inputs, no time or randomness,
and run it with PYTHONHASHSEED=0 (set and dict-of-str order).
"""
import json


class Inventory:
    def __init__(self):
        self.items = {}

    def add(self, name, qty):
        self.items[name] = self.items.get(name, 0) + qty

    def total(self):
        return sum(self.items.values())


def parse(records):
    return [json.loads(r) for r in records]


def aggregate(rows):
    inv = Inventory()
    for row in rows:
        inv.add(row["name"], row["qty"])
    return inv


def render(inv):
    return "\n".join(f"{k}: {v}" for k, v in sorted(inv.items.items()))


records = [json.dumps({"name": f"item{i % 50}", "qty": i % 7}) for i in range(2000)]
inv = aggregate(parse(records))
print(inv.total(), len(render(inv).splitlines()))
