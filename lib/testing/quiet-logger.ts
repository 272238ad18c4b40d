// The logger tests hand to the parts they run in-process: silent unless TEST_LOG_LEVEL asks.
import { createLogger } from '../log.js';

export const quiet = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
