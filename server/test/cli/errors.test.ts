import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, cleanupCli, lines, makeHome, PACKAGE_VERSION, runCli, startServe } from './cliHarness';

/** Each command and options its --help must mention. */
const COMMAND_OPTIONS: Record<string, string[]> = {
  serve: [
    '--host',
    '--port',
    '--authkey',
    '--authkey-file',
    '--queue',
    '--no-auto-create',
    '--ttr',
    '--max-attempts',
    '--max-frame-bytes',
    '--max-payload-bytes',
    '--max-batch',
    '--max-connections',
    '--max-handshakes-per-address',
    '--tls-cert',
    '--tls-key',
    '--json',
    '--verbose',
  ],
  put: [
    '--host',
    '--port',
    '--authkey',
    '--authkey-file',
    '--tls',
    '--file',
    '--json',
    '--string',
    '--specs',
    '--priority',
    '--delay',
    '--ttr',
    '--reply-to',
    '--max-attempts',
    '--timeout',
    '--batch',
    '--quiet',
  ],
  get: ['--host', '--port', '--authkey', '--authkey-file', '--max', '--timeout', '--no-wait', '--payload'],
  stats: ['--host', '--port', '--authkey', '--authkey-file', '--json'],
  workers: ['--host', '--port', '--authkey', '--authkey-file', '--json', '--all'],
  tail: ['--host', '--port', '--authkey', '--authkey-file', '--queue', '--kind', '--payload', '--json'],
  ping: ['--host', '--port', '--authkey', '--authkey-file', '--count'],
  mcp: ['--host', '--port', '--authkey', '--authkey-file', '--tls', '--read-only', '--http', '--allow-remote', 'mcp.json'],
};

/** A command line of each client command that would reach the manager. */
const CLIENT_COMMANDS: string[][] = [['ping'], ['stats'], ['workers'], ['get', 'tasks', '--no-wait'], ['put', 'tasks', '1'], ['tail']];

describe('cli e2e: errors, help and version', function () {
  this.timeout(30_000);
  afterEach(cleanupCli);

  describe('connecting', () => {
    it('a wrong --authkey: exit 4 "authentication failed", for every client command', async () => {
      const serve = await startServe();
      for (const command of CLIENT_COMMANDS) {
        const result = await serve.run([...command, '--authkey', 'not-the-key']);
        assert.equal(result.code, 4, `${command.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /^taskwire: error: authentication failed/);
        assert.equal(lines(result.stderr).length, 1, result.stderr);
      }
      const stats = await serve.run(['stats', '--json']);
      assert.equal(stats.stdout.includes('"tasks"'), false, 'nothing was put with the wrong key');
    });

    it('a refused key names where the key came from (flag, file, environment, default file) and what to do', async () => {
      const serve = await startServe();
      const home = makeHome();
      const wrongFile = join(home, 'wrong-key');
      writeFileSync(wrongFile, 'not-the-key\n');
      writeFileSync(join(home, 'authkey'), 'not-the-key-either\n');
      const port = ['--port', String(serve.port)];
      const cases: [args: string[], env: Record<string, string>, source: string][] = [
        [['--authkey', 'nope'], {}, 'the key given with --authkey'],
        [['--authkey-file', wrongFile], {}, `the key in ${wrongFile} (--authkey-file)`],
        [[], { TASKWIRE_AUTHKEY: 'nope' }, 'the key in $TASKWIRE_AUTHKEY'],
        [[], { TASKWIRE_AUTHKEY_FILE: wrongFile }, `the key in ${wrongFile} ($TASKWIRE_AUTHKEY_FILE)`],
        [[], {}, `the key in ${join(home, 'authkey')} (the default key file, as no --authkey-file, --authkey, $TASKWIRE_AUTHKEY_FILE or $TASKWIRE_AUTHKEY was given)`],
      ];
      for (const [args, env, source] of cases) {
        const result = await runCli(['ping', ...port, ...args], { env: cleanEnv({ TASKWIRE_HOME: home, ...env }) });
        assert.equal(result.code, 4, result.stderr);
        assert.equal(
          result.stderr,
          `taskwire: error: authentication failed: the manager refused ${source}. Use the key the manager was started with: its banner names it ("Authkey: FILE"); copy that file and pass --authkey-file FILE, or set TASKWIRE_AUTHKEY_FILE (or TASKWIRE_AUTHKEY to the key itself)\n`,
        );
      }
    });

    it('nothing listening (--port 1): exit 3 "connection refused"', async () => {
      const home = makeHome();
      const env = cleanEnv({ TASKWIRE_HOME: home, TASKWIRE_AUTHKEY: 'some-key' });
      for (const command of CLIENT_COMMANDS) {
        const result = await runCli([...command, '--port', '1'], { env });
        assert.equal(result.code, 3, `${command.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /connection refused/);
        assert.equal(lines(result.stderr).length, 1, result.stderr);
      }
    });

    it('$TASKWIRE_PORT is used when --port is not given', async () => {
      const serve = await startServe();
      const result = await runCli(['ping'], { env: { ...serve.env, TASKWIRE_PORT: String(serve.port) } });
      assert.equal(result.code, 0, result.stderr);
    });

    it('no key anywhere (empty TASKWIRE_HOME): exit 4 with a message saying how to provide one', async () => {
      const serve = await startServe();
      const empty = makeHome();
      for (const command of CLIENT_COMMANDS) {
        const result = await runCli([...command, '--port', String(serve.port)], { env: cleanEnv({ TASKWIRE_HOME: empty }) });
        assert.equal(result.code, 4, `${command.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /no authkey/);
        assert.match(result.stderr, /--authkey-file/);
        assert.match(result.stderr, /TASKWIRE_AUTHKEY/);
        assert.match(result.stderr, /taskwire serve/);
        assert.ok(result.stderr.includes(join(empty, 'authkey')), result.stderr);
        assert.equal(lines(result.stderr).length, 1, result.stderr);
      }
    });

    it('--authkey-file naming a missing or empty file: exit 4', async () => {
      const serve = await startServe();
      const missing = await serve.run(['ping', '--authkey-file', '/nonexistent/authkey']);
      assert.equal(missing.code, 4, missing.stderr);
      assert.match(missing.stderr, /authkey file \/nonexistent\/authkey does not exist/);
    });
  });

  describe('usage', () => {
    it('an unknown command: exit 2', async () => {
      const result = await runCli(['frobnicate']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /unknown command 'frobnicate'/);
      assert.equal(result.stdout, '');
    });

    it('an unknown option, on the root and on every command: exit 2', async () => {
      const root = await runCli(['--frobnicate']);
      assert.equal(root.code, 2, root.stderr);
      assert.match(root.stderr, /unknown option '--frobnicate'/);
      for (const command of Object.keys(COMMAND_OPTIONS)) {
        const args = command === 'put' || command === 'get' ? [command, 'tasks', '--frobnicate'] : [command, '--frobnicate'];
        const result = await runCli(args);
        assert.equal(result.code, 2, `${command}: ${result.stderr}`);
        assert.match(result.stderr, /unknown option '--frobnicate'/);
      }
    });

    it('a missing argument or option value: exit 2', async () => {
      for (const args of [['get'], ['put'], ['ping', '--port'], ['stats', '--port', 'seventy']]) {
        const result = await runCli(args);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, /error/);
      }
    });

    it('no command at all: usage on stderr, exit 2', async () => {
      const result = await runCli([]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /Usage: taskwire/);
      assert.equal(result.stdout, '');
    });
  });

  describe('help and version', () => {
    it('--help on the root exits 0 and lists the commands and exit codes', async () => {
      for (const flag of ['--help', '-h']) {
        const result = await runCli([flag]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^Usage: taskwire/);
        for (const command of Object.keys(COMMAND_OPTIONS)) assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`));
        assert.match(result.stdout, /--version/);
        assert.match(result.stdout, /Exit codes:/);
        assert.match(result.stdout, /5 {2}queue empty/);
      }
      const help = await runCli(['help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: taskwire/);
    });

    for (const [command, options] of Object.entries(COMMAND_OPTIONS)) {
      it(`${command} --help exits 0 and mentions its options`, async () => {
        // One environment for both runs: serve's help names $TASKWIRE_HOME/authkey.
        const env = cleanEnv({ TASKWIRE_HOME: makeHome() });
        const result = await runCli([command, '--help'], { env });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, '');
        assert.match(result.stdout, new RegExp(`^Usage: taskwire ${command} `));
        for (const option of options) assert.ok(result.stdout.includes(option), `${command} --help does not mention ${option}`);
        assert.match(result.stdout, /Examples:|--help/);
        const viaHelp = await runCli(['help', command], { env });
        assert.equal(viaHelp.code, 0, viaHelp.stderr);
        assert.equal(viaHelp.stdout, result.stdout);
      });
    }

    it('--version and -V print the package version', async () => {
      for (const flag of ['--version', '-V']) {
        const result = await runCli([flag]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, `${PACKAGE_VERSION}\n`);
      }
    });
  });
});
