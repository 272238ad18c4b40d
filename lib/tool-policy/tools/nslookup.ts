import { NONE, type ToolRule } from '../options.js';

/** nslookup's only input besides argv is standard input, which podtracer connects to /dev/null. */
export const nslookupRule: ToolRule = () => NONE;
