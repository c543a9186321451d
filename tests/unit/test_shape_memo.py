"""The line-shape memo must give exactly what a fresh analysis gives (reifier.core.shapes).

Lines of one memo key share a shape only if the masking rules cannot tell them apart;
these tests mutate real log lines the way ids, hashes and numbers change between
instances (and in the ways that *do* change the masking) and compare the memoized
shape of every mutation with a fresh analysis of it.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from reifier.core import masking, shapes
from reifier.core.patterns import clear_caches, line_shape

EVAL = Path(__file__).resolve().parents[1] / "data" / "logeval" / "eval.jsonl"
_DIGIT = re.compile(r"\d")
_RUN = re.compile(r"(?<![A-Za-z0-9])[0-9a-f]+(?![A-Za-z0-9])")
_MODES = ("hex", "hex", "hex", "digits", "letters", "digits_and_d", "letter_first", "digit_first")


def _fill(rng: random.Random, length: int, mode: str) -> str:
    pools = {"hex": "0123456789abcdef", "digits": "0123456789", "letters": "abcdef",
             "digits_and_d": "0123456789d", "letter_first": "0123456789abcdef",
             "digit_first": "0123456789abcdef"}
    out = [rng.choice(pools[mode]) for _ in range(length)]
    if mode == "letter_first":
        out[0] = rng.choice("abcdef")
    elif mode == "digit_first":
        out[0] = rng.choice("0123456789")
    return "".join(out)


def mutate(rng: random.Random, line: str) -> str:
    """Give every digit a new value and bounded hex runs new characters.

    Runs with a letter (ids, hashes) get any characters; runs of digits mostly stay
    numbers, so the line keeps its structure (dates, times) around the runs that change.
    """
    line = _DIGIT.sub(lambda m: rng.choice("0123456789"), line)

    def new_run(m: re.Match[str]) -> str:
        text = m.group()
        if text.isdigit() and rng.random() < 0.9:
            return text
        return _fill(rng, len(text), rng.choice(_MODES))

    return _RUN.sub(new_run, line)


def _assert_memo_agrees(bases: list[str], rounds: int, seed: int) -> int:
    rng = random.Random(seed)
    clear_caches()
    checked = 0
    for base in bases:
        line_shape(base)  # the family this base starts, then its mutations look it up
        for _ in range(rounds):
            line = mutate(rng, base)
            assert line_shape(line) == masking.analyse(line), (base, line)
            checked += 1
        assert line_shape(base) == masking.analyse(base), base
    return checked


def test_memoized_shapes_equal_fresh_analysis_on_mutated_eval_lines() -> None:
    bases = [json.loads(x)["line"] for x in EVAL.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert _assert_memo_agrees(bases, rounds=12, seed=11) > 12_000


# Lines built so that a hex run's letters or first character do change the masking.
HAZARDS = [
    "Dec  1 10:00:00 web-1 app[42]: took 12345a6 to start",  # 1234567d would be a duration
    "scheduled in 1a2b3c4 seconds on c0ffee12",
    "Warning  BackOff  1a2b3c  kubelet  Back-off restarting failed container",  # age [0-9smhd]+
    "3m  Warning  BackOff  pod/web-1  restarting, age 5d4d3d2 of 9a8b7c6d",
    "fetch 1a2b3c://example.com/x failed",  # a URL scheme starts with a letter
    "backend 1a2b3c/web1 is DOWN",  # name/name starts with a letter
    "proc 1a2b3c[42]: segfault at 7f3a2b1c ip 00007f3a2b1c0000",  # name[pid]
    "soft lockup - CPU#3 stuck for 23s! [1a2b3c:77]",
    "INFO: task 1abc2d:4242 blocked for more than 120 seconds",
    "INFO: task java:1a2b3c4 blocked for more than 120 seconds",  # task NAME:PID
    "resolve db.8a3f1c2e-1b2c-4d5e-8f90-123456789abc failed",  # a host's last label
    "2024-01-05T10:00:00+0a1b2c request failed",  # a time zone could grow into the run
    "at 10:00:00,1a2b3c4 request 0xdeadbeef99 failed",
    "build 2024-01-0a5b12 failed, retry 2024/01/a0b1c2 next",  # a date could grow into it
    "version 1.2.3-0a1b2c4 on 10.0.0.1-5e6f7a8 took 1.5-2a3b4c5",
    "1a2b3c4d worker crashed with 0x7f3a2b1c",  # a run at the start of the message
    "container a1b2c3d4e5f6 exited; see /var/lib/docker/containers/a1b2c3d4e5f6/a1b2c3-json.log",
    "pod web-7d9f8b6c5d-b2c7f_ns(8a3f1c2e-1b2c-4d5e-8f90-123456789abc) restarted",
    "node gke-prod-pool-1-e7175e0b-x7k2 is NotReady, uid 8a3f1c2e-1b2c-4d5e-8f90-123456789abc",
    "user=1a2b3c4 session=c0ffee1234 tty=pts/0 ok",
    'msg="OOM killed container 6f7ab6520968c0a40883e954b8669bbf6a4738717fd3ccc7543b5cc10e73baab"',
    "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9 mismatch in docker.io/library/app:1a2b3c",
    "TRACE 1a2b3c4d5e6f7a8b: span 00f067aa0ba902b7 took 12ms",
]


@pytest.mark.parametrize("line", HAZARDS)
def test_memo_agrees_where_letters_matter(line: str) -> None:
    _assert_memo_agrees([line], rounds=600, seed=len(line))


def test_prefix_dispatch_treats_each_hex_letter_and_digit_alike() -> None:
    # the memo lets a message start with any of a-f (or any digit) in place of another
    table = masking._PREFIX_BY_CHAR
    assert len({id(table.get(c)) for c in "abcdef"}) == 1
    assert len({id(table.get(c)) for c in "0123456789"}) == 1


def test_one_family_serves_every_instance_of_a_hex_bearing_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    base = "Dec 13 10:00:00 worker-14 dockerd[80078]: write /var/lib/docker/containers/1255f31ad0c17dd8/3bb85076e7a3-json.log: no space left"
    clear_caches()
    calls = 0
    real = shapes.analyse

    def counting(line: str) -> masking.LineShape:
        nonlocal calls
        calls += 1
        return real(line)

    def fresh_id(m: re.Match[str]) -> str:  # a new id that still reads as one (a digit, not only "d")
        while True:
            run = _fill(rng, len(m.group()), "hex")
            if not run.isalpha() and run.strip("0123456789d"):
                return run

    monkeypatch.setattr(shapes, "analyse", counting)
    seen = set()
    for _ in range(200):
        line = _DIGIT.sub(lambda m: rng.choice("0123456789"), base)
        line = re.sub(r"(?<=/)[0-9a-f]{12,}(?=[/-])", fresh_id, line)  # the two container ids
        seen.add(line)
        line_shape(line)
    assert len(seen) == 200  # every line is new text
    assert calls <= 4, calls  # a family per first-character class of the id, not a line each
