/**
 * `s365-connector explain <user>`: why a user is or is not in scope of each mapping, the record each
 * destination would receive, what it last acknowledged, and anything pending (src/sync/explain.ts).
 * Exit codes: 0 found, 3 the user is in no source, 2 configuration or storage missing.
 */
import { processScrubber } from '../setup/secretScrubber';
import { explainDependencies } from '../setup/explainDependencies';
import { explainUser } from '../sync/explain';
import { formatExplainAnswer } from '../sync/explainFormat';
import { withRuntime, type DeletionsCommandOptions } from './deletionsCommand';
import { EXIT, type CliIo } from './syncCommand';

/** No source holds the user: a distinct code, so scripts can tell it from a failure. */
export const EXIT_USER_NOT_FOUND = 3;

export async function runExplainCommand(user: string, options: DeletionsCommandOptions & { json?: boolean }, io: CliIo): Promise<number> {
  if (user.trim() === '') {
    io.err('explain: give the user as an object id, a userPrincipalName or a mail address, e.g. `s365-connector explain alice@contoso.com`.\n');
    return EXIT.badConfig;
  }
  return withRuntime(options, io, async (runtime) => {
    const answer = await explainUser(explainDependencies(runtime), user);
    const text = options.json === true ? JSON.stringify(answer, null, 2) : formatExplainAnswer(answer);
    io.out(`${processScrubber.scrub(text)}\n`);
    return answer.found ? EXIT.ok : EXIT_USER_NOT_FOUND;
  });
}
