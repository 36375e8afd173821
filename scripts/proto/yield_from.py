"""yield from and await loops (compare.py yield_from.py): SEND, the jump back to it, throw-free."""
import asyncio
def sub(n):
    for i in range(n):
        yield i
    return n
def outer(n):
    r = yield from sub(n)
    r += yield from sub(n)
    return r
async def a(n):
    await asyncio.sleep(0)
    return n
async def b(n):
    t = 0
    for i in range(n):
        t += await a(i)
    return t
print(sum(outer(50)), asyncio.run(b(20)))
