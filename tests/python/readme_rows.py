"""Runs the README's "Reading the shards from Python" snippet (pyarrow + NumPy) and prints what it
derives, one JSON line per row, for the test to compare with @lwm/shards' own row helpers.

usage: readme_rows.py SNIPPET_FILE OUTPUT_ROOT

The snippet is executed as written, in OUTPUT_ROOT's parent (it opens "out/2k/shard-00000.arrow"),
so its row 0 is exactly what a reader of the README gets. Then, to cover every row, the same text is
executed again per (shard, row) with only its path literal and its `r = 0` line replaced.
"""
import json
import os
import sys

snippet_path, root = sys.argv[1], sys.argv[2]
snippet = open(snippet_path, encoding="utf-8").read()
PATH, ROW = '"out/2k/shard-00000.arrow"', "\nr = 0\n"
assert PATH in snippet and ROW in snippet, "the README snippet no longer opens out/2k/shard-00000.arrow at r = 0"


def run(code):
    scope = {}
    exec(compile(code, "README.md snippet", "exec"), scope)
    return {
        "n": int(scope["n"]),
        "seqLen": int(scope["meta"]["seqLen"]),
        "rows": int(scope["table"].num_rows),
        "input_ids": scope["input_ids"].tolist(),
        "position_ids": scope["position_ids"].tolist(),
        "labels": scope["labels"].tolist(),
        "weights": scope["weights"].tolist(),
    }


os.chdir(os.path.dirname(os.path.abspath(root)))
rel = os.path.basename(os.path.abspath(root))
if rel != "out":
    raise SystemExit(f"{root}: the README snippet reads out/…; name the output root 'out'")
first = run(snippet)
print(json.dumps({"shard": "2k/shard-00000.arrow", "row": 0, "asWritten": True, **first}))
for stage in sorted(os.listdir("out")):
    manifest = os.path.join("out", stage, "manifest.json")
    if not os.path.isfile(manifest):
        continue
    for entry in json.load(open(manifest))["shards"]:
        for r in range(entry["rows"]):
            code = snippet.replace(PATH, json.dumps(f"out/{stage}/{entry['file']}")).replace(ROW, f"\nr = {r}\n")
            print(json.dumps({"shard": f"{stage}/{entry['file']}", "row": r, "asWritten": False, **run(code)}))
