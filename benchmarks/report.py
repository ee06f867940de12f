"""Print the speed-up table of a pytest-benchmark JSON file: ``python benchmarks/report.py FILE``."""
import json
import sys


def rows(path):
    with open(path) as f:
        data = json.load(f)
    for b in data["benchmarks"]:
        info = b.get("extra_info", {})
        ratios = {k: v for k, v in info.items() if k.startswith("speedup")}
        yield b["name"], b["stats"]["median"], info, ratios


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    for path in argv:
        for name, med, info, ratios in rows(path):
            r = "  ".join(f"{k.replace('speedup', 'x') or 'x'}={v:.2f}" for k, v in sorted(ratios.items()))
            print(f"{name:45s} {med * 1e3:10.3f} ms  {r}")


if __name__ == "__main__":
    main()
