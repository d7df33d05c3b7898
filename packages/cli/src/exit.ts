/**
 * Exit codes, the CLI's contract with scripts:
 *   0  clean, or the command succeeded
 *   1  verified, but flagged
 *   2  invalid: tampering, a bad signature, a bad proof, a forked or rolled-back log
 *   3  usage, input or connection error (including an event the node refused)
 */
export const EXIT = { ok: 0, flagged: 1, invalid: 2, usage: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the command with a given exit code and a sentence for the user. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.usage,
    readonly code = 'CUSTODY_USAGE',
  ) {
    super(message);
  }
}
