"""A connection to an EVM chain with one signing account: deploy, call, transact, read events.

What it adds to web3.py: nonce management for a single sender, gas estimation with headroom,
retries with backoff on RPC errors, receipts with a confirmation depth, and reverts decoded into
named errors (``SegmentOutOfOrder(expected=3, got=4)``) from the project's artifacts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    Web3RPCError,
)

from ledger.artifacts import Artifact, decode_revert, load
from ledger.errors import KeyUnavailableError, RpcUnavailableError, TransactionFailedError

log = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)


class Chain:
    """One RPC endpoint and (optionally) one signing account."""

    def __init__(self, rpc_url: str, account: LocalAccount | None = None, *, confirmations: int = 0,
                 gas_headroom: float = 1.25, retries: int = 6, backoff: float = 0.25,
                 timeout: float = 30.0, poll: float = 0.05) -> None:
        self.rpc_url = rpc_url
        self.account = account
        self.confirmations = confirmations
        self.gas_headroom = gas_headroom
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.poll = poll
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self._nonce: int | None = None
        self._chain_id: int | None = None
        self._lock = threading.Lock()

    # --- plumbing ------------------------------------------------------------------------------
    def retry(self, fn: Callable[[], T], what: str = "rpc") -> T:
        """Run ``fn``, retrying connection errors with exponential backoff."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except _TRANSIENT as exc:
                if attempt == self.retries:
                    raise RpcUnavailableError(
                        self.rpc_url, f"{what}: {type(exc).__name__}"
                    ) from None
                log.warning(
                    "rpc %s failed (%s); retrying in %.2fs", what, type(exc).__name__, delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:  # an endpoint's chain id does not change: ask once
            self._chain_id = int(self.retry(lambda: self.w3.eth.chain_id, "chain_id"))
        return self._chain_id

    def block_number(self) -> int:
        return int(self.retry(lambda: self.w3.eth.block_number, "block_number"))

    def balance(self, address: str) -> int:
        return int(self.retry(lambda: self.w3.eth.get_balance(Web3.to_checksum_address(address))))

    @property
    def address(self) -> str:
        if self.account is None:
            raise KeyUnavailableError("this command needs a signing key but none is configured",
                                      hint="pass --keystore FILE or set VERITRAIN_KEYSTORE")
        return str(self.account.address)

    def with_account(self, account: LocalAccount) -> Chain:
        """Another Chain on the same RPC, signing as ``account``."""
        return Chain(
            self.rpc_url,
            account,
            confirmations=self.confirmations,
            gas_headroom=self.gas_headroom,
            retries=self.retries,
            backoff=self.backoff,
            timeout=self.timeout,
            poll=self.poll,
        )

    # --- contracts -----------------------------------------------------------------------------
    def contract(self, name: str, address: str) -> Contract:
        return Contract(self, load(name), Web3.to_checksum_address(address))

    def deploy(self, name: str, *args: Any) -> Contract:
        """Deploy contract ``name`` with constructor ``args``; checks the code is there."""
        art = load(name)
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        receipt = self._send(factory.constructor(*args), label=f"deploy {name}", contract=name)
        address = receipt["contractAddress"]
        if not self.retry(lambda: self.w3.eth.get_code(address)):
            raise TransactionFailedError(
                f"deploy {name}: no code at {address} after the transaction"
            )
        return Contract(self, art, address, receipt=receipt)

    # --- transactions --------------------------------------------------------------------------
    def _next_nonce(self) -> int:
        """The sender's next nonce from the node's pending count.

        Transactions are sent under a lock and each ``transact`` waits for its receipt, so the
        pending count is exact; it also heals after a reorg drops our mined transactions (a
        locally cached counter would then run ahead and every later transaction would hang).
        """
        sender = Web3.to_checksum_address(self.address)
        self._nonce = int(self.retry(lambda: self.w3.eth.get_transaction_count(sender, "pending")))
        return self._nonce

    def _send(self, call: Any, *, value: int = 0, label: str, contract: str | None,
              gas: int | None = None) -> Any:
        """Estimate, sign, send and wait for ``call``; decode a revert into a named error."""
        with self._lock:
            tx_params: dict[str, Any] = {
                "from": self.address,
                "value": value,
                "chainId": self.chain_id,
            }
            if gas is None:
                try:
                    estimate = self.retry(lambda: call.estimate_gas(tx_params), f"estimate {label}")
                except (ContractCustomError, ContractLogicError, ContractPanicError) as exc:
                    raise decode_revert(_revert_data(exc), contract) from None
                gas = int(estimate * self.gas_headroom) + 10_000
            for attempt in range(3):
                nonce = self._next_nonce()
                tx = call.build_transaction({**tx_params, "gas": gas, "nonce": nonce})
                raw = self.account.sign_transaction(tx).raw_transaction  # type: ignore[union-attr]
                try:
                    tx_hash = self.retry(
                        partial(self.w3.eth.send_raw_transaction, raw), f"send {label}"
                    )
                    break
                except Web3RPCError as exc:
                    message = str(exc).lower()
                    if "nonce" in message and attempt < 2:
                        log.warning("nonce %d rejected for %s (%s); resyncing", nonce, label, exc)
                        self._nonce = None
                        continue
                    raise
            self._nonce = nonce + 1
        receipt = self.wait(tx_hash, raw=raw)
        if receipt["status"] != 1:
            raise self._failure(tx, receipt, contract, label)
        log.debug("%s mined in block %d, gas %d", label, receipt["blockNumber"], receipt["gasUsed"])
        return receipt

    def wait(self, tx_hash: Any, raw: bytes | None = None, rebroadcast_after: float = 3.0) -> Any:
        """The receipt of ``tx_hash`` once it is ``confirmations`` blocks deep.

        A transaction can vanish from the node's pool (an RPC node restarted from saved state, a
        reorg, a pool eviction). With the signed ``raw`` bytes at hand it is sent again whenever
        the node has not known it for ``rebroadcast_after`` seconds; a receipt found at any time
        ends the wait, so rebroadcasting can never double-spend (same nonce, same hash).
        """
        deadline = time.monotonic() + max(self.timeout, 120.0)
        unknown_since: float | None = None
        while True:
            receipt = self.retry(lambda: _receipt_or_none(self.w3, tx_hash), "receipt")
            if receipt is not None:
                if self.block_number() - receipt["blockNumber"] >= self.confirmations:
                    return receipt
                unknown_since = None
            elif raw is not None and not self._known(tx_hash):
                now = time.monotonic()
                unknown_since = unknown_since or now
                if now - unknown_since >= rebroadcast_after:
                    self._rebroadcast(tx_hash, raw)
                    unknown_since = None
            if time.monotonic() > deadline:
                raise TransactionFailedError(
                    f"transaction {Web3.to_hex(tx_hash)} not confirmed in time",
                    hint="the chain may be stalled; check the RPC node",
                )
            time.sleep(self.poll)

    def _known(self, tx_hash: Any) -> bool:
        from web3.exceptions import TransactionNotFound

        try:
            self.retry(lambda: self.w3.eth.get_transaction(tx_hash), "get_transaction")
        except TransactionNotFound:
            return False
        return True

    def _rebroadcast(self, tx_hash: Any, raw: bytes) -> None:
        log.warning("transaction %s is unknown to the node; sending it again", Web3.to_hex(tx_hash))
        try:
            self.retry(partial(self.w3.eth.send_raw_transaction, raw), "rebroadcast")
        except Web3RPCError as exc:
            message = str(exc).lower()
            if "nonce too low" in message and _receipt_or_none(self.w3, tx_hash) is None:
                # Another transaction took this nonce: ours can never be mined.
                raise TransactionFailedError(
                    f"transaction {Web3.to_hex(tx_hash)} was dropped and its nonce reused",
                    hint="check the account's recent transactions; send the action again") from None
            if "already known" not in message and "nonce too low" not in message:
                raise

    def _failure(
        self, tx: dict[str, Any], receipt: Any, contract: str | None, label: str
    ) -> Exception:
        """Recover the revert reason of a failed mined transaction by replaying it as a call."""
        call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        try:
            self.w3.eth.call(call, receipt["blockNumber"] - 1)  # type: ignore[arg-type]
        except (ContractCustomError, ContractLogicError, ContractPanicError) as exc:
            return decode_revert(_revert_data(exc), contract)
        except (Web3RPCError, ValueError) as exc:  # the replay itself failed: reason unknown
            log.debug("could not replay failed tx %s: %s", label, exc)
        return TransactionFailedError(
            f"{label} failed in tx {Web3.to_hex(receipt['transactionHash'])} "
            f"(gas used {receipt['gasUsed']} of {tx.get('gas')})"
        )


class Contract:
    """A deployed contract bound to a Chain: ``call`` reads, ``transact`` writes, ``events`` reads
    logs."""

    def __init__(self, chain: Chain, artifact: Artifact, address: str, receipt: Any = None) -> None:
        self.chain = chain
        self.artifact = artifact
        self.name = artifact.name
        self.address = address
        self.receipt = receipt
        self.web3_contract = chain.w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=artifact.abi
        )

    def call(self, fn: str, *args: Any, block: int | str = "latest") -> Any:
        bound = getattr(self.web3_contract.functions, fn)(*args)
        sender = self.chain.account.address if self.chain.account else None
        try:
            return self.chain.retry(
                lambda: bound.call({"from": sender} if sender else {}, block_identifier=block),
                f"{self.name}.{fn}",
            )
        except (ContractCustomError, ContractLogicError, ContractPanicError) as exc:
            raise decode_revert(_revert_data(exc), self.name) from None

    def transact(self, fn: str, *args: Any, value: int = 0, gas: int | None = None) -> Any:
        bound = getattr(self.web3_contract.functions, fn)(*args)
        return self.chain._send(
            bound, value=value, label=f"{self.name}.{fn}", contract=self.name, gas=gas
        )

    def events(self, event: str, from_block: int = 0, to_block: int | str = "latest",
               **filters: Any) -> list[Any]:
        """Logs of ``event`` in the inclusive block range, decoded, in chain order."""
        ev = getattr(self.web3_contract.events, event)()
        return list(
            self.chain.retry(
                lambda: ev.get_logs(
                    from_block=from_block, to_block=to_block, argument_filters=filters or None
                ),
                f"{self.name}.{event} logs",
            )
        )

    def decode_events(self, receipt: Any, event: str) -> list[Any]:
        """Decoded ``event`` logs emitted by this contract in ``receipt``."""
        ev = getattr(self.web3_contract.events, event)()
        return [log for log in ev.process_receipt(receipt, errors=_DISCARD)
                if log["address"] == self.address]


def _receipt_or_none(w3: Web3, tx_hash: Any) -> Any:
    from web3.exceptions import TransactionNotFound

    try:
        return w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None


def _revert_data(exc: Exception) -> str | None:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    if isinstance(exc, ContractLogicError) and exc.message:
        # Error(string) that web3 already decoded: re-encode so one decoder handles all.
        from eth_abi import encode

        text = exc.message.removeprefix("execution reverted: ")
        return "0x08c379a0" + encode(["string"], [text]).hex()
    return None


try:
    from web3.logs import DISCARD as _DISCARD
except ImportError:  # pragma: no cover - older web3
    _DISCARD = None  # type: ignore[assignment]
