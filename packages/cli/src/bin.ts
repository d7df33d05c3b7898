#!/usr/bin/env node
import { run } from './main.js';

// `serve` resolves once listening and keeps the process alive until a signal.
process.exitCode = await run(process.argv);
