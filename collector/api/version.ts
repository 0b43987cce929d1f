// The collector's version is the package's, read once from package.json
// (three levels up from dist/collector/api/, where this module runs).
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
