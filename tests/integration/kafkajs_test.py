"""kafkajs 2.2 against a real strand-broker (the JavaScript side lives in kafkajs_test.js).

kafkajs comes from npm (tools/dev setup puts it in build-npm/); without it the test is skipped
(exit 77) rather than failed, so a machine without network still runs everything else.
"""

import os
import subprocess
import sys

from broker_fixture import Broker

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    node_path = os.environ.get("KAFKAJS_NODE_PATH", "")
    if not os.path.isfile(os.path.join(node_path, "kafkajs", "package.json")):
        print(f"kafkajs not found under '{node_path}' (tools/dev setup installs it); skipping")
        return 77
    with Broker(settings={"group.initial.rebalance.delay.ms": "0"}) as broker:
        env = dict(os.environ, NODE_PATH=node_path, KAFKAJS_NO_PARTITIONER_WARNING="1")
        done = subprocess.run(["node", os.path.join(HERE, "kafkajs_test.js"), broker.bootstrap],
                              env=env, timeout=90)
        if done.returncode != 0:
            print(f"kafkajs_test.js exited with {done.returncode}", file=sys.stderr)
            return 1
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
