/** The `explain` answer as text for a terminal; `--json` prints the answer itself. */
import type { DestinationExplanation, NextStep } from './explainDestination';
import type { ExplainAnswer, SourceExplanation } from './explain';
import type { MappingExplanation } from './explainScope';

const NEXT: Record<NextStep, string> = {
  nothing: 'nothing to do',
  send: 'the next sync sends the record',
  wait: 'owed, waiting (queued less than 30 minutes ago, or backing off after a failure)',
  deleteAfterGrace: 'left scope: deleted once the grace period ends and the deletion gate lets it',
  forget: 'no longer wanted and never acknowledged: the entry is forgotten',
};

function lookupText(source: SourceExplanation): string {
  const { lookup } = source;
  const how = lookup.via === 'given' ? 'by object id' : lookup.via === 'directory' ? `by ${lookup.by} through Graph` : `by ${lookup.by}, scanning the mirror`;
  return `found ${how}${lookup.note !== undefined ? `; ${lookup.note}` : ''}`;
}

function mappingLines(mapping: MappingExplanation): string[] {
  const to = mapping.destinationName ?? mapping.destination;
  const verdict = mapping.inScope ? (mapping.sends ? 'IN SCOPE' : 'in scope, NOT SENT') : 'not in scope';
  return [`  ${mapping.mapping} -> Signature365:${to}: ${verdict}${mapping.paused !== undefined ? ' (PAUSED)' : ''}`, ...mapping.why.map((line) => `    ${line}`)];
}

function destinationLines(destination: DestinationExplanation): string[] {
  const name = destination.destinationName ?? destination.destination;
  const lines = [`  Signature365:${name}: ${destination.wanted ? `wanted (${destination.byMappings.map((index) => `Mappings[${index}]`).join(', ')})` : 'not wanted'}`];
  const ack = destination.acknowledged;
  lines.push(ack === null
    ? '    acknowledged: nothing (the destination holds no record of this user, as far as the ledger knows)'
    : `    acknowledged: ${ack.atText} (hash ${ack.hash})${destination.upToDate === true ? ': the record to send is the same' : destination.upToDate === false ? ': the record to send DIFFERS' : ''}`);
  if (destination.difference !== null) {
    const { names, willSend, note } = destination.difference;
    lines.push(names === null ? '    differing fields: cannot be told' : `    differing fields: ${names.length > 0 ? names.join(', ') : 'none told apart (the hashes differ)'}`);
    for (const [field, value] of Object.entries(willSend)) lines.push(`      ${field} will be sent as ${JSON.stringify(value)}`);
    lines.push(`    (${note})`);
  }
  lines.push(`    next: ${NEXT[destination.next]}`);
  const { failure, queued, deletion, quarantine } = destination.pending;
  if (failure !== undefined) lines.push(`    FAILED ${failure.failures}x: ${failure.lastError ?? ''}${failure.nextAttemptAt !== null ? ` [next attempt ${failure.nextAttemptAt}]` : ''}`);
  if (queued !== undefined) lines.push(`    queued at ${queued.at}, not acknowledged yet (${queued.ofCurrentRecord ? 'this record' : 'an earlier record'}; queued again after ${queued.requeuedAfter})`);
  if (deletion !== undefined) {
    lines.push(`    deletion pending: left scope ${deletion.leftScopeAt}, grace period ${deletion.graceOver ? 'over' : 'ends'} ${deletion.graceEndsAt}`);
    if (deletion.held !== null) lines.push(`    deletion HELD by the deletion gate since ${deletion.held.since}: ${deletion.held.reason} [hold ${deletion.held.holdId}; see \`deletions list\`]`);
  }
  if (quarantine !== undefined) lines.push(`    destination in QUARANTINE (${quarantine.reason ?? 'unhealthy'}) until ${quarantine.until ?? '?'}: ${quarantine.lastError ?? ''}`);
  if (destination.wouldSend !== null) {
    lines.push('    record it would receive:');
    for (const line of JSON.stringify(destination.wouldSend, null, 2).split('\n')) lines.push(`      ${line}`);
  }
  return lines;
}

export function formatExplainAnswer(answer: ExplainAnswer): string {
  const lines: string[] = [];
  for (const source of answer.sources) {
    const { user } = source;
    lines.push(`${answer.query} in EntraId:${source.sourceName ?? source.source}: ${lookupText(source)}`);
    const state = [user.userType ?? 'userType unknown', user.accountEnabled === false ? 'disabled' : 'enabled', user.licensed === false ? 'unlicensed' : user.licensed === true ? 'licensed' : 'license not read'];
    lines.push(`  user ${user.id} ${user.displayName ?? ''} <${user.userPrincipalName ?? ''}>, mail ${user.mail ?? 'none'}; ${state.join(', ')}${user.removed !== null ? `; REMOVED ${user.removed.at}` : ''}`);
    lines.push(`  direct groups: ${user.directGroups.map((group) => group.name ?? group.id).join(', ') || 'none'}`);
    for (const mapping of source.mappings) lines.push(...mappingLines(mapping));
    if (source.conflict !== null) lines.push(`  conflict: ${source.conflict.why}`);
    for (const destination of source.destinations) lines.push(...destinationLines(destination));
    for (const note of source.notes) lines.push(`  note: ${note}`);
  }
  if (answer.sources.length === 0 && answer.notFound.length === 0) lines.push(`${answer.query}: no EntraId source is configured`);
  for (const missing of answer.notFound) lines.push(`${answer.query}: not in EntraId:${missing.sourceName ?? missing.source}: ${missing.detail}`);
  return lines.join('\n');
}
