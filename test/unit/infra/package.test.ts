import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isIgnored, parseIgnoreFile } from '../../support/ignoreFile';

// What `azd deploy` uploads. azure.yaml chooses the remote build: azd zips the project folder
// minus .funcignore, and the platform runs `npm install` and `npm run build` on what it got.
// These checks compute that file list from the repository and hold it to the build.

const root = resolve(__dirname, '../../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

interface PackageJson {
  main: string;
  engines: { node: string };
  scripts: Record<string, string>;
  bin?: Record<string, string>;
}
const packageJson = JSON.parse(read('package.json')) as PackageJson;

interface TsConfig {
  extends?: string;
  include?: string[];
  compilerOptions?: { outDir?: string; rootDir?: string; noEmit?: boolean };
}

/** Files a fresh clone has, plus what a developer's machine adds before `azd deploy`. */
function repositoryFiles(): string[] {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    // A worktree may hold node_modules as a symlink, which git lists as a file; it is a folder.
    .filter((path) => path !== '' && existsSync(join(root, path)) && !statSync(join(root, path)).isDirectory());
  const localArtifacts = [
    'node_modules/@azure/functions/package.json',
    'node_modules/azurite/package.json',
    'node_modules/.bin/tsc',
    'dist/functions/syncTimer.js',
    'dist/functions/syncTimer.js.map',
    'dist/test/fakes/tls/server.key',
    'dist/test/fakes/graph/fakeGraphServer.js',
    '.azure/s365-prod/.env',
    'local.settings.json',
    '__azurite_db_table__.json',
    '__blobstorage__/1/blob',
    'coverage/index.html',
  ];
  return [...new Set([...tracked, ...localArtifacts])].sort();
}

const funcignore = parseIgnoreFile(read('.funcignore'));
const allFiles = repositoryFiles();
const packaged = allFiles.filter((path) => !isIgnored(funcignore, path));
const packagedSet = new Set(packaged);

function tsconfigChain(path: string): { path: string; config: TsConfig }[] {
  const config = JSON.parse(read(path)) as TsConfig;
  const parent = config.extends !== undefined ? tsconfigChain(posix.join(posix.dirname(path), config.extends)) : [];
  return [{ path: posix.normalize(path), config }, ...parent];
}

function buildConfig(): { files: string[]; include: string[]; outDir: string; rootDir: string } {
  const buildScript = packageJson.scripts.build ?? '';
  const project = /-p\s+(\S+)/.exec(buildScript)?.[1] ?? 'tsconfig.json';
  const chain = tsconfigChain(project);
  const include = chain.find((c) => c.config.include !== undefined)?.config.include ?? [];
  const outDir = chain.find((c) => c.config.compilerOptions?.outDir !== undefined)?.config.compilerOptions?.outDir ?? '.';
  const rootDir = chain.find((c) => c.config.compilerOptions?.rootDir !== undefined)?.config.compilerOptions?.rootDir ?? '.';
  return { files: chain.map((c) => c.path), include, outDir, rootDir };
}

/** Relative module specifiers of a TypeScript file: static imports, re-exports, import() and require(). */
function relativeImports(source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1] ?? '');
  return specifiers.filter((s) => s !== '');
}

function resolveImport(fromFile: string, specifier: string): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(fromFile), specifier));
  return [base, `${base}.ts`, `${base}/index.ts`, base.replace(/\.js$/, '.ts')].find((candidate) => allFiles.includes(candidate));
}

describe('deployment mode', () => {
  it('is a remote build: azure.yaml says so for the function app service', () => {
    expect(read('azure.yaml')).toMatch(/^ {2}api:\n(?: {4}.*\n)*? {4}remoteBuild: true$/m);
  });

  it('targets Node 22 on Flex Consumption and declares Node 20 and later in engines', () => {
    expect(packageJson.engines.node).toBe('>=20');
    expect(read('infra/app/api.bicep')).toMatch(/runtime:\s*\{\s*name:\s*'node'\s*version:\s*'22'\s*\}/);
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(20);
  });

  it('builds with tsc alone: no pre- or post-build step, nothing from test/ in the build input', () => {
    expect(packageJson.scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(Object.keys(packageJson.scripts).filter((name) => /^(pre|post)build$/.test(name))).toEqual([]);
    const { include } = buildConfig();
    expect(include.filter((dir) => /^(test|demo|bench|scripts)\b/.test(dir))).toEqual([]);
  });
});

describe('the package azd uploads', () => {
  it('leaves out node_modules, dist, tests, the fake servers, the demo, the benchmark and local settings', () => {
    const unwanted = packaged.filter((path) =>
      /^(node_modules|dist|test|demo|bench|coverage|\.azure|\.git)\//.test(path) || /^(local\.settings\.json|__azurite|__blobstorage__)/.test(path),
    );
    expect(unwanted).toEqual([]);
  });

  it('carries no private key, certificate or fake server anywhere', () => {
    expect(packaged.filter((path) => /\.(key|pem|pfx|p12|crt)$/i.test(path) || /fake/i.test(path))).toEqual([]);
  });

  it('carries what the remote build needs: package.json, the lock file, host.json and every tsconfig the build reads', () => {
    const { files } = buildConfig();
    for (const path of ['package.json', 'package-lock.json', 'host.json', ...files]) expect(packagedSet.has(path), path).toBe(true);
  });

  it('carries every source file the build compiles, and everything those import', () => {
    const { include } = buildConfig();
    const compiled = allFiles.filter((path) => path.endsWith('.ts') && include.some((dir) => path.startsWith(`${dir}/`)));
    expect(compiled.length).toBeGreaterThan(20);
    const missing = compiled.filter((path) => !packagedSet.has(path));
    expect(missing).toEqual([]);
    const unresolved: string[] = [];
    for (const file of compiled) {
      for (const specifier of relativeImports(read(file))) {
        const target = resolveImport(file, specifier);
        if (target === undefined || !packagedSet.has(target) || !include.some((dir) => target.startsWith(`${dir}/`))) unresolved.push(`${file} -> ${specifier}`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it('yields, once built, the function entry points package.json "main" names', () => {
    const { include, outDir, rootDir } = buildConfig();
    expect(include).toContain('functions');
    const functionFiles = packaged.filter((path) => /^functions\/[^/]+\.ts$/.test(path));
    expect(functionFiles.length).toBeGreaterThan(0);
    const main = new RegExp(`^${packageJson.main.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    for (const file of functionFiles) {
      const emitted = posix.join(outDir, posix.relative(rootDir, file)).replace(/\.ts$/, '.js');
      expect(emitted, file).toMatch(main);
    }
  });
});

describe('the build output', () => {
  const outDir = mkdtempSync(join(tmpdir(), 's365-build-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  function listFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? listFiles(path) : [relative(outDir, path).split('\\').join('/')];
    });
  }

  it('holds the compiled functions and CLI and nothing from test/, demo/ or bench/', () => {
    // The real compiler with the real build config, written to a temporary folder instead of dist/.
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root, stdio: 'pipe' });
    const files = listFiles(outDir);
    expect(files.filter((path) => /^(test|demo|bench)\//.test(path) || /\.(key|pem)$/.test(path))).toEqual([]);
    for (const fn of readdirSync(join(root, 'functions')).filter((f) => f.endsWith('.ts'))) expect(files).toContain(`functions/${fn.replace(/\.ts$/, '.js')}`);
    const bin = Object.values(packageJson.bin ?? {})[0] ?? '';
    expect(files).toContain(posix.relative('dist', bin));
  }, 180_000);
});
