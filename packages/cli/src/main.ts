/** The `custody` program: commands, global options, and exit codes. */
import { CustodyError } from '@custody/ledger';
import { Command, CommanderError, Help } from 'commander';
import { demoCommand } from './commands/demo.js';
import { readCommands } from './commands/read.js';
import { setupCommands } from './commands/setup.js';
import { writeCommands } from './commands/write.js';
import { DEFAULT_NODE } from './context.js';
import { CliError, EXIT } from './exit.js';

const EXIT_HELP = `
Exit codes:
  0  clean, or the command succeeded
  1  verified, but flagged
  2  invalid: tampering, bad signature or proof, forked or rolled-back log
  3  usage, input or connection error (including an event the node refused)

Environment: CUSTODY_NODE (default node), CUSTODY_KEY (default key file),
CUSTODY_CONFIG_DIR (where verified log keys and checkpoints are remembered), NO_COLOR.`;

export function program(): Command {
  const root = new Command('custody')
    .description('Custody: a verifiable chain of custody for controlled goods')
    .version('0.1.0')
    .option('--node <url>', `the node to talk to (default: $CUSTODY_NODE or ${DEFAULT_NODE})`)
    .option('--key <file>', 'your key file, for commands that sign (default: $CUSTODY_KEY)')
    .option('--json', 'print one machine-readable JSON document instead of text')
    .showHelpAfterError('(run with --help for usage)')
    // A repeatable option starts as an empty list: no default worth printing.
    .configureHelp({
      optionDescription: (option) => new Help().optionDescription(option).replace(' (default: [])', ''),
    })
    .addHelpText('after', EXIT_HELP);
  setupCommands(root);
  writeCommands(root);
  readCommands(root);
  demoCommand(root);
  const strict = (c: Command) => {
    c.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
    for (const sub of c.commands) strict(sub);
  };
  strict(root);
  return root;
}

/** Runs the CLI; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await program().parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version'
        ? EXIT.ok
        : EXIT.usage;
    }
    const json = argv.includes('--json');
    const { code, message, exitCode } =
      e instanceof CliError
        ? e
        : e instanceof CustodyError
          ? { code: e.code, message: e.message, exitCode: EXIT.usage }
          : {
              code: 'CUSTODY_INTERNAL',
              message: `unexpected failure: ${(e as Error).message}`,
              exitCode: EXIT.usage,
            };
    if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    process.stderr.write(`custody: ${message}\n`);
    return exitCode;
  }
}
