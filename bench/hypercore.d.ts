/** The little of hypercore's API the peer benchmark uses (it ships no types). */
declare module 'hypercore' {
  export default class Hypercore {
    constructor(storage: string);
    readonly length: number;
    ready(): Promise<void>;
    append(blocks: Uint8Array | Uint8Array[]): Promise<{ length: number }>;
    get(index: number): Promise<Uint8Array>;
    close(): Promise<void>;
  }
}
