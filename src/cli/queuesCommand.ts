/**
 * `s365-connector queues`: the queues' backlog, and what to do with poison messages (messages that
 * failed every try): `redrive` moves them back to their queue once the cause is fixed, `clear`
 * deletes them. Upload work is safe to clear: the ledger queues it again by itself.
 */
import { CONNECTOR_QUEUE_NAMES, type ConnectorQueueName } from '../store/poisonQueues';
import { withRuntime, type DeletionsCommandOptions } from './deletionsCommand';
import { EXIT, type CliIo } from './syncCommand';

export interface QueuesCommandOptions extends DeletionsCommandOptions {
  /** One queue by its name; default every queue. */
  queue?: ConnectorQueueName;
}

export function parseQueueName(value: string): ConnectorQueueName | undefined {
  return CONNECTOR_QUEUE_NAMES.find((name) => name === value);
}

function selected(options: QueuesCommandOptions): readonly ConnectorQueueName[] {
  return options.queue === undefined ? CONNECTOR_QUEUE_NAMES : [options.queue];
}

export async function runQueuesListCommand(options: QueuesCommandOptions, io: CliIo): Promise<number> {
  return withRuntime(options, io, async (runtime) => {
    for (const depth of await runtime.poisonQueues.depths()) {
      if (options.queue !== undefined && depth.queue !== options.queue) continue;
      io.out(`${depth.queue}: ${depth.messages} waiting, ${depth.poisonMessages} poisoned\n`);
    }
    return EXIT.ok;
  });
}

export async function runQueuesRedriveCommand(options: QueuesCommandOptions, io: CliIo): Promise<number> {
  return withRuntime(options, io, async (runtime) => {
    for (const queue of selected(options)) {
      const { moved } = await runtime.poisonQueues.redrive(queue);
      io.out(`${queue}: ${moved} poison message(s) moved back to the queue\n`);
    }
    return EXIT.ok;
  });
}

export async function runQueuesClearCommand(options: QueuesCommandOptions, io: CliIo): Promise<number> {
  return withRuntime(options, io, async (runtime) => {
    for (const queue of selected(options)) {
      const { cleared } = await runtime.poisonQueues.clear(queue);
      io.out(`${queue}: ${cleared} poison message(s) deleted\n`);
    }
    return EXIT.ok;
  });
}
