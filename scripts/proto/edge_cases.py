"""Edge cases for the block counts (compare.py edge_cases.py): exceptions
raised in the middle of a block, handled, re-raised and propagated,
finally, an iterator raising StopIteration, generator throw()/close(),
yield from, comprehensions, with, while True/break."""
import sys


def boom(i):
    if i % 3 == 0:
        raise ValueError(i)
    return i


def caller(i):
    x = boom(i)          # raises one time in three: the rest of the block
    y = x + 1            # is counted by the prototype anyway
    return y


def handled(n):
    t = 0
    for i in range(n):
        try:
            t += caller(i)
        except ValueError:
            t -= 1
        finally:
            t += 2
    return t


class It:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n


def gen(n):
    for i in range(n):
        try:
            yield i
        except KeyError:
            yield -1


def delegate(n):
    r = yield from gen(n)
    return r


class Ctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return True          # swallows


def main(n):
    print(handled(n))
    print(sum(It(n)))
    g = delegate(5)
    next(g)
    g.throw(KeyError)
    next(g)
    g.close()
    print([x * 2 for x in range(n) if x % 2], {x: x for x in range(3)})
    for i in range(n):
        with Ctx():
            if i % 2:
                raise RuntimeError(i)
    i = 0
    while True:
        i += 1
        if i > n:
            break


main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
