// dc-polyfill ships no types; it has the API of node:diagnostics_channel.
declare module 'dc-polyfill' {
  import dc from 'node:diagnostics_channel';
  export = dc;
}
