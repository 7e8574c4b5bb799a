"""Transaction round-trip latency against a real anvil: sign, send, wait for the receipt.

Prints the median and p90 of N round trips of `Probe.store` through ledger.Chain (estimate gas,
sign with eth-account + coincurve, send, poll the receipt), next to a bare `eth_blockNumber`
call, so the ratio shows what the transaction path costs over one RPC hop.
Run: .venv/bin/python bench/ledger_latency.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time

from deploy.anvil import start_anvil
from ledger.chain import Chain


def main(n: int = 100) -> None:
    node = start_anvil()
    try:
        chain = Chain(node.url, node.accounts[0], poll=0.005)
        probe = chain.deploy("Probe")
        rpc, tx = [], []
        for i in range(n):
            t0 = time.perf_counter()
            chain.block_number()
            rpc.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            probe.transact("store", i % 1000)
            tx.append(time.perf_counter() - t0)
        q = lambda xs, p: sorted(xs)[int(p * (len(xs) - 1))]  # noqa: E731
        print(
            f"rpc eth_blockNumber: median {statistics.median(rpc) * 1e3:.2f} ms, p90 "
            f"{q(rpc, 0.9) * 1e3:.2f} ms"
        )
        print(
            f"tx round trip      : median {statistics.median(tx) * 1e3:.2f} ms, p90 "
            f"{q(tx, 0.9) * 1e3:.2f} ms "
            f"(n={n})"
        )
        print(f"ratio tx / rpc     : {statistics.median(tx) / statistics.median(rpc):.1f}x")
    finally:
        node.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
