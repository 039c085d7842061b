import type { ConnectorConfig } from '../config/types';
import type { SecretScrubber } from './secretScrubber';

/** Tells the scrubber every secret value the config holds, so none can reach a log line or an answer. */
export function registerConfigSecrets(config: ConnectorConfig, scrubber: SecretScrubber): void {
  for (const source of config.sources) {
    if (source.auth.kind === 'clientSecret') scrubber.register(source.auth.clientSecret);
    if (source.auth.kind === 'certificate') {
      scrubber.register(source.auth.certificatePassword);
      const key = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(source.auth.certificatePem);
      if (key !== null) scrubber.register(key[0]);
    }
  }
  for (const destination of config.destinations) scrubber.register(destination.token);
}
