"""Call-heavy code: small functions, methods, properties, generators,
closures and recursion, the shape of typical application code."""
import sys


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def add(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    @property
    def norm1(self):
        return abs(self.x) + abs(self.y)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def evens(n):
    for i in range(n):
        if i % 2 == 0:
            yield i


def make_adder(k):
    def add(v):
        return v + k
    return add


def main(n):
    acc = Vec(0, 0)
    step = Vec(1, -1)
    for _ in range(n):
        acc = acc.add(step)
    add3 = make_adder(3)
    s = sum(add3(e) for e in evens(n))
    print(acc.norm1, s, fib(20))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
