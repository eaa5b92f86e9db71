import * as assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect, type TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import { activateExtension, descriptionOf, ensureLocalManager, startOutsideManager, uniqueQueue, waitFor, waitForNotification, writeKeyFile } from './helpers';

/** Runs openssl; a machine without it fails the suite with what to install. */
function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('the TLS tests make their certificates with openssl, which is not installed: apt-get install -y openssl (scripts/setupVscode.sh does)', { cause: error });
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`, { cause: error });
  }
}

/**
 * A certificate authority (ca.pem), a server certificate it signed for 127.0.0.1 and localhost,
 * one it signed for another host only, and an unrelated CA.
 */
function makeCertificates(): { dir: string; ca: string; cert: string; key: string; otherCa: string; elsewhereCert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caExtensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Taskwire test CA', ...caExtensions]);
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=Another CA', ...caExtensions]);
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '2', '-out', 'server.pem', '-extfile', 'server.ext']);
  // The same key, certified for another host only.
  writeFileSync(join(dir, 'elsewhere.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.example\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '2', '-days', '2', '-out', 'elsewhere.pem', '-extfile', 'elsewhere.ext']);
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server.key'),
    otherCa: join(dir, 'other-ca.pem'),
    elsewhereCert: join(dir, 'elsewhere.pem'),
  };
}

const SETTINGS = ['host', 'port', 'tls', 'tlsCaFile'] as const;

/** Sets the extension's user settings, as a user would in settings.json. */
async function configure(values: Partial<Record<(typeof SETTINGS)[number], unknown>>): Promise<void> {
  const config = vscode.workspace.getConfiguration('taskwire');
  for (const name of SETTINGS) await config.update(name, values[name], vscode.ConfigurationTarget.Global);
}

describe('a manager that serves TLS', () => {
  let api: TaskwireApi;
  let certificates: ReturnType<typeof makeCertificates>;
  let keyFile: string;
  let manager: ChildProcess;
  let port: number;
  let producer: TaskwireClient | undefined;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
    certificates = makeCertificates();
    ({ keyFile } = writeKeyFile());
    ({ manager, port } = await startOutsideManager(keyFile, ['--tls-cert', certificates.cert, '--tls-key', certificates.key]));
  });

  after(async () => {
    producer?.close();
    await vscode.commands.executeCommand('taskwire.manager.disconnect');
    await configure({});
    manager?.kill('SIGKILL');
    if (certificates) rmSync(certificates.dir, { recursive: true, force: true });
    if (keyFile) rmSync(dirname(keyFile), { recursive: true, force: true });
  });

  it('connects with the CA from taskwire.tlsCaFile and shows the queues', async () => {
    await configure({ host: '127.0.0.1', port, tls: true, tlsCaFile: certificates.ca });
    // Only the key is given: the address, TLS and the CA come from the settings.
    const address = await vscode.commands.executeCommand<{ port: number } | undefined>('taskwire.manager.connect', { authkeyFile: keyFile });
    assert.equal(address?.port, port, api.notifications.last?.message);
    assert.equal(api.model.connection.status, 'connected');
    assert.deepEqual(api.model.connection.address, { host: '127.0.0.1', port, tls: true, tlsCaFile: certificates.ca });
    assert.equal(await descriptionOf(api.views.manager, 'Address'), `127.0.0.1:${port}`);
    assert.equal(await descriptionOf(api.views.manager, 'Manager'), 'remote');

    // A producer of our own, over TLS with the same CA, puts two tasks; the view shows them.
    producer = await connect({ host: '127.0.0.1', port, authkeyFile: keyFile, tls: { ca: readFileSync(certificates.ca) }, name: 'tls-producer', role: 'producer', reconnect: false });
    const queue = uniqueQueue('tls');
    await producer.queue(queue).put('first');
    await producer.queue(queue).put('second');
    await waitFor(`${queue} with 2 ready tasks in the Queues view`, async () => (await descriptionOf(api.views.queues, queue)) === '2 ready · 0 leased · 0 delayed · 0 dead');
  });

  it('with a CA that did not sign the certificate, says so and names the setting to change', async () => {
    await vscode.commands.executeCommand('taskwire.manager.disconnect');
    await configure({ host: '127.0.0.1', port, tls: true, tlsCaFile: certificates.otherCa });
    const mark = new Date();
    const address = await vscode.commands.executeCommand('taskwire.manager.connect', { authkeyFile: keyFile });
    assert.equal(address, undefined);
    const message = await waitForNotification(api, mark, /over TLS/);
    assert.equal(message.severity, 'error');
    assert.equal(
      message.message,
      `Cannot connect to the Taskwire manager at 127.0.0.1:${port} over TLS: its certificate is not signed by the certificate authority in ${certificates.otherCa} (UNABLE_TO_VERIFY_LEAF_SIGNATURE). ` +
        "Set taskwire.tlsCaFile to the PEM file of the CA that signed the manager's certificate.",
    );
    assert.deepEqual(message.actions, ['Open TLS settings', 'Retry']);
    assert.equal(api.model.connection.status, 'disconnected');
  });

  it('with a certificate for another host, says which host it is not for', async () => {
    const elsewhere = await startOutsideManager(keyFile, ['--tls-cert', certificates.elsewhereCert, '--tls-key', certificates.key]);
    try {
      const mark = new Date();
      const address = await vscode.commands.executeCommand('taskwire.manager.connect', {
        host: '127.0.0.1',
        port: elsewhere.port,
        authkeyFile: keyFile,
        tlsCaFile: certificates.ca,
      });
      assert.equal(address, undefined);
      const message = await waitForNotification(api, mark, /over TLS/);
      assert.equal(
        message.message,
        `Cannot connect to the Taskwire manager at 127.0.0.1:${elsewhere.port} over TLS: its certificate is not for 127.0.0.1 (ERR_TLS_CERT_ALTNAME_INVALID): ` +
          'connect with a host name or IP address the certificate lists in its subjectAltName.',
      );
    } finally {
      elsewhere.manager.kill('SIGKILL');
    }
  });

  it('without taskwire.tls, tells that the manager may serve TLS', async () => {
    await configure({ host: '127.0.0.1', port });
    const mark = new Date();
    const address = await vscode.commands.executeCommand('taskwire.manager.connect', { authkeyFile: keyFile });
    assert.equal(address, undefined);
    const message = await waitForNotification(api, mark, /Cannot connect/);
    assert.equal(
      message.message,
      `Cannot connect to the Taskwire manager at 127.0.0.1:${port}: the manager closed the connection during the handshake without answering. ` +
        'If it serves TLS (taskwire serve --tls-cert), turn on taskwire.tls.',
    );
    assert.equal(api.model.connection.status, 'disconnected');
  });

  it('with taskwire.tls on for a manager that does not serve TLS, says it does not speak TLS', async () => {
    const local = await ensureLocalManager(api);
    await vscode.commands.executeCommand('taskwire.manager.disconnect');
    const mark = new Date();
    const address = await vscode.commands.executeCommand('taskwire.manager.connect', { host: '127.0.0.1', port: local.port, tls: true });
    assert.equal(address, undefined);
    const message = await waitForNotification(api, mark, /over TLS/);
    assert.equal(
      message.message,
      `Cannot connect to the Taskwire manager at 127.0.0.1:${local.port} over TLS: the manager does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER): ` +
        'turn off taskwire.tls and clear taskwire.tlsCaFile, or start it with --tls-cert and --tls-key.',
    );
  });
});
