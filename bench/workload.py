"""Benchmark workload: a few hundred milliseconds of call-heavy Python, then the probed lines
(one in a function, one at module level), both reached at the very end."""
import json


def parse(record):
    return json.loads(record)


def score(item):
    return item["a"] * 3 + len(item["b"])


def run(n):
    records = [json.dumps({"a": i, "b": "x" * (i % 7)}) for i in range(n)]
    total = 0
    for record in records:
        total += score(parse(record))
    return total


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def report(total):
    finished = total  # probed line in a function
    return finished


if __name__ == "__main__":
    total = run(60000) + fib(22)
    done = report(total)  # probed line at module level
    print(done)
