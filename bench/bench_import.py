"""Import speed (records/s) on the real records, repeated to a few thousand, and dictionary load time.

Targets (issue 2): ≥ 2,000 records/s; the 37k-code dictionary in < 5 s.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from common import SHARED_DATA, spread

from db.engine import make_engine
from pipeline.database import init_database
from pipeline.ingest.dictionary import import_dictionary
from pipeline.ingest.importer import import_file

REPEAT = 10  # (206 + 200) × 10 = 4,060 records
RUNS = 3
LIMIT = 2**31


def main() -> None:
    rows = []
    for name in ("ccl25_train_206.json", "ccl25_testA_200.json"):
        rows += json.loads((SHARED_DATA / name).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.json"
        # Distinct ids per copy, so that every record is new.
        copies = [{**r, "病案标识": f"{r['病案标识']}-{i}"} for i in range(REPEAT) for r in rows]
        big.write_text(json.dumps(copies, ensure_ascii=False), encoding="utf-8")
        size_mb = big.stat().st_size / 2**20

        fresh, reimport, dict_tsv, dict_xlsx = [], [], [], []
        for run in range(RUNS):
            engine = make_engine(f"sqlite:///{tmp}/bench{run}.db")
            init_database(engine)
            t = time.perf_counter()
            import_dictionary(engine, SHARED_DATA / "icd10_clinical_v2.tsv", LIMIT, "bench")
            dict_tsv.append(time.perf_counter() - t)
            t = time.perf_counter()
            import_dictionary(engine, SHARED_DATA / "icd10_clinical_v2.xlsx", LIMIT, "bench")
            dict_xlsx.append(time.perf_counter() - t)
            t = time.perf_counter()
            import_file(engine, big, "bench", "bench", LIMIT)
            fresh.append(len(copies) / (time.perf_counter() - t))
            t = time.perf_counter()
            import_file(engine, big, "bench", "bench", LIMIT)
            reimport.append(len(copies) / (time.perf_counter() - t))
            engine.dispose()

    print(f"records: {len(copies)} ({size_mb:.0f} MiB of JSON)")
    print(f"import, new records     {spread(fresh, ' rec/s', '{:.0f}')}")
    print(f"re-import, unchanged    {spread(reimport, ' rec/s', '{:.0f}')}")
    print(f"dictionary TSV (37,294) {spread(dict_tsv, ' s')}")
    print(f"dictionary xlsx (same codes, into a loaded table) {spread(dict_xlsx, ' s')}")


if __name__ == "__main__":
    main()
