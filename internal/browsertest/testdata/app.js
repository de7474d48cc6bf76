// The page script of the browsertest self-test. It runs WebAuthn ceremonies
// for the Go test and hands back the raw fields as base64url.
'use strict';

const rand = (n) => crypto.getRandomValues(new Uint8Array(n));
const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

// outcome turns a ceremony's promise into a value, so that an expected
// failure reaches the test as data rather than as an exception.
async function outcome(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (e) {
    return { ok: false, error: e.name + ': ' + e.message };
  }
}

async function createPasskey(userVerification) {
  const cred = await navigator.credentials.create({ publicKey: {
    rp: { id: 'localhost', name: 't' },
    user: { id: rand(16), name: 'ada', displayName: 'Ada' },
    challenge: rand(32),
    pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    authenticatorSelection: { residentKey: 'required', userVerification: userVerification || 'required' },
  } });
  return { id: cred.id, attachment: cred.authenticatorAttachment };
}

async function getAssertion(mediation, signal) {
  const options = { publicKey: { challenge: rand(32), rpId: 'localhost', userVerification: 'required' } };
  if (mediation) options.mediation = mediation;
  if (signal) options.signal = signal;
  const cred = await navigator.credentials.get(options);
  return {
    id: cred.id,
    authenticatorData: b64u(cred.response.authenticatorData),
    clientDataJSON: b64u(cred.response.clientDataJSON),
    signature: b64u(cred.response.signature),
    userHandle: cred.response.userHandle ? b64u(cred.response.userHandle) : '',
  };
}

// The button runs both ceremonies and writes the outcome into the page.
document.getElementById('run').addEventListener('click', async () => {
  const result = { create: await outcome(createPasskey()) };
  result.get = await outcome(getAssertion());
  document.getElementById('out').textContent = JSON.stringify(result);
  document.getElementById('done').hidden = false;
});

window.register = (uv) => outcome(createPasskey(uv));
window.login = () => outcome(getAssertion());

// startConditional starts a conditional-mediation get and leaves its
// outcome in window.conditional when it settles.
window.startConditional = () => {
  window.conditional = null;
  window.conditionalAbort = new AbortController();
  outcome(getAssertion('conditional', window.conditionalAbort.signal)).then((r) => { window.conditional = r; });
};
