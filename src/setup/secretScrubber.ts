/**
 * Removes secrets from any text before it leaves the process (log lines, CLI output, HTTP answers).
 * Two nets: the exact values the config holds (client secrets, tokens, certificate passwords), and
 * shapes that are secrets whatever their origin (idscl_ tokens, bearer tokens, function keys in URLs,
 * storage account keys in connection strings).
 */
const SECRET_SHAPES: readonly RegExp[] = [
  /idscl_[^\s"'\\,;]+/g,
  /(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi,
  /(AccountKey=)[^;"'\s]+/gi,
  /(SharedAccessSignature=|[?&]sig=)[^&;"'\s]+/gi,
  /([?&]code=)[^&"'\s]+/gi,
  /(client_secret=)[^&"'\s]+/gi,
];

export class SecretScrubber {
  private readonly known = new Set<string>();

  /** Registers exact secret values; short values are ignored so common words are not blanked. */
  register(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (value !== undefined && value.length >= 8) this.known.add(value);
    }
  }

  scrub(text: string): string {
    let out = text;
    for (const value of this.known) {
      if (out.includes(value)) out = out.split(value).join('[redacted]');
    }
    for (const shape of SECRET_SHAPES) {
      out = out.replace(shape, (_match: string, prefix?: unknown) => `${typeof prefix === 'string' ? prefix : ''}[redacted]`);
    }
    return out;
  }
}

/** One scrubber per process: the config registers its secrets here when it is loaded. */
export const processScrubber = new SecretScrubber();
