import { NONE, type ToolRule } from '../options.js';

/** ping -F is a flow label, not a file; ping has no option that reads or writes a file or runs a command. */
export const pingRule: ToolRule = () => NONE;
