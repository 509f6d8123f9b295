#!/usr/bin/env python3
# tests/daemon/check-metrics.py FILE — the fixture's /metrics, read by prometheus_client's
# text parser and by a strict line check of exposition format 0.0.4.
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

# tests/daemon/status-fixture.c's datasets of job "offsite", as they must come back
DATASETS = [
    "tank/home",
    "tank/data with space",
    "tank/<img src=x onerror=\"document.title='pwned'\">",
    "tank/<script>document.title='pwned'</script>",
    "tank/\u00fcn\u00efc\u00f8d\u00e9/\u65e5\u672c",
    "tank/\"quoted\" & 'apos'",
]
JOBS = {"offsite", 'evil "job" <b>bold</b>', "never-ran"}

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{{LABEL}(?:,{LABEL})*\}})? (-?[0-9]+(?:\.[0-9]+)?|NaN)$")
COMMENT = re.compile(rf"^# (HELP|TYPE) ({NAME}) (.*)$")


def strict(text):
    """Each line well formed; HELP then TYPE once per family, its samples together."""
    assert text.endswith("\n"), "no final newline"
    families, current = [], None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = COMMENT.match(line)
        if m:
            kind, name = m.group(1), m.group(2)
            if kind == "HELP":
                assert name not in families, f"line {n}: {name} twice"
                families.append(name)
                current = name
            else:
                assert name == current, f"line {n}: TYPE without its HELP"
                assert m.group(3) in ("gauge", "counter"), f"line {n}: type {m.group(3)}"
            continue
        m = SAMPLE.match(line)
        assert m, f"line {n}: not a sample: {line!r}"
        assert m.group(1) == current, f"line {n}: {m.group(1)} outside its family {current}"
    return families


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    names = strict(text)
    seen, series = set(), {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in seen, f"duplicate series {key}"
            seen.add(key)
            series.setdefault(s.name, []).append(s)
    assert len(series) >= 15, f"only {len(series)} metric names parsed"
    for name in names:
        assert name in series or name in ("zferry_bytes_remaining",), f"{name}: no samples"
    got = [s.labels["dataset"] for s in series["zferry_snapshots"] if s.labels["job"] == "offsite"]
    assert got == DATASETS, f"dataset labels do not round-trip: {got!r}"
    assert {s.labels["job"] for s in series["zferry_job_running"]} == JOBS
    runs = [s for s in series["zferry_job_runs_total"] if s.labels["job"] == "never-ran"]
    assert sorted(s.labels["result"] for s in runs) == ["cancelled", "failed", "ok", "partial"]
    assert all(s.value == 0 for s in runs)
    lag = {s.labels["dataset"]: s.value for s in series["zferry_replication_lag_seconds"]}
    assert DATASETS[3] not in lag and lag[DATASETS[2]] == 900, lag
    print(f"metrics-parse: {len(names)} families, {len(seen)} series parsed")


main()
