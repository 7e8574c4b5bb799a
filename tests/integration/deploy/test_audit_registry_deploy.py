"""The AuditRegistry in a deployment: deployed with the others, added to an addresses file
written before it existed, and a pull on a deployment without one refuses unless allowed."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest


def test_an_old_addresses_file_gains_a_registry_and_pull_refuses_without_one(
        anvil: Any, deployed_addresses: Any) -> None:
    from consumer.checked import audit_report
    from consumer.errors import UnauditedError
    from deploy.deployer import PARAMS_FILE, verify_code, with_audit_registry
    from ledger.chain import Chain
    from ledger.protocol import Protocol

    chain = Chain(anvil.url, anvil.accounts[0])
    assert deployed_addresses.auditRegistry  # deploy_all wires one
    assert with_audit_registry(chain, deployed_addresses) == deployed_addresses  # nothing to add
    old = replace(deployed_addresses, auditRegistry="")
    with pytest.raises(UnauditedError, match="names no auditRegistry"):
        audit_report(Protocol(chain, old), 1, 0, allow_unaudited=False, say=lambda _m: None)
    said: list[str] = []
    assert audit_report(Protocol(chain, old), 1, 0, allow_unaudited=True, say=said.append) == []
    assert "--allow-unaudited" in said[0]

    alien = replace(deployed_addresses, taskMarket=deployed_addresses.stakeManager)
    with pytest.raises(UnauditedError, match="attests the market"):
        audit_report(Protocol(chain, alien), 1, 0, allow_unaudited=False, say=lambda _m: None)
    new = with_audit_registry(chain, old)
    verify_code(chain, new)
    reg = chain.contract("AuditRegistry", new.auditRegistry)
    assert new.auditRegistry != deployed_addresses.auditRegistry
    assert reg.call("market") == chain.w3.to_checksum_address(old.taskMarket)
    assert reg.call("stakeManager") == chain.w3.to_checksum_address(old.stakeManager)
    want = int(json.loads(PARAMS_FILE.read_text())["audit"]["minAuditorStake"])
    assert int(reg.call("minAuditorStake")) == want
