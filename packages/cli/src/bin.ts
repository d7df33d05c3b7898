#!/usr/bin/env node
import { run } from './main.js';

// A reader that stops early (`custody audit | head`) closes the pipe: what it
// did not read was not wanted. The output ends there and the command runs to
// its own exit code; `serve` keeps serving (exiting here would drop the group
// in flight).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

// `serve` resolves once listening and keeps the process alive until a signal.
process.exitCode = await run(process.argv);
