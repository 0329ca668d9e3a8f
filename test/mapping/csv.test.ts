import { readFileSync } from 'node:fs';
import path from 'node:path';
import { diffMappings, formatMappingCsv, mappingTableOf, parseMappingCsv } from '../../shared/stages/mapping/csv';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/mapping', name), 'utf8');
const parse = (text: string) => parseMappingCsv(text, { defaultRegion: 'GB' });
const pairs = (text: string) => parse(text).entries.map((e) => [e.line, e.phone, e.mailbox]);

describe('parseMappingCsv: the fixtures', () => {
  it('loads TeleMessage\'s own two-column format', () => {
    const result = parse(fixture('telemessage-format.csv'));
    expect(result).toMatchObject({ ok: true, errors: [], warnings: [] });
    expect(result.entries).toEqual([
      { line: 2, phone: '+447700900101', mailbox: 'alice.smith@contoso.example' },
      { line: 3, phone: '+447700900103', mailbox: 'carol.white@contoso.example' },
    ]);
  });

  it('loads the headerless file of mixed number forms and maps all three users', () => {
    const result = parse(fixture('no-header-mixed-formats.csv'));
    expect(result.ok).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.entries.map((e) => [e.line, e.phone, e.mailbox])).toEqual([
      [1, '+447700900101', 'alice.smith@contoso.example'],
      [2, '+447700900102', 'bob.jones@contoso.example'],
      [3, '+447700900103', 'carol.white@contoso.example'],
    ]);
  });

  it('rejects with-errors.csv naming lines 3 (phone), 4 (mailbox) and 5 (conflict with line 2)', () => {
    const result = parse(fixture('with-errors.csv'));
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => e.line)).toEqual([3, 4, 5]);
    expect(result.errors[0].message).toMatch(/not a phone number/);
    expect(result.errors[1].message).toMatch(/not an email address/);
    expect(result.errors[2].message).toMatch(/line 2/);
    expect(result.errors[2].message).toMatch(/line 5/);
    expect(result.errors[2].message).toContain('someone.else@contoso.example');
    expect(result.errors[2].message).toContain('alice.smith@contoso.example');
    // The full number never appears in a message: messages may be logged.
    expect(result.errors[2].message).not.toContain('+447700900101');
  });
});

describe('parseMappingCsv: the forms of the contract', () => {
  it('accepts every way a person writes the same number', () => {
    const text = ['07911 123456,a@x.example', '+44 (0)7911 123457,b@x.example', '0044 7911 123458,c@x.example', '447911123459,d@x.example'].join('\n');
    expect(pairs(text).map(([, phone]) => phone)).toEqual(['+447911123456', '+447911123457', '+447911123458', '+447911123459']);
  });

  it('strips a byte-order mark so the header is still recognised', () => {
    const result = parse('\uFEFFExternal User ID,Microsoft 365 User Mailbox\n447700900101,alice@contoso.example\n');
    expect(result.ok).toBe(true);
    expect(result.entries).toEqual([{ line: 2, phone: '+447700900101', mailbox: 'alice@contoso.example' }]);
  });

  it('reads semicolon and tab delimiters', () => {
    expect(pairs('Phone;Mailbox\n07700 900101;alice@contoso.example\n')).toEqual([[2, '+447700900101', 'alice@contoso.example']]);
    expect(pairs('Phone\tMailbox\n07700 900101\talice@contoso.example\n07700 900102\tbob@contoso.example')).toEqual([
      [2, '+447700900101', 'alice@contoso.example'],
      [3, '+447700900102', 'bob@contoso.example'],
    ]);
  });

  it('reads quoted fields, doubled quotes and a delimiter inside quotes', () => {
    const text = 'Phone,Mailbox,Note\n"07700 900101","alice@contoso.example","she said ""hi"", then left"\n';
    const result = parse(text);
    expect(result.errors).toEqual([]);
    expect(result.entries).toEqual([{ line: 2, phone: '+447700900101', mailbox: 'alice@contoso.example' }]);
  });

  it('counts physical lines across a quoted field that holds newlines', () => {
    const text = 'Phone,Mailbox,Note\n07700 900101,alice@contoso.example,"two\nline note"\n07700 900102,not-an-email,x\n';
    const result = parse(text);
    expect(result.entries.map((e) => e.line)).toEqual([2]);
    expect(result.errors).toEqual([{ line: 4, message: expect.stringContaining('not an email') }]);
  });

  it('reads CRLF and bare CR line ends with the same line numbers', () => {
    for (const eol of ['\r\n', '\r']) {
      const text = ['Phone,Mailbox', '07700 900101,alice@contoso.example', '', 'junk,bob@contoso.example'].join(eol);
      const result = parse(text);
      expect(result.entries).toEqual([{ line: 2, phone: '+447700900101', mailbox: 'alice@contoso.example' }]);
      expect(result.errors.map((e) => e.line)).toEqual([4]);
    }
  });

  it('recognises header variants in any case, with spaces, and in either column order', () => {
    for (const [phone, mailbox] of [
      ['  external user id ', 'MICROSOFT 365 USER MAILBOX'],
      ['Mobile Number', 'UserPrincipalName'],
      ['MOBILE', 'email'],
      ['phone number', ' Mailbox'],
    ]) {
      expect(pairs(`${phone},${mailbox}\n07700 900101,Alice@Contoso.example\n`)).toEqual([[2, '+447700900101', 'alice@contoso.example']]);
    }
    expect(pairs('Email,Phone\nalice@contoso.example,07700 900101\n')).toEqual([[2, '+447700900101', 'alice@contoso.example']]);
  });

  it('ignores blank lines (also whitespace-only and empty-cell rows) but keeps counting them', () => {
    const text = '\n\nPhone,Mailbox\n\n   \n07700 900101,alice@contoso.example\n,\n\n07700 900102,bob(at)contoso.example\n\n';
    const result = parse(text);
    expect(result.entries).toEqual([{ line: 6, phone: '+447700900101', mailbox: 'alice@contoso.example' }]);
    expect(result.errors.map((e) => e.line)).toEqual([9]);
  });

  it('loads Ofcom\'s drama range and lower-cases mailboxes', () => {
    const result = parse('07700 900000,A@B.example\n07700 900999,C.D@E.Example\n');
    expect(result.entries.map((e) => [e.phone, e.mailbox])).toEqual([
      ['+447700900000', 'a@b.example'],
      ['+447700900999', 'c.d@e.example'],
    ]);
  });
});

describe('parseMappingCsv: problems', () => {
  it('reports a missing column on its line', () => {
    const result = parse('07700 900101,alice@contoso.example\n07700 900102\n07700 900103,\n');
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => [e.line, /missing column/.test(e.message)])).toEqual([
      [2, true],
      [3, true],
    ]);
  });

  it('rejects a header that lacks the mailbox column', () => {
    const result = parse('Phone,Name\n07700 900101,Alice\n');
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([{ line: 1, message: expect.stringMatching(/missing column.*mailbox/) }]);
  });

  it('warns, without rejecting, when a number is mapped twice to the same mailbox (any case)', () => {
    const result = parse('07700 900101,alice@contoso.example\n+447700900101,ALICE@contoso.example\n');
    expect(result.ok).toBe(true);
    expect(result.entries).toHaveLength(1);
    expect(result.warnings).toEqual([{ line: 2, message: expect.stringContaining('line 1') }]);
  });

  it('names both lines of a conflict', () => {
    const result = parse('Phone,Mailbox\n07700 900101,alice@contoso.example\n07700 900102,bob@contoso.example\n0044 7700 900101,bob@contoso.example\n');
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].line).toBe(4);
    expect(result.errors[0].message).toMatch(/line 4.*line 2/);
  });

  it('rejects sender ids, too-short numbers and non-addresses', () => {
    const result = parse('O2,alice@contoso.example\n12345,alice@contoso.example\n07700 900101,alice\n07700 900102,alice@@contoso.example\n');
    expect(result.errors.map((e) => e.line)).toEqual([1, 2, 3, 4]);
  });

  it('reports an unclosed quote on the line where it opens', () => {
    const result = parse('Phone,Mailbox\n07700 900101,alice@contoso.example\n"07700 900102,bob@contoso.example\n07700 900103,carol@contoso.example\n');
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([{ line: 3, message: expect.stringMatching(/quoted field/) }]);
  });

  it('says when the columns are the wrong way round without a header', () => {
    const result = parse('alice@contoso.example,07700 900101\n');
    expect(result.errors).toEqual([{ line: 1, message: expect.stringMatching(/wrong way round/) }]);
  });

  it('accepts an empty file with a warning (it maps nothing)', () => {
    const result = parse('External User ID,Microsoft 365 User Mailbox\n');
    expect(result.ok).toBe(true);
    expect(result.entries).toEqual([]);
    expect(result.warnings).toHaveLength(1);
  });
});

describe('canonical form and differences', () => {
  it('formats a table that parses back to the same table with any region', () => {
    const table = mappingTableOf(parse(fixture('no-header-mixed-formats.csv')).entries);
    const csv = formatMappingCsv(table);
    expect(csv.split('\r\n')[0]).toBe('External User ID,Microsoft 365 User Mailbox');
    expect(mappingTableOf(parseMappingCsv(csv, { defaultRegion: 'US' }).entries)).toEqual(table);
  });

  it('lists added, removed and re-pointed numbers', () => {
    const before = new Map([
      ['+447700900101', 'alice@x.example'],
      ['+447700900102', 'bob@x.example'],
    ]);
    const after = new Map([
      ['+447700900101', 'carol@x.example'],
      ['+447700900103', 'dan@x.example'],
    ]);
    expect(diffMappings(before, after)).toEqual({
      added: [{ phone: '+447700900103', mailbox: 'dan@x.example' }],
      removed: [{ phone: '+447700900102', mailbox: 'bob@x.example' }],
      repointed: [{ phone: '+447700900101', from: 'alice@x.example', to: 'carol@x.example' }],
    });
  });
});
