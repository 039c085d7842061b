/**
 * What a command-line entry point takes from its process: the streams as a CliIo, and the argument
 * parser its numeric options share. Used by the CLI (main.ts) and the demo's own entry point.
 */
import { InvalidArgumentError } from 'commander';
import type { CliIo } from './syncCommand';

export function processIo(): CliIo {
  return {
    env: process.env,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    progressStream: process.stderr,
  };
}

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive whole number');
  return parsed;
}
