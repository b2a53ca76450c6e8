import { findPrometheus, prometheusUnavailableMessage } from '../../src/sandbox/prometheus.ts';

/**
 * The `skip` option for suites that need a real Prometheus: the message naming the install
 * command when the binary is missing, or false. Under REQUIRE_PROMETHEUS=1 (CI) a missing binary
 * is an error, never a skip.
 */
export function skipWithoutPrometheus(): string | false {
  if (findPrometheus()) return false;
  if (process.env.REQUIRE_PROMETHEUS === '1') {
    throw new Error(`REQUIRE_PROMETHEUS=1, but ${prometheusUnavailableMessage}`);
  }
  return prometheusUnavailableMessage;
}
