/**
 * The log's side of c2sp.org/tlog-witness: after each new checkpoint, ask
 * every configured witness to cosign it, with a consistency proof from the
 * size that witness last cosigned, and keep the checkpoint with every
 * cosignature that verifies. A silent or failing witness costs at most the
 * timeout and is logged; it never blocks the log.
 */
import {
  formatSignatureLine,
  type Ledger,
  type NoteSignature,
  type NoteVerifier,
  parseNote,
  toBase64,
} from '@custody/ledger';
import type { FastifyBaseLogger } from 'fastify';

export interface WitnessEndpoint {
  /** The witness's submission prefix, e.g. http://127.0.0.1:9000 (add-checkpoint is appended). */
  readonly url: string;
  /** Its cosignature (0x04) key. */
  readonly verifier: NoteVerifier;
}

const textOf = (note: string) => note.slice(0, note.lastIndexOf('\n\n') + 1);

export class Cosigning {
  /** The latest checkpoint note with the cosignatures gathered for it. */
  private latest: string | undefined;
  /** The size each witness last cosigned, as it told us. */
  private readonly sizes = new Map<string, bigint>();

  constructor(
    private readonly ledger: Ledger,
    private readonly witnesses: readonly WitnessEndpoint[],
    private readonly timeoutMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** The current checkpoint, cosigned if cosignatures were gathered for it. */
  checkpoint(): string {
    const current = this.ledger.checkpoint;
    return this.latest !== undefined && textOf(this.latest) === textOf(current) ? this.latest : current;
  }

  /** Gathers cosignatures for the current checkpoint from every witness at once. */
  async collect(): Promise<void> {
    const note = this.ledger.checkpoint;
    const size = BigInt(textOf(note).split('\n')[1] ?? '0');
    const found = await Promise.all(this.witnesses.map((w) => this.ask(w, note, size)));
    const lines = found.flat().map(formatSignatureLine);
    if (textOf(this.ledger.checkpoint) === textOf(note)) this.latest = note + lines.join('');
  }

  private async ask(w: WitnessEndpoint, note: string, size: bigint): Promise<NoteSignature[]> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const old = this.sizes.get(w.url) ?? 0n;
      if (old > size) {
        this.log.error(
          { witness: w.verifier.name, old: String(old), size: String(size) },
          'a witness has cosigned a larger tree than this log has',
        );
        return [];
      }
      try {
        const proof = old === 0n || old === size ? [] : await this.ledger.consistencyProof(old, size);
        const body = `old ${old}\n${proof.map((h) => `${toBase64(h)}\n`).join('')}\n${note}`;
        const response = await fetch(new URL('add-checkpoint', w.url.endsWith('/') ? w.url : `${w.url}/`), {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        const answer = await response.text();
        if (response.status === 409 && /^\d+\n$/.test(answer)) {
          this.sizes.set(w.url, BigInt(answer.trim()));
          continue;
        }
        if (response.status !== 200) {
          this.log.warn(
            { witness: w.verifier.name, status: response.status, answer: answer.slice(0, 200) },
            'witness refused to cosign',
          );
          return [];
        }
        const text = new TextEncoder().encode(textOf(note));
        const cosignatures = parseNote(note + answer).signatures.filter(
          (s) =>
            s.name === w.verifier.name &&
            s.keyId === w.verifier.keyId &&
            w.verifier.verify(text, s.signature),
        );
        if (cosignatures.length > 0) this.sizes.set(w.url, size);
        return cosignatures;
      } catch (error) {
        this.log.warn({ witness: w.verifier.name, err: error }, 'witness unreachable');
        return [];
      }
    }
    return [];
  }
}
