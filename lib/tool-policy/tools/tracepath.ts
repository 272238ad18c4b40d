import { NONE, type ToolRule } from '../options.js';

/** tracepath has no option that reads or writes a file or runs a command. */
export const tracepathRule: ToolRule = () => NONE;
