"""`sradit model ensemble`: a K-fold ensemble whose fold models sit behind one OpenAI-compatible server votes
through it, its members queried at the same time and loaded once.

The server is a stand-in on loopback (a `vllm serve` with a LoRA adapter per fold cannot run on this CPU machine):
it answers each served model name with that fold's answer, after a pause, and counts the requests in flight."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from pipeline.demo.synthetic import generate_records
from pipeline.domain import label_space
from tests.helpers import chat_reply, serving

#: fold → (principal answer, other answers); folds 0 and 2 agree on the principal, 0 and 1 on one other code.
ANSWERS = {
    0: ("不稳定型心绞痛", "高血压病2级（高危）"),
    1: ("微血管性心绞痛", "高血压病2级（高危）"),
    2: ("不稳定型心绞痛", "高血压病1级（高危）"),
}


class FoldServer(BaseHTTPRequestHandler):
    in_flight = 0
    most_in_flight = 0
    served: list[str] = []
    lock = threading.Lock()

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with FoldServer.lock:
            FoldServer.in_flight += 1
            FoldServer.most_in_flight = max(FoldServer.most_in_flight, FoldServer.in_flight)
            FoldServer.served.append(body["model"])
        time.sleep(0.2)  # long enough for the other members' requests to arrive meanwhile
        fold, task = body["model"].split("-")  # served as f0-principal, f0-other, …
        principal, other = ANSWERS[int(fold[1:])]
        text = f"<think>\n</think>\n<answer>{principal if task == 'principal' else other}</answer>"
        with FoldServer.lock:
            FoldServer.in_flight -= 1
        chat_reply(self, [text])


@pytest.fixture
def server() -> Iterator[str]:
    FoldServer.in_flight, FoldServer.most_in_flight, FoldServer.served = 0, 0, []
    with serving(FoldServer) as url:
        yield url


def test_an_ensemble_of_endpoint_members_votes_through_the_server(cli: Any, server: str, tmp_path: Path) -> None:
    cli("db", "init")
    records = tmp_path / "test.json"
    records.write_text(json.dumps(generate_records(0, 2, seed=5), ensure_ascii=False), encoding="utf-8")
    cli("import", str(records), "--dataset", "test")
    members = [x for k in ANSWERS for x in ("--member", f"{k}=f{k}-principal,f{k}-other")]
    out = cli("model", "ensemble", "served", "--url", server, *members, "--score", "1=80", "--max-tokens", "32").output
    assert "registered ensemble served: 3 members" in out
    assert "ensemble" in cli("model", "show", "served").output

    cli("predict", "--model", "served", "--dataset", "test", "--out", str(tmp_path / "pred.json"))
    rows = json.loads((tmp_path / "pred.json").read_text(encoding="utf-8"))
    code = {name: c for c, name in {**label_space.OTHER, **label_space.PRINCIPAL}.items()}
    assert [r["预测结果"] for r in rows] == [f"[{code['不稳定型心绞痛']}|{code['高血压病2级（高危）']}]"] * 2
    assert FoldServer.most_in_flight >= 2  # the members were asked at the same time
    assert sorted(set(FoldServer.served)) == sorted(f"f{k}-{t}" for k in ANSWERS for t in ("principal", "other"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "127.0.0.1:8000", "--member", "0=a,b", "--member", "1=c,d"], "an OpenAI-compatible base URL"),
        (["--url", "http://h/v1", "--member", "0=a,b"], "at least two --member"),
        (["--url", "http://h/v1", "--member", "0=a,b", "--member", "x=c,d"], "--member 'x=c,d': write FOLD=VALUE"),
        (["--url", "http://h/v1", "--member", "0=a,b", "--member", "1=c"], "every member must be a pair"),
        (["--url", "http://h/v1", "--member", "0=a,b", "--member", "1=c,d", "--score", "2=1"], "fold 2, which has"),
        (["--url", "http://h/v1", "--member", "0=a,b", "--member", "1=c,d", "--round", "4"], "there is no round 4"),
    ],
)
def test_bad_ensembles_are_refused_by_what_is_wrong(cli: Any, args: list[str], message: str) -> None:
    cli("db", "init")
    result = cli("model", "ensemble", "e", *args, ok=False)
    assert result.exit_code == 1 and message in result.output, result.output
    names = [line.split()[0] for line in cli("model", "list").output.splitlines()[1:]]
    assert names == ["baseline"]
