/*
 * passkeys.js — the parts of latch's pages that need script: signing in with
 * a passkey (a button, and autofill on the email field), confirming it's you
 * with a passkey before a sensitive change, adding a passkey, and the Copy
 * buttons. Everything else works without it.
 *
 * The pages mark what this file drives with data attributes, each hidden in
 * the markup and revealed here only when the browser can do it:
 *
 *   [data-passkey-login]    button: sign in with a passkey (reads input[name=auth_request])
 *   [data-passkey-reauth]   button: step-up with a passkey (reads input[name=change], input[name=next])
 *   [data-passkey-add]      button: create a passkey (reads input[name=passkey-name])
 *   [data-passkey-reveal]   anything else to show when passkeys work (a divider, the add form)
 *   [data-passkey-unsupported]  what to hide when passkeys work (the no-passkeys sentence)
 *   [data-passkey-error]    role="alert" region for a failed ceremony; its [data-message] gets the text
 *   [data-copy="id"]        button: copy the text of element #id (its <li> items one a line)
 *
 * Every request is a same-origin JSON POST carrying the page's CSRF token
 * (<meta name="csrf-token">) in X-CSRF-Token. The server answers
 * {"publicKey": ...} to begin, {"redirect": url} to finish, {"reauth": url}
 * when a step-up must come first, and {"error": sentence} otherwise.
 */
(() => {
  'use strict';

  const GENERIC = 'Something went wrong with your passkey. Please try again.';
  const OFFLINE = 'latch could not be reached. Check your connection and try again.';
  const CANCELLED = {
    login: 'Passkey sign-in was cancelled.',
    reauth: 'Passkey confirmation was cancelled.',
    add: 'Adding a passkey was cancelled.',
  };
  // Server challenges expire after 5 minutes; a conditional (autofill)
  // request can wait far longer for the person, so it is renewed before then.
  const RENEW_CONDITIONAL_MS = 4 * 60 * 1000;

  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = meta ? meta.content : '';

  const passkeysWork = Boolean(
    window.PublicKeyCredential &&
      typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
      typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function',
  );
  const clipboardWorks = Boolean(navigator.clipboard && navigator.clipboard.writeText);

  // Problem is a failure with a sentence meant for the person.
  class Problem extends Error {}

  // Leaving is thrown once the page is navigating away, so that no caller
  // shows an error or re-enables a button in the meantime.
  class Leaving extends Error {}

  // go navigates to a URL the server gave, refusing anything but http(s) so
  // a bad answer can never run script on this page.
  function go(target) {
    let url;
    try {
      url = new URL(String(target), location.href);
    } catch {
      throw new Problem(GENERIC);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Problem(GENERIC);
    }
    location.assign(url.href);
    throw new Leaving();
  }

  // request POSTs body as JSON and returns the answer's JSON. A step-up
  // demand ({"reauth": url}) navigates there; any other failure throws a
  // Problem with the server's sentence or a fitting one of ours.
  async function request(path, body) {
    let res;
    try {
      res = await fetch(path, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
        body: JSON.stringify(body),
      });
    } catch {
      throw new Problem(OFFLINE);
    }
    let data = {};
    try {
      const parsed = await res.json();
      if (parsed && typeof parsed === 'object') data = parsed;
    } catch {
      // Not JSON: the status alone decides below.
    }
    if (res.status === 403 && data.reauth) go(data.reauth);
    if (res.ok) return data;
    if (typeof data.error === 'string' && data.error) throw new Problem(data.error);
    if (res.status === 429) throw new Problem('Too many attempts. Wait a minute and try again.');
    if (res.status === 403) throw new Problem('This page has expired. Reload it and try again.');
    throw new Problem(GENERIC);
  }

  // withoutNulls copies WebAuthn JSON options, leaving out members that are
  // null: a server that writes an empty list as null (Go's nil slice) would
  // otherwise make parse*OptionsFromJSON throw a TypeError, since WebAuthn
  // dictionaries take a missing member but not a null one.
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (!value || typeof value !== 'object') return value;
    const out = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== null) out[key] = withoutNulls(member);
    }
    return out;
  }

  function requestOptions(data) {
    if (!data.publicKey) throw new Problem(GENERIC);
    return PublicKeyCredential.parseRequestOptionsFromJSON(withoutNulls(data.publicKey));
  }

  function creationOptions(data) {
    if (!data.publicKey) throw new Problem(GENERIC);
    return PublicKeyCredential.parseCreationOptionsFromJSON(withoutNulls(data.publicKey));
  }

  // finish sends the credential and follows the server to wherever it leads.
  async function finish(path, body, credential) {
    const data = await request(path, { ...body, credential: credential.toJSON() });
    if (!data.redirect) throw new Problem(GENERIC);
    go(data.redirect);
  }

  // sentence turns a failed ceremony into words, or null for failures the
  // person caused on purpose or that need no words.
  function sentence(err, kind) {
    if (err instanceof Leaving) return null;
    if (err instanceof Problem) return err.message;
    switch (err && err.name) {
      case 'AbortError':
        return null;
      case 'NotAllowedError':
        // The person closed the dialog, or it timed out: WebAuthn does not
        // tell the two apart, on purpose.
        return CANCELLED[kind];
      case 'InvalidStateError':
        if (kind === 'add') return 'This device already has a passkey for your account.';
        break;
      case 'SecurityError':
        return 'Passkeys can’t be used on this address.';
      case 'NotSupportedError':
        return 'This device can’t create the kind of passkey latch needs.';
    }
    return GENERIC;
  }

  // errorRegion finds the alert region that belongs to a control: the one in
  // its section or card, or else the page's first.
  function errorRegion(near) {
    const scope = near && near.closest('section, main');
    return (scope && scope.querySelector('[data-passkey-error]')) || document.querySelector('[data-passkey-error]');
  }

  function showError(region, text) {
    if (!region) return;
    const target = region.querySelector('[data-message]') || region;
    target.textContent = text;
    region.hidden = false;
  }

  function clearError(region) {
    if (!region || region.hidden) return;
    const target = region.querySelector('[data-message]') || region;
    target.textContent = '';
    region.hidden = true;
  }

  function setBusy(button, busy) {
    button.disabled = busy;
    if (busy) {
      button.setAttribute('aria-busy', 'true');
    } else {
      button.removeAttribute('aria-busy');
      // A disabled button drops focus; give it back so the keyboard user is
      // where they were.
      if (document.activeElement === document.body) button.focus();
    }
  }

  // run wraps one ceremony: busy button, cleared alert, errors in words. It
  // reports whether the page stayed, that is, whether the ceremony failed.
  async function run(button, kind, ceremony) {
    const region = errorRegion(button);
    clearError(region);
    setBusy(button, true);
    try {
      await ceremony();
    } catch (err) {
      if (err instanceof Leaving) return false;
      const text = sentence(err, kind);
      if (text) showError(region, text);
    }
    setBusy(button, false);
    return true;
  }

  function value(name) {
    const input = document.querySelector(`input[name="${name}"]`);
    return input ? input.value : '';
  }

  // ---------- sign-in ----------

  function setUpLogin() {
    const buttons = document.querySelectorAll('[data-passkey-login]');
    const autofillField = document.querySelector('input[autocomplete*="webauthn"]');
    if (buttons.length === 0 && !autofillField) return;

    const body = () => ({ auth_request: value('auth_request') });
    let pending = null; // AbortController of the waiting conditional request
    let renewTimer = 0;

    function stopConditional() {
      clearTimeout(renewTimer);
      if (pending) {
        pending.abort();
        pending = null;
      }
    }

    // conditional offers the account's passkeys in the email field's
    // autofill (WebAuthn Level 3 §5.1.4, mediation "conditional").
    async function conditional() {
      if (!autofillField || pending) return;
      const controller = new AbortController();
      pending = controller;
      try {
        if (
          typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function' ||
          !(await PublicKeyCredential.isConditionalMediationAvailable())
        ) {
          pending = null;
          return;
        }
        const options = await request('/login/passkey/begin', { ...body(), conditional: true });
        if (controller.signal.aborted) return;
        renewTimer = setTimeout(() => {
          if (pending !== controller) return;
          stopConditional();
          conditional();
        }, RENEW_CONDITIONAL_MS);
        const credential = await navigator.credentials.get({
          mediation: 'conditional',
          publicKey: requestOptions(options),
          signal: controller.signal,
        });
        clearTimeout(renewTimer);
        // The person picked a passkey: from here it is an ordinary sign-in.
        pending = null;
        buttons.forEach((b) => setBusy(b, true));
        try {
          await finish('/login/passkey/finish', body(), credential);
        } catch (err) {
          if (err instanceof Leaving) return;
          const text = sentence(err, 'login');
          if (text) showError(errorRegion(autofillField), text);
          buttons.forEach((b) => setBusy(b, false));
          conditional();
        }
      } catch (err) {
        // Autofill fails quietly: it was never asked for, and the button
        // still works. An abort means a newer request took over.
        if (!controller.signal.aborted && pending === controller) {
          clearTimeout(renewTimer);
          pending = null;
        }
      }
    }

    buttons.forEach((button) => {
      button.addEventListener('click', async () => {
        // One WebAuthn request at a time: the button's modal request
        // replaces the waiting autofill one.
        stopConditional();
        const stayed = await run(button, 'login', async () => {
          const options = await request('/login/passkey/begin', body());
          const credential = await navigator.credentials.get({
            publicKey: requestOptions(options),
          });
          await finish('/login/passkey/finish', body(), credential);
        });
        if (stayed) conditional();
      });
    });

    conditional();
  }

  // ---------- step-up ----------

  function setUpReauth() {
    document.querySelectorAll('[data-passkey-reauth]').forEach((button) => {
      button.addEventListener('click', () =>
        run(button, 'reauth', async () => {
          const body = { change: value('change'), next: value('next') };
          const options = await request('/account/reauth/passkey/begin', body);
          const credential = await navigator.credentials.get({
            publicKey: requestOptions(options),
          });
          await finish('/account/reauth/passkey/finish', body, credential);
        }),
      );
    });
  }

  // ---------- adding a passkey ----------

  function setUpAdd() {
    document.querySelectorAll('[data-passkey-add]').forEach((button) => {
      const nameField = document.querySelector('input[name="passkey-name"]');
      button.addEventListener('click', () =>
        run(button, 'add', async () => {
          const body = { name: nameField ? nameField.value.trim() : '' };
          const options = await request('/account/security/passkeys/begin', body);
          const credential = await navigator.credentials.create({
            publicKey: creationOptions(options),
          });
          await finish('/account/security/passkeys/finish', body, credential);
        }),
      );
      // The name field is not in a form, so Enter would do nothing.
      if (nameField) {
        nameField.addEventListener('keydown', (event) => {
          if (event.key === 'Enter' && !event.isComposing && !button.disabled) {
            event.preventDefault();
            button.click();
          }
        });
      }
    });
  }

  // ---------- copy ----------

  function setUpCopy() {
    const buttons = document.querySelectorAll('[data-copy]');
    if (buttons.length === 0) return;
    // One polite live region says what happened; a changed button label
    // alone is not announced by every screen reader.
    const status = document.createElement('p');
    status.className = 'visually-hidden';
    status.setAttribute('role', 'status');
    document.body.append(status);

    buttons.forEach((button) => {
      const label = button.textContent;
      let timer = 0;
      button.addEventListener('click', async () => {
        const source = document.getElementById(button.dataset.copy);
        if (!source) return;
        const items = source.querySelectorAll('li');
        const text = items.length
          ? Array.from(items, (li) => li.textContent.trim()).join('\n')
          : source.textContent.trim();
        clearTimeout(timer);
        try {
          await navigator.clipboard.writeText(text);
          button.textContent = 'Copied';
          status.textContent = 'Copied to the clipboard.';
        } catch {
          status.textContent = 'Copying did not work. Select the text and copy it yourself.';
        }
        timer = setTimeout(() => {
          button.textContent = label;
          status.textContent = '';
        }, 2000);
      });
    });
  }

  // A page restored from the back-forward cache keeps the busy state it had
  // when it navigated away; undo it so the buttons work again.
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    document.querySelectorAll('button[aria-busy="true"]').forEach((b) => setBusy(b, false));
  });

  if (passkeysWork) {
    document
      .querySelectorAll('[data-passkey-login], [data-passkey-reauth], [data-passkey-add], [data-passkey-reveal]')
      .forEach((el) => {
        el.hidden = false;
      });
    document.querySelectorAll('[data-passkey-unsupported]').forEach((el) => {
      el.hidden = true;
    });
    setUpLogin();
    setUpReauth();
    setUpAdd();
  }
  if (clipboardWorks) {
    document.querySelectorAll('[data-copy]').forEach((el) => {
      el.hidden = false;
    });
    setUpCopy();
  }
})();
