// The recording API for the agent (dump on exit) and the collector (REST dumps).
export { RECORDING_FORMAT, RECORDING_VERSION, MAX_RECORD_BYTES } from './format.js';
export type { RecordingHeader, RecordingSource, AgentRecord, EventsRecord, InflightRecord } from './format.js';
export { writeRecordingSync, RecordingWriter } from './writer.js';
export type { AgentRecording, RecordingContents } from './writer.js';
export { readRecording, RecordingDamage } from './reader.js';
export type { RecordingEntry, ReadOptions } from './reader.js';
