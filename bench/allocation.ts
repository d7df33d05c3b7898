/**
 * What a piece of work allocates, from V8's sampling heap profiler with the
 * objects either GC has collected kept in (the profile then estimates all
 * allocation, not what survives). Allocation is what V8's GC threads and
 * pauses pay for, and unlike a time it barely moves with the machine: the
 * figure to compare across runs when the machine's speed does not hold still.
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

/** Bytes allocated while `work` runs, per unit it reports having done. */
export async function allocatedPer(work: () => Promise<number>): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    // The two include flags are newer than Node 20's typings of the protocol, hence a variable.
    const sampling = {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    };
    await session.post('HeapProfiler.startSampling', sampling);
    const units = await work();
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
      profile: { head: ProfileNode };
    };
    let bytes = 0;
    const walk = (node: ProfileNode) => {
      bytes += node.selfSize;
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    return bytes / units;
  } finally {
    session.disconnect();
  }
}
