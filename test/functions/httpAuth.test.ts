/**
 * No HTTP function is anonymous, and replacing the mapping (which decides
 * whose mailbox sees whose messages) needs the admin level: read from the
 * registrations of every module in functions/, as the Functions host sees them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadFunctionApp } from '../../local/driver/functionApp';
import { HttpRoutes } from '../../shared/platform/names';

interface HttpBinding {
  type: string;
  direction: string;
  authLevel?: string;
  route?: string;
  methods?: string[];
}

describe('HTTP functions and their authorization level', () => {
  const registered = [...loadFunctionApp().values()];
  const http = registered
    .filter((f) => f.triggerType === 'httpTrigger')
    .map((f) => {
      const binding = Object.values(f.metadata.bindings as Record<string, HttpBinding>).find((b) => b.type === 'httpTrigger')!;
      return { name: f.name, authLevel: binding.authLevel, route: binding.route, methods: binding.methods ?? [] };
    });

  it('finds every HTTP function of functions/', () => {
    const dir = path.resolve(__dirname, '../../functions');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && /\bapp\.http\(/.test(readFileSync(path.join(dir, f), 'utf8')));
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(http).toHaveLength(files.length);
  });

  it('no HTTP function is anonymous: each demands a function key or the admin key', () => {
    for (const f of http) expect({ name: f.name, authLevel: f.authLevel }).toEqual({ name: f.name, authLevel: expect.stringMatching(/^(function|admin)$/) });
  });

  it('replacing the mapping needs the admin level', () => {
    const mapping = http.filter((f) => f.route === HttpRoutes.mapping);
    expect(mapping).toHaveLength(1);
    expect(mapping[0].authLevel).toBe('admin');
    expect(mapping[0].methods.map((m) => m.toUpperCase())).toEqual(['PUT']);
  });
});
