/**
 * `o2-archiver check`: logs in to TeleMessage and to Graph with the settings,
 * tries a read of each, and says what works and what to fix.
 * `o2-archiver check --canary <mailbox>`: proves on the tenant each Graph
 * behaviour the import relies on (shared/stages/import/canary.ts), and nothing else.
 */
import { readSettings, requireSettings } from '../../../shared/platform/config';
import { describeError, isArchiverError } from '../../../shared/model/errors';
import { teleMessageSourceFromSettings } from '../../../shared/stages/source';
import { checkGraph } from '../../../shared/platform/graph';
import { runCanary } from '../../../shared/stages/import/canary';
import { allowOptions, optionalOption, usage } from '../args';
import type { Command } from '../command';

export const checkCommand: Command = async (args, io) => {
  allowOptions(args, ['mailbox', 'canary']);
  const canary = optionalOption(args, 'canary');
  if (canary !== undefined && args.options.has('mailbox')) throw usage('--canary and --mailbox go alone: the canary names its mailbox');
  const settings = readSettings();
  if (canary !== undefined) {
    const result = await runCanary(settings, canary);
    for (const line of result.lines) io.out(line);
    return result.ok ? 0 : 1;
  }
  let ok = true;
  try {
    requireSettings(settings, ['TELEMESSAGE_BASE_URL', 'TELEMESSAGE_USERNAME', 'TELEMESSAGE_PASSWORD']);
    const source = teleMessageSourceFromSettings(settings);
    await source.checkLogin();
    const to = new Date();
    const from = new Date(to.getTime() - 3600_000);
    const page = await source.listPage({ from: from.toISOString(), to: to.toISOString() }, null);
    io.out(`OK   TeleMessage: logged in at ${settings.TELEMESSAGE_BASE_URL} and read the last hour (${page.records.length} item(s) on the first page)`);
  } catch (e) {
    ok = false;
    const fix = isArchiverError(e) && e.setting ? ` (check ${e.setting})` : '';
    io.out(`FAIL TeleMessage: ${describeError(e)}${fix}`);
  }
  try {
    const mailbox = typeof args.options.get('mailbox') === 'string' ? (args.options.get('mailbox') as string) : undefined;
    const graph = await checkGraph(settings, mailbox ? { mailbox } : {});
    for (const line of graph.lines) io.out(`Graph: ${line}`);
    ok &&= graph.ok;
  } catch (e) {
    ok = false;
    io.out(`FAIL Graph: ${describeError(e)}`);
  }
  return ok ? 0 : 1;
};
