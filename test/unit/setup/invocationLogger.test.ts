import { InvocationContext, type LogLevel } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { loggerForInvocation } from '../../../src/setup/invocationLogger';

// The real InvocationContext of the Functions library: its logHandler receives the level the
// host records, which is the severity Application Insights shows and the alerts filter on.
function capturingContext(): { context: InvocationContext; lines: { level: LogLevel; event: string }[] } {
  const lines: { level: LogLevel; event: string }[] = [];
  const context = new InvocationContext({
    invocationId: 'invocation-1',
    functionName: 'uploadWorker',
    logHandler: (level, ...args: unknown[]) => {
      const parsed = JSON.parse(String(args[0])) as { event: string };
      lines.push({ level, event: parsed.event });
    },
  });
  return { context, lines };
}

describe('loggerForInvocation', () => {
  it('hands warnings to context.warn and errors to context.error, so the host records them as Warning and Error', () => {
    const { context, lines } = capturingContext();
    const logger = loggerForInvocation(context, { runId: 'r1' }, { LOG_LEVEL: 'debug' });
    logger.debug('plan.whole');
    logger.info('upload.done');
    logger.warn('deletions.held');
    logger.error('upload.batchRejected');
    logger.child({ source: 'Default' }).error('round.failed');
    expect(lines).toEqual([
      { level: 'information', event: 'plan.whole' },
      { level: 'information', event: 'upload.done' },
      { level: 'warning', event: 'deletions.held' },
      { level: 'error', event: 'upload.batchRejected' },
      { level: 'error', event: 'round.failed' },
    ]);
  });

  it('keeps the level of a line whose fields contain a "level" key of their own', () => {
    const { context, lines } = capturingContext();
    loggerForInvocation(context, {}, {}).info('scope.conflict', { level: 'error', note: '{"level":"error"}' });
    expect(lines).toEqual([{ level: 'information', event: 'scope.conflict' }]);
  });
});
