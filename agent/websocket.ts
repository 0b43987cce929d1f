// The agent's WebSocket client (RFC 6455), on a raw net or tls socket: the handshake,
// binary frames out (masked with a fresh random key each), frames in (at most
// `maxPayload`, never masked), ping and pong both ways, close; and a liveness check: a
// server silent for `silenceTimeoutMs` (not even a pong) is taken for lost.
//
// Why not ws's client: loading it, with the node:http client it makes its upgrade
// request through, cost the host 7 MB of RSS (idle: 65.6 MB against 58.2 MB with this one,
// 57.6 MB with no collector at all), and ws waits for a close under a ref'd 30 s timer.
// Here every timer is unref'd, so a closing connection never holds the host.
import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface WebSocketOptions {
  /** Extra request headers; a name or value with a line break fails the connection. */
  headers: Record<string, string>;
  maxPayload: number;
  handshakeTimeoutMs: number;
  /** The server is pinged after half of this without a byte from it, and dropped after all of it; 0: never. */
  silenceTimeoutMs: number;
  /** For wss: the certificates to trust (default: Node's). */
  ca?: string[];
}

export interface WebSocketEvents {
  /** The handshake completed. */
  open(): void;
  /** A whole binary message. */
  message(data: Buffer): void;
  /** A whole text message (the protocol has none). */
  text(): void;
  /** The server answered the upgrade with another status. */
  refused(status: number): void;
  error(err: Error): void;
  /** Always last, once: the close code the server sent (1006 when none). */
  close(code: number, reason: string): void;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HANDSHAKE_BYTES = 16 * 1024;
/** How long a clean close waits for the server's reply before cutting the socket. */
const CLOSE_WAIT_MS = 1000;

/** Error code of a connection dropped because the server fell silent. */
export const SILENT_SERVER = 'NODEFLIGHT_SILENT_SERVER';

// Masking keys come from a pool refilled in bulk: one randomFillSync per 1,024 frames.
const KEY_POOL_BYTES = 4096;
const keyPool = Buffer.allocUnsafeSlow(KEY_POOL_BYTES);
/** The same bytes as native words: a word XOR a word of the key masks four bytes in wire order. */
const keyWords = new Int32Array(keyPool.buffer, 0, KEY_POOL_BYTES / 4);
let keyOffset = KEY_POOL_BYTES;

const enum Op { continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xa }

export class WebSocketClient {
  private readonly socket: net.Socket;
  private state: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting';
  private readonly key = randomBytes(16).toString('base64');
  private input: Buffer | null = null;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOp = 0;
  private closeCode = 1006;
  private closeReason = '';
  /** Set when the server broke the protocol: nothing more it sends is read. */
  private failed = false;
  private timer: NodeJS.Timeout | null;
  private readonly maxPayload: number;
  /** Date.now() of the last byte from the server, and whether it was pinged since. */
  private lastInput = 0;
  private pinged = false;
  private liveness: NodeJS.Timeout | null = null;

  constructor(url: URL, private readonly options: WebSocketOptions, private readonly on: WebSocketEvents) {
    this.maxPayload = options.maxPayload;
    const secure = url.protocol === 'wss:' || url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ca: options.ca })
      : net.connect({ host, port });
    this.socket.unref();
    this.socket.setNoDelay(true);
    this.timer = setTimeout(() => this.fail(new Error('the WebSocket handshake timed out')), options.handshakeTimeoutMs);
    this.timer.unref();
    this.socket.once(secure ? 'secureConnect' : 'connect', () => this.handshake(url));
    // The handlers behind `on` run inside this event: whatever throws must end this
    // connection, never reach the host as an uncaught exception.
    this.socket.on('data', (chunk: Buffer) => {
      this.lastInput = Date.now();
      this.pinged = false;
      try {
        this.receive(chunk);
      } catch (err) {
        this.abandon(1011, 'internal error', err instanceof Error ? err : new Error(String(err)));
      }
    });
    this.socket.on('error', (err) => this.on.error(err));
    this.socket.on('close', () => this.closed());
  }

  /** Bytes written and not yet taken by the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Sends one binary message; `done` runs once it reached the kernel. */
  send(data: Uint8Array, done?: (err?: Error | null) => void): void {
    if (this.state !== 'open') return;
    this.frame(Op.binary, data, done);
  }

  /** Starts the closing handshake; the socket is cut if the server does not answer. */
  close(code: number, reason: string): void {
    if (this.state === 'connecting') return this.terminate();
    if (this.state !== 'open') return;
    this.sendClose(code, reason);
  }

  terminate(): void {
    this.socket.destroy();
  }

  private handshake(url: URL): void {
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${this.key}`, 'Sec-WebSocket-Version: 13',
    ];
    for (const [name, value] of Object.entries(this.options.headers)) {
      if (/[\r\n]/.test(name + value)) return this.fail(new Error(`the request header ${JSON.stringify(name.replace(/[\r\n].*/s, ''))} holds a line break`));
      lines.push(`${name}: ${value}`);
    }
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  // Checked four times per timeout: a silent server is dropped within 1.25 timeouts.
  private watchLiveness(): void {
    const timeout = this.options.silenceTimeoutMs;
    if (timeout <= 0) return;
    this.lastInput = Date.now();
    this.liveness = setInterval(() => {
      const silent = Date.now() - this.lastInput;
      if (silent >= timeout) {
        const err = new Error(`the collector sent nothing for ${silent} ms, not even a pong`);
        (err as NodeJS.ErrnoException).code = SILENT_SERVER;
        this.fail(err);
      } else if (silent >= timeout / 2 && !this.pinged && this.state === 'open') {
        this.pinged = true;
        this.frame(Op.ping, EMPTY);
      }
    }, Math.max(1, Math.floor(timeout / 4)));
    this.liveness.unref();
  }

  private receive(chunk: Buffer): void {
    if (this.failed) return;
    this.input = this.input === null || this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    if (this.state === 'connecting') this.readHandshake();
    // A handler or a delivered message may fail the connection mid-chunk: stop there.
    while (!this.failed && (this.state === 'open' || this.state === 'closing')) {
      if (!this.readFrame()) break;
    }
  }

  private readHandshake(): void {
    const input = this.input!;
    const end = input.indexOf('\r\n\r\n');
    if (end === -1) {
      if (input.length > MAX_HANDSHAKE_BYTES) this.fail(new Error('the server\'s handshake response is too long'));
      return;
    }
    const [status, ...fields] = input.toString('latin1', 0, end).split('\r\n');
    this.input = input.subarray(end + 4);
    const code = /^HTTP\/1\.[01] (\d{3})/.exec(status ?? '')?.[1];
    if (code !== '101') {
      if (code !== undefined) this.on.refused(Number(code));
      else this.on.error(new Error('the server did not answer with HTTP'));
      return this.terminate();
    }
    const header = (name: string) => fields.find((f) => f.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    const accept = createHash('sha1').update(this.key + GUID).digest('base64');
    if (header('upgrade')?.toLowerCase() !== 'websocket' || header('sec-websocket-accept') !== accept) {
      return this.fail(new Error('the server\'s handshake is not a WebSocket upgrade'));
    }
    clearTimeout(this.timer!);
    this.timer = null;
    this.state = 'open';
    this.watchLiveness();
    this.on.open();
  }

  /** Parses and handles one frame; false when more bytes are needed or the connection failed. */
  private readFrame(): boolean {
    const input = this.input!;
    if (input.length < 2) return false;
    const b0 = input[0]!;
    const b1 = input[1]!;
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    let length = b1 & 0x7f;
    let offset = 2;
    if ((b0 & 0x70) !== 0) return this.protocolError('reserved bits set');
    if (length === 126) {
      if (input.length < 4) return false;
      length = input.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (input.length < 10) return false;
      const high = input.readUInt32BE(2);
      if (high !== 0) return this.tooBig();
      length = input.readUInt32BE(6);
      offset = 10;
    }
    const control = op >= Op.close;
    if (control && (length > 125 || !fin)) return this.protocolError('a control frame longer than 125 bytes or fragmented');
    if (!control && this.fragmentBytes + length > this.maxPayload) return this.tooBig();
    // RFC 6455 5.1: a client must fail the connection on a masked frame.
    if ((b1 & 0x80) !== 0) return this.protocolError('a masked frame from the server');
    if (input.length < offset + length) return false;
    const payload = input.subarray(offset, offset + length);
    this.input = input.subarray(offset + length);
    switch (op) {
      case Op.text:
      case Op.binary:
        if (this.fragmentOp !== 0) return this.protocolError('a new message inside a fragmented one');
        if (fin) this.deliver(op, payload);
        else this.fragment(op, payload);
        return true;
      case Op.continuation:
        if (this.fragmentOp === 0) return this.protocolError('a continuation frame outside a message');
        this.fragment(this.fragmentOp, payload);
        if (fin) {
          const op0 = this.fragmentOp;
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.fragmentBytes = 0;
          this.fragmentOp = 0;
          this.deliver(op0, whole);
        }
        return true;
      case Op.ping:
        this.frame(Op.pong, payload);
        return true;
      case Op.pong:
        return true;
      case Op.close:
        if (payload.length === 1 || (payload.length >= 2 && !validCloseCode(payload.readUInt16BE(0)))) return this.protocolError('an invalid close code');
        if (payload.length > 2 && !isUtf8(payload.subarray(2))) return this.abandon(1007, 'invalid UTF-8', new Error('WebSocket protocol error: a close reason that is not UTF-8'));
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.toString('utf8', 2);
        if (this.state === 'open') this.sendClose(this.closeCode === 1005 ? 1000 : this.closeCode, '');
        this.socket.end();
        return false;
      default:
        return this.protocolError(`unknown opcode ${op}`);
    }
  }

  private fragment(op: number, payload: Buffer): void {
    this.fragmentOp = op;
    this.fragments.push(Buffer.from(payload));
    this.fragmentBytes += payload.length;
  }

  private deliver(op: number, payload: Buffer): void {
    if (op === Op.binary) this.on.message(payload);
    else if (isUtf8(payload)) this.on.text();
    else this.abandon(1007, 'invalid UTF-8', new Error('WebSocket protocol error: a text message that is not UTF-8'));
  }

  private tooBig(): false {
    return this.abandon(1009, 'message too big', new RangeError(`a message from the server exceeds ${this.maxPayload} bytes`));
  }

  private protocolError(why: string): false {
    return this.abandon(1002, 'protocol error', new Error(`WebSocket protocol error: ${why}`));
  }

  // Says why once, then closes and ignores the rest of the stream.
  private abandon(code: number, reason: string, err: Error): false {
    this.failed = true;
    this.input = null;
    this.on.error(err);
    if (this.state === 'open') this.sendClose(code, reason);
    this.socket.end();
    return false;
  }

  private fail(err: Error): void {
    this.on.error(err);
    this.terminate();
  }

  private sendClose(code: number, reason: string): void {
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.frame(Op.close, body);
    this.state = 'closing';
    this.timer = setTimeout(() => this.terminate(), CLOSE_WAIT_MS);
    this.timer.unref();
  }

  // Every client frame is masked with a key the server (and any proxy) cannot predict
  // (RFC 6455 10.3). The payload is masked in a copy: the caller keeps `data` to resend.
  private frame(op: number, data: Uint8Array, done?: (err?: Error | null) => void): void {
    const length = data.length;
    const extra = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
    const header = Buffer.allocUnsafe(6 + extra);
    header[0] = 0x80 | op;
    if (extra === 0) {
      header[1] = 0x80 | length;
    } else if (extra === 2) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(length, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
      header.writeUInt32BE(length >>> 0, 6);
    }
    if (keyOffset === KEY_POOL_BYTES) {
      randomFillSync(keyPool);
      keyOffset = 0;
    }
    keyPool.copy(header, 2 + extra, keyOffset, keyOffset + 4);
    const key = keyOffset;
    keyOffset += 4;
    this.socket.cork();
    this.socket.write(header);
    if (length > 0) this.socket.write(masked(data, key), done);
    else if (done) this.socket.write(EMPTY, done);
    this.socket.uncork();
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.liveness !== null) clearInterval(this.liveness);
    this.liveness = null;
    this.on.close(this.closeCode, this.closeReason);
  }
}

const EMPTY = Buffer.alloc(0);

/** RFC 6455 7.4: the codes a peer may send in a close frame. */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** `data` XOR the key at `key` in the pool, four bytes a step. */
function masked(data: Uint8Array, key: number): Buffer {
  const length = data.length;
  // A buffer of its own: offset 0, so its words are aligned.
  const out = Buffer.allocUnsafeSlow(length);
  out.set(data);
  const words = length >>> 2;
  const w = new Int32Array(out.buffer, 0, words);
  const k = keyWords[key >>> 2]!;
  for (let i = 0; i < words; i++) w[i]! ^= k;
  for (let i = words << 2; i < length; i++) out[i]! ^= keyPool[key + (i & 3)]!;
  return out;
}
