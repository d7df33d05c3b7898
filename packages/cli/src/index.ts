/** @custody/cli: the `custody` command as a library (for tests and embedding). */
export { EXIT, type ExitCode } from './exit.js';
export { program, run } from './main.js';
