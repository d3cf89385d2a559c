# Stands in for torchrun's elastic agent: hosts the TCPStore its workers join
# as clients (TORCHELASTIC_USE_AGENT_STORE=True), prints "@@" ready, and keeps
# it up until stdin closes. (Debian's torchrun 1.13 fails to start workers on
# Python 3.11, so the tests cannot run torchrun itself.)
#   python3 tests/distributed/agent_store.py <port>
import json
import sys
from datetime import timedelta

import torch.distributed as dist

store = dist.TCPStore("127.0.0.1", int(sys.argv[1]), 1, True, timedelta(seconds=60),
                      multi_tenant=True)
print("@@" + json.dumps({"key": "ready", "value": True}), flush=True)
sys.stdin.read()
