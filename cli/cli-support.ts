// What `nodeflight print` and `nodeflight summary` share: the command line, reading a
// recording to its end or its first damage, and writing to a stdout that may go away.
// A user sees one line per problem, never a stack trace.
import { once } from 'node:events';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readRecording, RecordingDamage, type RecordingEntry } from '../recording/reader.js';

/** The parsed arguments and the one FILE, or the exit code when there is nothing to run. */
export function parseCommandLine<T extends ParseArgsConfig & { options: { help: { type: 'boolean' } } }>(
  config: T,
  usage: string,
): { args: ReturnType<typeof parseArgs<T>>; file: string } | number {
  let args: ReturnType<typeof parseArgs<T>>;
  try {
    args = parseArgs(config);
  } catch (err) {
    process.stderr.write(`nodeflight: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if ((args.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (args.positionals.length !== 1) {
    process.stderr.write(`nodeflight: expected one recording FILE\n${usage}\n`);
    return 2;
  }
  return { args, file: args.positionals[0]! };
}

const plain = /^[^\s\x00-\x1f\x7f"]+$/;

/** A name as one text field: quoted as a JSON string when it holds spaces, quotes or control characters. */
export function showField(s: string): string {
  return plain.test(s) ? s : JSON.stringify(s);
}

/** stdout with back-pressure, that ends quietly when the reader goes away (`| head`). */
export class Output {
  private closed = false;
  /** A write failure other than the reader going away (EPIPE), e.g. a full disk. */
  failure: Error | null = null;

  constructor(private readonly stream: NodeJS.WritableStream) {
    // Kept for the life of the process: an EPIPE after the command returned would
    // otherwise be an uncaught error with a stack trace.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      this.closed = true;
      if (err.code !== 'EPIPE') this.failure ??= err;
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async write(text: string): Promise<void> {
    if (this.closed || this.stream.write(text)) return;
    // A failure rejects the wait; the error listener has already recorded it.
    await once(this.stream, 'drain').catch(() => undefined);
  }
}

export interface ReadResult {
  /** The header was read: the file is a recording, though it may be damaged after it. */
  readable: boolean;
  damage: RecordingDamage | null;
  /** The stderr line when the file could not be read to its end. */
  problem: string | null;
}

function describeFileError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': return 'no such file';
    case 'EISDIR': return 'is a directory, not a recording file';
    case 'EACCES': return 'permission denied';
    default: return err.message;
  }
}

/** Hands every entry to `visit`, until the end, the first damage, or `visit` says stop. */
export async function readRecordingFile(file: string, visit: (entry: RecordingEntry) => Promise<boolean>): Promise<ReadResult> {
  let readable = false;
  let events = 0;
  try {
    for await (const entry of readRecording(file)) {
      if (entry.t === 'header') readable = true;
      else if (entry.t === 'events') events += entry.events.count;
      if (!(await visit(entry))) break;
    }
  } catch (err) {
    if (err instanceof RecordingDamage) {
      // Offset and count only help where there was a recording to read.
      const problem = readable ? `${err.message}; ${events} events read before it` : err.reason;
      return { readable, damage: err, problem: `nodeflight: ${file}: ${problem}` };
    }
    if (typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
    return { readable, damage: null, problem: `nodeflight: ${file}: ${describeFileError(err as NodeJS.ErrnoException)}` };
  }
  return { readable, damage: null, problem: null };
}

/** Reports what went wrong and gives the exit code: 1 only when nothing could be read. */
export function finish(out: Output, result: ReadResult): number {
  if (result.problem) process.stderr.write(`${result.problem}\n`);
  if (out.failure) {
    process.stderr.write(`nodeflight: cannot write the output: ${out.failure.message}\n`);
    return 1;
  }
  return result.readable ? 0 : 1;
}
