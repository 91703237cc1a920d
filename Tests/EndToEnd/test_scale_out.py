"""Two instances splitting the streams ("i/N" shards): each stream is scored exactly once, and a
stream's learned state moves between instances with export/import."""

import json
import time

import zmq

from conftest import Daemon, wait_for_subscriber


def test_two_shards_score_each_stream_exactly_once(tmp_path, zmq_context):
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    a = Daemon(dirs[0], config_text='[server]\nshard = "0/2"\n')
    b = Daemon(dirs[1], config_text='[server]\nshard = "1/2"\n')
    try:
        pub = zmq_context.socket(zmq.XPUB)
        pub.setsockopt(zmq.LINGER, 5000)
        pub.setsockopt(zmq.XPUB_NODROP, 1)
        pub.setsockopt(zmq.XPUB_VERBOSE, 1)  # report both instances' identical subscriptions
        pub.connect(a.ingest)
        pub.connect(b.ingest)
        wait_for_subscriber(pub)
        wait_for_subscriber(pub)
        streams, per_stream = 100, 5
        for k in range(per_stream):
            for s in range(streams):
                pub.send_multipart([f"fleet.{s}".encode(), f"{k + s % 7}".encode()])
        deadline = time.time() + 20
        while time.time() < deadline:
            ia, ib = a.info()["ingest"], b.info()["ingest"]
            if ia["messages_received"] + ib["messages_received"] >= 2 * streams * per_stream and (
                ia["samples_scored"] + ib["samples_scored"] >= streams * per_stream
            ):
                break
            time.sleep(0.05)
        ia, ib = a.info()["ingest"], b.info()["ingest"]
        assert ia["samples_scored"] + ib["samples_scored"] == streams * per_stream
        assert ia["messages_other_shard"] + ib["messages_other_shard"] == streams * per_stream
        assert ia["samples_scored"] > 0 and ib["samples_scored"] > 0
        owned_a = {s["stream"] for s in json.loads(a.ctl("streams", "--json").stdout)}
        owned_b = {s["stream"] for s in json.loads(b.ctl("streams", "--json").stdout)}
        assert owned_a.isdisjoint(owned_b) and len(owned_a | owned_b) == streams

        # Move one of a's streams to b: b then knows it with everything a had learned.
        moved = sorted(owned_a)[0]
        record = a.ctl("export", moved).stdout
        assert json.loads(record)["samples"] == per_stream
        path = tmp_path / "moved.json"
        path.write_text(record)
        assert b.ctl("import", str(path)).returncode == 0
        assert f"samples:{per_stream}" in b.ctl("stream", moved).stdout
        broken = tmp_path / "broken.json"
        broken.write_text(record.replace('"state":"', '"state":"AAAA'))
        result = b.ctl("import", str(broken), check=False)
        assert result.returncode == 1 and "import:" in result.stderr
        pub.close()
    finally:
        a.stop()
        b.stop()


def test_subscriptions_reach_the_publisher_and_filter_there(tmp_path, zmq_context):
    """Publisher-side partitioning: an instance subscribed to one topic prefix tells the
    publisher so (an XPUB sees the subscription), and receives only those topics."""
    a = Daemon(tmp_path, config_text='[ingest]\nsubscribe = ["site-a.", "site-c."]\n')
    try:
        pub = zmq_context.socket(zmq.XPUB)
        pub.setsockopt(zmq.LINGER, 5000)
        pub.connect(a.ingest)
        seen = set()
        deadline = time.time() + 10
        while len(seen) < 2 and time.time() < deadline:
            if pub.poll(1000):
                seen.add(pub.recv())
        assert seen == {b"\x01site-a.", b"\x01site-c."}
        for k in range(20):
            for site in "abcd":
                pub.send_multipart([f"site-{site}.pump".encode(), f"{k}".encode()])
        deadline = time.time() + 10
        while a.info()["ingest"]["samples_scored"] < 40 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        ingest = a.info()["ingest"]
        assert ingest["subscriptions"] == ["site-a.", "site-c."]
        assert ingest["messages_received"] == 40 and ingest["samples_scored"] == 40
        assert {s["stream"] for s in json.loads(a.ctl("streams", "--json").stdout)} == {"site-a.pump", "site-c.pump"}
        pub.close()
    finally:
        a.stop()
