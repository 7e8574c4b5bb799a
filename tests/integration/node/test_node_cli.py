"""The operator and requester commands, in-process through the real CLI entry point."""

from __future__ import annotations

from tests.integration.node.conftest import E18


def test_task_create_show_node_stake_status_check(
    protocol, anvil, node_store, deployed_addresses, tmp_path, monkeypatch, capsys
):
    from prover.presets import default_dataset_dir, preset_spec
    from veritrain.cli.main import main

    requester, operator = protocol(1), protocol(4)
    dataset = default_dataset_dir(32)  # the cached corpus, before VERITRAIN_HOME moves
    addresses_file = tmp_path / "addresses.json"
    deployed_addresses.save(addresses_file)
    for k, v in {
        "VERITRAIN_RPC_URL": anvil.url,
        "VERITRAIN_IPFS_API": node_store.multiaddr,
        "VERITRAIN_ADDRESSES": str(addresses_file),
        "VERITRAIN_HOME": str(tmp_path / "home"),
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("VERITRAIN_KEYSTORE", raising=False)
    spec_file = tmp_path / "spec.json"
    spec_file.write_bytes(
        preset_spec("tiny").canonical_bytes()
    )  # 64 steps; --total-steps overrides

    def cli(*args: str, key=None) -> tuple[int, str]:
        monkeypatch.setenv("VERITRAIN_PRIVATE_KEY", "0x" + bytes(key.key).hex())
        rc = main(list(args))
        out = capsys.readouterr()
        cli.stdout = out.out
        return rc, out.out + out.err

    rc, out = cli(
        "task",
        "create",
        "--spec",
        str(spec_file),
        "--reward",
        "16",
        "--total-steps",
        "16",
        "--challenge-window",
        "5",
        "--node-stake",
        "1000",
        "--dataset",
        str(dataset),
        key=anvil.accounts[1],
    )
    assert rc == 0, out
    task_id = int(cli.stdout.strip().splitlines()[-1])
    task = requester.task(task_id)
    assert (
        int(task.reward) == 16 * E18
        and int(task.params.totalSteps) == 16
        and int(task.params.challengeWindow) == 5
    )

    rc, out = cli("task", "show", str(task_id), key=anvil.accounts[1])
    assert rc == 0 and "OPEN" in out and "16 in segments of 8" in out
    assert "referee (graphRoot 0x" in out  # the deployment's default for a v2 spec (#19)

    rc, out = cli("node", "stake", "1500", key=anvil.accounts[4])
    assert rc == 0 and "staked 1,500" in out
    assert int(operator.stake_info().staked) == 1500 * E18

    rc, out = cli("node", "status", key=anvil.accounts[4])
    assert rc == 0 and "1,500" in out and "has not run here yet" in out

    rc, out = cli("node", "check", str(task_id), key=anvil.accounts[4])
    assert rc == 0 and f"task {task_id}: servable (2 segments" in out

    rc, out = cli("node", "check", "999", key=anvil.accounts[4])
    assert rc == 3 and "task 999 does not exist" in out

    rc, out = cli("node", "unstake", "500", key=anvil.accounts[4])
    assert rc == 0 and "requested 500" in out
    assert int(operator.stake_info().pending) == 500 * E18

    # #14: only the requester cancels; an open task comes back whole
    rc, out = cli("task", "cancel", str(task_id), key=anvil.accounts[4])
    assert rc == 3 and "not by you" in " ".join(out.split())
    before = requester.balance()
    rc, out = cli("task", "cancel", str(task_id), key=anvil.accounts[1])
    assert rc == 0 and "refunded 16" in " ".join(out.split()), out
    assert requester.balance() - before == 16 * E18
    rc, out = cli("task", "cancel", str(task_id), key=anvil.accounts[1])
    assert rc == 3 and "nothing to cancel" in " ".join(out.split())
