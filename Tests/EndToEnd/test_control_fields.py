"""The control replies answer exactly the fields docs/control.md lists, with the JSON types it
states, and `--json` works before the subcommand as well as after it."""

import json
import re
import subprocess
import time

from conftest import BIN, REPO

DOC = REPO / "docs" / "control.md"


def documented_tables() -> dict[str, dict[str, str]]:
    """Each table of docs/control.md under its nearest heading: field name -> its type column."""
    tables: dict[str, dict[str, str]] = {}
    heading = None
    for line in DOC.read_text().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip().strip("`")
        match = re.match(r"\| `([a-z0-9_]+)` \| ([^|]+) \|", line)
        if match and heading:
            tables.setdefault(heading, {})[match.group(1)] = match.group(2).strip()
    return tables


def type_matches(documented: str, value) -> bool:
    kinds = documented.split(",")[0]
    if value is None:
        return "null" in kinds
    if isinstance(value, bool):
        return kinds.startswith("boolean")
    if isinstance(value, int):
        return kinds.startswith(("integer", "number"))
    if isinstance(value, float):
        return kinds.startswith("number")
    if isinstance(value, str):
        return kinds.startswith("string")
    if isinstance(value, dict):
        return kinds.startswith("object")
    if isinstance(value, list):
        inner = re.match(r"array of (\((?P<paren>[^)]*)\)|(?P<word>\w+))", kinds)
        element = inner and (inner["paren"] or inner["word"].removesuffix("s"))
        return bool(element) and all(type_matches(element, v) for v in value)
    return False


def assert_fields(reply: dict, table: dict[str, str], where: str):
    assert list(reply) == list(table), f"{where}: answered {list(reply)}, documented {list(table)}"
    wrong = {k: (table[k], v) for k, v in reply.items() if not type_matches(table[k], v)}
    assert not wrong, f"{where}: values of another type than documented: {wrong}"


def test_every_reply_field_is_documented_with_its_type(daemon, zmq_context):
    import zmq

    tables = documented_tables()
    pub = zmq_context.socket(zmq.PUB)
    pub.connect(daemon.ingest)
    time.sleep(0.3)
    for i in range(300):
        pub.send_multipart([b"fields.pair", f"{i % 7},{(i * 3) % 11}".encode()])
    deadline = time.monotonic() + 10
    while daemon.info()["ingest"]["samples_scored"] < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    pub.close(linger=0)

    info = daemon.info()
    assert list(info) == ["server", "ingest", "streams", "model", "persistence", "control", "publish", "cluster"]
    for section, fields in info.items():
        assert_fields(fields, tables[section], f"info {section}")

    streams = json.loads(daemon.ctl("streams", "--json").stdout)
    assert len(streams) == 1
    assert_fields(streams[0], tables["anomalyctl streams"], "streams")

    # --json before the subcommand, as after it.
    leading = subprocess.run(
        [str(BIN / "anomalyctl"), "--json", "--socket", daemon.control, "stream", "fields.pair"],
        capture_output=True, text=True, check=True,
    )
    stream = json.loads(leading.stdout)
    assert list(stream) == ["stream"]
    assert_fields(stream["stream"], tables["anomalyctl stream ID"], "stream")
    detail = stream["stream"]
    assert detail["channels"] == 2 and len(detail["mean"]) == 2 and len(detail["scale"]) == 2
    assert abs(detail["mean"][0] - 3.0) < 0.5, detail["mean"]
    assert len(detail["recent_scores"]) == 32 and all(0 <= s <= 1 for s in detail["recent_scores"])
    assert detail["samples"] == 300 and detail["warming_up"] is True and detail["in_episode"] is False

    # Text shows the same lists comma-joined and booleans as 1/0.
    text = daemon.ctl("stream", "fields.pair").stdout
    means = re.search(r"^mean:(.*)$", text, re.M).group(1).split(",")
    assert [float(m) for m in means] == detail["mean"]
    assert "warming_up:1\n" in text and "last_anomaly:never\n" in text
