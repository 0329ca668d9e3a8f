/**
 * `o2-archiver mapping validate <file.csv> [--json] | upload <file.csv> | show [--json]`
 * (contracts/cli.md): checks a user-mapping file, replaces the mapping in
 * force, or prints it.
 */
import { readFile } from 'node:fs/promises';
import { readSettings } from '../../../shared/platform/config';
import { ContainerNames } from '../../../shared/platform/names';
import { createStorageClients } from '../../../shared/platform/storage';
import { formatMappingCsv, parseMappingCsv, type MappingValidation } from '../../../shared/stages/mapping/csv';
import { createMappingStore } from '../../../shared/stages/mapping/store';
import { allowOptions, dispatchSubcommand, usage, type ParsedArgs } from '../args';
import type { Command, CommandIo } from '../command';

const SUBCOMMANDS = 'validate <file.csv> [--json] | upload <file.csv> | show [--json]';

/** `o2-archiver mapping …`: dispatches to validate, upload or show and returns the exit code. */
export const mappingCommand: Command = (args, io) => dispatchSubcommand('mapping', { validate, upload, show }, SUBCOMMANDS, args, io);

async function validate(args: ParsedArgs, rest: string[], io: CommandIo): Promise<number> {
  allowOptions(args, ['json']);
  const file = onePath(rest, 'validate');
  const settings = readSettings();
  const validation = parseMappingCsv(await readCsv(file), { defaultRegion: settings.DEFAULT_PHONE_REGION });
  if (args.options.has('json')) {
    const { ok, entries, errors, warnings } = validation;
    io.out(JSON.stringify({ ok, entries, errors, warnings }, null, 2));
  } else {
    printProblems(file, validation, io);
    io.out(
      validation.ok
        ? `${file}: loads: ${validation.entries.length} number(s), ${validation.warnings.length} warning(s)`
        : `${file}: rejected: ${validation.errors.length} error(s), ${validation.warnings.length} warning(s)`,
    );
  }
  return validation.ok ? 0 : 1;
}

async function upload(args: ParsedArgs, rest: string[], io: CommandIo): Promise<number> {
  allowOptions(args, []);
  const file = onePath(rest, 'upload');
  const text = await readCsv(file);
  const settings = readSettings();
  const store = createMappingStore(createStorageClients(settings).container(ContainerNames.mapping), {
    defaultRegion: settings.DEFAULT_PHONE_REGION,
  });
  const result = await store.replace(text, { who: process.env.USER || 'cli' });
  printProblems(file, result.validation, io);
  if (!result.ok) {
    io.out(`${file}: rejected: ${result.validation.errors.length} error(s); the mapping in force is unchanged`);
    return 1;
  }
  // Counts only: the numbers themselves are in the change record, for admins.
  const { change } = result;
  io.out(
    `mapping replaced: ${change.numbers} number(s); ${change.added.length} added, ` +
      `${change.removed.length} removed, ${change.repointed.length} re-pointed` +
      (change.previousVersion ? `; previous version kept as ${change.previousVersion}` : '') +
      `; change recorded as ${result.changeRecord}`,
  );
  return 0;
}

async function show(args: ParsedArgs, rest: string[], io: CommandIo): Promise<number> {
  allowOptions(args, ['json']);
  if (rest.length > 0) throw usage(`mapping show takes no arguments`);
  const settings = readSettings();
  const store = createMappingStore(createStorageClients(settings).container(ContainerNames.mapping), {
    defaultRegion: settings.DEFAULT_PHONE_REGION,
  });
  const snapshot = await store.show();
  if (args.options.has('json')) {
    const entries = [...snapshot.table].map(([phone, mailbox]) => ({ phone, mailbox }));
    io.out(JSON.stringify({ updatedAt: snapshot.updatedAt, updatedBy: snapshot.updatedBy, entries }, null, 2));
    return 0;
  }
  // The CSV goes to stdout so that `mapping show > file.csv` gives a file that uploads again.
  io.out(formatMappingCsv(snapshot.table).trimEnd().replace(/\r\n/g, '\n'));
  io.err(
    snapshot.csv === null
      ? 'no mapping has been uploaded: only the participants\' own email addresses are used'
      : `${snapshot.table.size} number(s) mapped` +
          (snapshot.updatedAt ? `, replaced ${snapshot.updatedAt}${snapshot.updatedBy ? ` by ${snapshot.updatedBy}` : ''}` : ''),
  );
  return 0;
}

function onePath(rest: string[], sub: string): string {
  if (rest.length !== 1) throw usage(`mapping ${sub} needs one file: mapping ${sub} <file.csv>`);
  return rest[0];
}

async function readCsv(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usage(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(code)}`);
  }
}

function printProblems(file: string, validation: MappingValidation, io: CommandIo): void {
  // `file:line: kind: message`, the form editors and CI logs link to the line.
  const problems = [
    ...validation.errors.map((p) => ({ ...p, kind: 'error' })),
    ...validation.warnings.map((p) => ({ ...p, kind: 'warning' })),
  ].sort((a, b) => a.line - b.line);
  for (const problem of problems) io.out(`${file}:${problem.line}: ${problem.kind}: ${problem.message}`);
}
