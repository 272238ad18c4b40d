import { NONE, type ToolRule } from '../options.js';

/** traceroute -f is the first TTL, not a file; no option reads or writes a file or runs a command. */
export const tracerouteRule: ToolRule = () => NONE;
