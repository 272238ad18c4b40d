// The tool policy (docs/design.md, "Security rules"): which commands a SnoopyJob may run inside a
// pod's network namespace and which of their arguments are refused. One module, used by the
// operator (to validate specs) and by podtracer (to refuse before running anything). The capture
// pod runs as root on a node with the host's /proc mounted, so every file a tool could read or
// write is a way out: every flag that reads or writes a file or runs a command is refused,
// whatever the tool.
//
// This file is the public entry; the parts live in tool-policy/ (tokenizer, option scanner,
// configuration, errors, dispatcher, and one rule per tool under tool-policy/tools/).

export {
  DEFAULT_ALLOWED_TOOLS,
  DEFAULT_MAX_CURL_URLS,
  DEFAULT_TOOL_POLICY,
  ToolPolicyConfigError,
  toolPolicyEnv,
  toolPolicyFromEnv,
  type ToolPolicy,
} from './tool-policy/config.js';
export { ToolPolicyError } from './tool-policy/errors.js';
export { tokenizeArgs } from './tool-policy/tokenize.js';
export { checkToolInvocation, parseToolInvocation } from './tool-policy/check.js';
