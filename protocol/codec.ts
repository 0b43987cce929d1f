// msgpack encoding shared by the wire and the recording files.
//
// `moreTypes` sends typed arrays as single extension blobs (the columnar batches);
// `useRecords: false` keeps every message self-describing, so a decoder holds no
// structures learnt from earlier frames: one peer cannot poison what another sends.
import { Packr, Unpackr } from 'msgpackr';

const options = { moreTypes: true, useRecords: false, mapsAsObjects: true, int64AsType: 'number' } as const;

export function createEncoder(): Packr {
  return new Packr(options);
}

/** One per connection or file reader; decoding untrusted bytes shares nothing. */
export function createDecoder(): Unpackr {
  return new Unpackr(options);
}
