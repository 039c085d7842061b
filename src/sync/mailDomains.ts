/**
 * In-scope users whose mail address is in a domain the source tenant has not verified: Signature 365
 * matches a signature to a mailbox by its address, and an address in an unverified domain (a typo,
 * a domain removed from the tenant, an address written by hand) is a common reason a signature does
 * not appear. Pure: the verified domains come from Graph (src/graph/domains.ts), the users from
 * the mirror.
 */
import { compareCodeUnits } from './codeUnitOrder';

/** How many examples a report keeps: enough to recognise a pattern, short enough to read. */
export const UNVERIFIED_MAIL_EXAMPLES = 5;

export interface UnverifiedMailExample {
  userId: string;
  mail: string;
}

export interface UnverifiedMailReport {
  /** In-scope users with a mail address whose domain is not verified. */
  count: number;
  /** The first few by user id. */
  examples: UnverifiedMailExample[];
  /** The domains concerned, with how many users each, most first. */
  domains: { domain: string; users: number }[];
}

/** The part after the last "@", lower case; undefined for no mail or no "@". */
export function mailDomainOf(mail: string | null): string | undefined {
  if (mail === null) return undefined;
  const at = mail.lastIndexOf('@');
  if (at < 0 || at === mail.length - 1) return undefined;
  return mail.slice(at + 1).toLowerCase();
}

/**
 * Collects users one at a time (the mirror is streamed) and keeps only the count, the few examples
 * and a count per domain. A domain is verified only by its exact name: Entra verifies a subdomain
 * separately from its parent.
 */
export class UnverifiedMailTally {
  private count = 0;
  private examples: UnverifiedMailExample[] = [];
  private readonly byDomain = new Map<string, number>();

  constructor(private readonly verified: ReadonlySet<string>) {}

  add(user: { id: string; mail: string | null }): void {
    const domain = mailDomainOf(user.mail);
    if (domain === undefined || user.mail === null || this.verified.has(domain)) return;
    this.count += 1;
    this.byDomain.set(domain, (this.byDomain.get(domain) ?? 0) + 1);
    this.examples.push({ userId: user.id, mail: user.mail });
    if (this.examples.length > UNVERIFIED_MAIL_EXAMPLES * 4) this.trim();
  }

  report(): UnverifiedMailReport {
    this.trim();
    const domains = [...this.byDomain].map(([domain, users]) => ({ domain, users }))
      .sort((a, b) => b.users - a.users || compareCodeUnits(a.domain, b.domain));
    return { count: this.count, examples: [...this.examples], domains };
  }

  private trim(): void {
    this.examples = this.examples.sort((a, b) => compareCodeUnits(a.userId, b.userId)).slice(0, UNVERIFIED_MAIL_EXAMPLES);
  }
}
