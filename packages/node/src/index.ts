/** @custody/node: the HTTP node. */
export { createNode, type NodeOptions } from './app.js';
export { Batcher, type BatcherOptions } from './batcher.js';
export { Cosigning, type WitnessEndpoint } from './cosigning.js';
export { holdHeapNearLive } from './heap.js';
export { Follower, type MirrorAlarm, type MirrorStatus } from './mirror.js';
export { closeOnSignals, type ServeOptions, type SignalSource, serve } from './server.js';
