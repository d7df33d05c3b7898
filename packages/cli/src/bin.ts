#!/usr/bin/env node
import { run } from './main.js';

// A reader that stops early (`custody audit | head`) closes the pipe: what it
// did not read was not wanted, so that is the end of the output, not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(Number(process.exitCode ?? 0));
});

// `serve` resolves once listening and keeps the process alive until a signal.
process.exitCode = await run(process.argv);
