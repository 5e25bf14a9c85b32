"""Chapter zero: the rails the story runs on. The Pi sandbox and the gateway sandboxes are in
process; on anvil the treasury deploys MSC and AuditAnchor (`msc chain deploy`'s code)."""

from __future__ import annotations

from settlement.demo.story import Step
from settlement.demo.world import World
from settlement.evm.deployment import configured_roles, deploy


def contracts(world: World) -> str:
    """Deploy the MSC token and the AuditAnchor on the demo's anvil, roles to the service key."""
    settings = world.container.settings
    sender = world.container.evm()
    roles = configured_roles(settings, sender.address)
    deployment = deploy(world.container.engine, sender, roles, settings.evm_minter_allowance)
    return (
        f"anvil {settings.evm_rpc_url} (chain {deployment.chain_id}): MSC {deployment.token},"
        f" AuditAnchor {deployment.anchor}"
    )


STEPS: list[Step[World]] = [Step("contracts", contracts)]
