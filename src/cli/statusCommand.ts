/** `s365-connector status`: rounds per source, and per destination what is held, owed, waiting and failing. */
import { processScrubber } from '../setup/secretScrubber';
import { formatConnectorStatus, readConnectorStatus } from '../sync/status';
import { withRuntime, type DeletionsCommandOptions } from './deletionsCommand';
import { EXIT, type CliIo } from './syncCommand';

export async function runStatusCommand(options: DeletionsCommandOptions & { json?: boolean }, io: CliIo): Promise<number> {
  return withRuntime(options, io, async (runtime) => {
    const status = await readConnectorStatus(runtime);
    const text = options.json === true ? JSON.stringify(status, null, 2) : formatConnectorStatus(status);
    io.out(`${processScrubber.scrub(text)}\n`);
    return EXIT.ok;
  });
}
