/** What every command shares: the node to talk to, the key to sign with, and how to print. */
import { type KeyPair, readKeyFile } from '@custody/ledger';
import type { Command } from 'commander';
import { NodeClient } from './client.js';
import { CliError } from './exit.js';
import { createOutput, type Output } from './output.js';

export const DEFAULT_NODE = 'http://127.0.0.1:8080';

export interface Context {
  readonly out: Output;
  readonly nodeUrl: string;
  client(): NodeClient;
  /** The signing key (--key or CUSTODY_KEY); required by commands that write events. */
  key(): Promise<KeyPair>;
}

export function contextOf(command: Command): Context {
  const g = command.optsWithGlobals<{ node?: string; key?: string; json?: boolean }>();
  const nodeUrl = g.node ?? process.env.CUSTODY_NODE ?? DEFAULT_NODE;
  return {
    out: createOutput(g.json === true),
    nodeUrl,
    client: () => new NodeClient(nodeUrl),
    key: async () => {
      const path = g.key ?? process.env.CUSTODY_KEY;
      if (path === undefined)
        throw new CliError('this command signs an event: pass --key FILE (or set CUSTODY_KEY)');
      return readKeyFile(path);
    },
  };
}
