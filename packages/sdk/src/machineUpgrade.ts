import type { PublishedMember } from "./commandLog.js";
import { CommandError } from "./errors.js";
import { describeLacking, lackingSupport } from "./machineVersion.js";
import { UpgradeRefusedError } from "./machineVersionErrors.js";

/** What `cluster.upgradeMachine()` did: the machine version before and after (equal when there was nothing to do). */
export interface MachineUpgrade {
  from: number;
  to: number;
}

/** What {@link upgradeMachine} needs of the node it runs on. */
export interface UpgradeTarget {
  /** Waits until this node has applied everything committed before the call (a linearizable read barrier). */
  barrier(): Promise<void>;
  /** The machine version the log is at, as applied on this node. */
  version(): number;
  /** The current voters and learners. */
  memberIds(): string[];
  published(): Record<string, PublishedMember>;
  /** Proposes the version switch and resolves with its result once applied here. */
  propose(to: number): Promise<unknown>;
}

/**
 * Switches the cluster's machine version to `target` (default: the highest version every
 * current voter and learner reports supporting). Checks first, on an up-to-date view, that
 * each of them reports support for it (a member reports it when it starts: see startNode),
 * then proposes the switch; the state machine checks again at the switch's index, so a member
 * added meanwhile cannot be skipped. Resolves once the switch is applied on this node;
 * resolves with `from === to` when the machine is already at the target. Throws
 * {@link UpgradeRefusedError} (nothing changed) when a member lacks support or the target is
 * below the current version, and CommandError with code MIGRATION_FAILED when `migrate`
 * threw (the version is unchanged on every node).
 */
export async function upgradeMachine(node: UpgradeTarget, target?: number): Promise<MachineUpgrade> {
  if (target !== undefined && (!Number.isSafeInteger(target) || target < 1))
    throw new TypeError(`the target machine version must be an integer ≥ 1 (got ${String(target)})`);
  await node.barrier();
  const from = node.version();
  const members = node.memberIds();
  const published = node.published();
  const supports = (id: string): number | undefined => published[id]?.supports;
  const to = target ?? Math.min(...members.map((id) => supports(id) ?? 0));
  if (to < from)
    throw new UpgradeRefusedError(
      target === undefined
        ? `the machine is at version ${from}, and not every member supports it: ${describeLacking(lackingSupport(from, members, supports))}`
        : `the machine is at version ${from}: it cannot go back to version ${to}`,
      target === undefined ? lackingSupport(from, members, supports) : {},
    );
  if (to === from) return { from, to };
  const lacking = lackingSupport(to, members, supports);
  if (Object.keys(lacking).length > 0)
    throw new UpgradeRefusedError(
      `not every member supports machine version ${to}: ${describeLacking(lacking)}. Deploy code with ` +
        `defineMachine({ version: ${to} }) to them and restart them one at a time; each reports its version when it starts`,
      lacking,
    );
  try {
    await node.propose(to);
  } catch (e) {
    if (e instanceof CommandError && e.code === "UPGRADE_REFUSED") throw new UpgradeRefusedError(e.message);
    throw e;
  }
  return { from, to };
}
