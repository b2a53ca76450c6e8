import * as core from '@actions/core';
import type { Logger } from '../logger.ts';

/** The core's logger on the runner: groups fold in the log, warnings and errors annotate the run. */
export const actionsLogger: Logger = {
  info: (message) => core.info(message),
  warn: (message) => core.warning(message),
  error: (message) => core.error(message),
  debug: (message) => core.debug(message),
  group: (title, fn) => core.group(title, fn),
};
