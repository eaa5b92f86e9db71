import { strict as assert } from 'node:assert';
import { clientProof, newNonce, proofMatches, serverProof } from '../../src/protocol/auth';

// Computed independently with Python's hmac module:
//   hmac.new(b"biu", ("taskwire-client\n" + sn + "\n" + cn + "\n2026-11").encode(), hashlib.sha256).hexdigest()
const KEY = Buffer.from('biu', 'utf8');
const SERVER_NONCE = 'c2VydmVyLW5vbmNlLXNlcnZlci1ub25jZS1zZXJ2ZXItbm9uY2U=';
const CLIENT_NONCE = 'Y2xpZW50LW5vbmNlLWNsaWVudC1ub25jZS1jbGllbnQtbm9uY2U=';
const VERSION = '2026-11';
const CLIENT_PROOF = 'c6e226302d05515f67fff6035d7673ec27ec5b9fb8746d93fdd703678ff612d2';
const SERVER_PROOF = '7f7b3469b8b90791dcd9f48b97827ae7762d6f5736c4242967e4710814a68287';

describe('protocol/auth', () => {
  describe('newNonce', () => {
    it('is 32 random bytes in base64', () => {
      const nonce = newNonce();
      assert.equal(Buffer.from(nonce, 'base64').length, 32);
      assert.equal(Buffer.from(nonce, 'base64').toString('base64'), nonce);
      assert.equal(nonce.length, 44);
    });

    it('differs every time', () => {
      const nonces = new Set(Array.from({ length: 100 }, () => newNonce()));
      assert.equal(nonces.size, 100);
    });
  });

  describe('proofs', () => {
    it('match the known client vector', () => {
      assert.equal(clientProof(KEY, SERVER_NONCE, CLIENT_NONCE, VERSION), CLIENT_PROOF);
    });

    it('match the known server vector', () => {
      assert.equal(serverProof(KEY, SERVER_NONCE, CLIENT_NONCE, VERSION), SERVER_PROOF);
    });

    it('hash a UTF-8 key as its bytes', () => {
      // Python: hmac.new("clé".encode(), b"taskwire-client\nS\nC\n2026-11", hashlib.sha256).hexdigest()
      assert.equal(clientProof(Buffer.from('clé', 'utf8'), 'S', 'C', VERSION), '62c602cbb07b65d9fd0d49e9ad38a3c71194b51c94c647b487ae2be5ba91008d');
    });

    it('depend on the order of the nonces, the version and the key', () => {
      const proofs = [
        clientProof(KEY, CLIENT_NONCE, SERVER_NONCE, VERSION),
        clientProof(KEY, SERVER_NONCE, CLIENT_NONCE, '2026-12'),
        clientProof(Buffer.from('biv'), SERVER_NONCE, CLIENT_NONCE, VERSION),
      ];
      for (const proof of proofs) assert.notEqual(proof, CLIENT_PROOF);
    });

    it('are lowercase hex of 32 bytes', () => {
      assert.match(clientProof(KEY, newNonce(), newNonce(), VERSION), /^[0-9a-f]{64}$/);
      assert.match(serverProof(KEY, newNonce(), newNonce(), VERSION), /^[0-9a-f]{64}$/);
    });
  });

  describe('proofMatches', () => {
    it('accepts the exact proof', () => {
      assert.equal(proofMatches(CLIENT_PROOF, CLIENT_PROOF), true);
    });

    it('rejects a different proof of the same length', () => {
      assert.equal(proofMatches(CLIENT_PROOF, SERVER_PROOF), false);
      assert.equal(proofMatches(CLIENT_PROOF, CLIENT_PROOF.slice(0, -1) + '3'), false);
    });

    it('rejects a wrong length', () => {
      assert.equal(proofMatches(CLIENT_PROOF, CLIENT_PROOF.slice(0, 32)), false);
      assert.equal(proofMatches(CLIENT_PROOF, CLIENT_PROOF + '00'), false);
      assert.equal(proofMatches(CLIENT_PROOF, ''), false);
    });

    it('rejects values that are not strings', () => {
      for (const given of [undefined, null, 42, ['c6'], { proof: CLIENT_PROOF }, Buffer.from(CLIENT_PROOF)]) {
        assert.equal(proofMatches(CLIENT_PROOF, given), false, String(given));
      }
      assert.equal(proofMatches('', undefined), false);
    });

    it('rejects uppercase hex: the protocol specifies lowercase', () => {
      assert.equal(proofMatches(CLIENT_PROOF, CLIENT_PROOF.toUpperCase()), false);
    });
  });
});
