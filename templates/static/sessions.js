/*
 * sessions.js — on the sessions page: "Select all", a count on the "End
 * selected sessions" button (disabled while nothing is ticked), and a
 * confirmation that names the devices before either bulk form ends them.
 *
 * Everything works without it: each device's Select box joins the bulk
 * form through its form="bulk-end" attribute, and a bulk form posted
 * without confirm=1 is answered with a page that asks the same question.
 *
 *   [data-select-all]     hidden wrapper of a checkbox that ticks every Select box; revealed here
 *   [data-bulk-end]       the bulk form's button, whose label gains the count
 *   form[data-confirm]    a bulk form: "selected" (the ticked devices) or "others" (every device but this one)
 *   [data-device]         a device's row, with data-device-name; data-current on this device's
 *   dialog#confirm-end    the confirmation, with [data-confirm-heading], [data-confirm-list],
 *                         [data-confirm-more], [data-confirm-yes] and [data-confirm-no]
 */
(() => {
  'use strict';

  const form = document.getElementById('bulk-end');
  const wrap = document.querySelector('[data-select-all]');
  const all = wrap && wrap.querySelector('input[type="checkbox"]');
  const button = form && form.querySelector('[data-bulk-end]');
  const label = button ? button.textContent : '';

  // form.elements holds the boxes outside the form that name it with their
  // form attribute, which is how the page avoids nested forms.
  const boxes = () =>
    form ? Array.from(form.elements).filter((el) => el.type === 'checkbox' && el.name === 'ids') : [];

  function sync() {
    const list = boxes();
    const n = list.filter((b) => b.checked).length;
    if (all) {
      all.checked = n > 0 && n === list.length;
      all.indeterminate = n > 0 && n < list.length;
    }
    if (button) {
      button.textContent = n === 0 ? label : n === 1 ? 'End 1 selected session' : `End ${n} selected sessions`;
      button.disabled = n === 0;
    }
  }

  if (form) {
    if (all) {
      all.addEventListener('change', () => {
        boxes().forEach((b) => {
          b.checked = all.checked;
        });
        sync();
      });
      wrap.hidden = false;
    }
    boxes().forEach((b) => b.addEventListener('change', sync));
    // A page restored from the back-forward cache keeps its ticks.
    window.addEventListener('pageshow', sync);
    sync();
  }

  // The confirmation.
  const dialog = document.getElementById('confirm-end');
  if (!dialog || typeof dialog.showModal !== 'function') {
    return; // the server's confirmation page asks instead
  }
  const heading = dialog.querySelector('[data-confirm-heading]');
  const list = dialog.querySelector('[data-confirm-list]');
  const more = dialog.querySelector('[data-confirm-more]');
  const yes = dialog.querySelector('[data-confirm-yes]');
  const no = dialog.querySelector('[data-confirm-no]');
  let pending = null;

  const nameOf = (row) => row.getAttribute('data-device-name') || 'Unknown device';

  function ask(target) {
    let rows;
    let extra = 0;
    if (target.getAttribute('data-confirm') === 'selected') {
      rows = boxes()
        .filter((b) => b.checked)
        .map((b) => b.closest('[data-device]'))
        .filter(Boolean);
      heading.textContent = rows.length === 1 ? 'End this session?' : `End these ${rows.length} sessions?`;
      yes.textContent = rows.length === 1 ? 'End session' : `End ${rows.length} sessions`;
    } else {
      rows = Array.from(document.querySelectorAll('[data-device]:not([data-current])'));
      const total = Number(target.getAttribute('data-others') || rows.length);
      extra = Math.max(0, total - rows.length);
      heading.textContent = 'Sign out of all other sessions?';
      yes.textContent = 'Sign out of all other sessions';
    }
    if (rows.length === 0) {
      return false;
    }
    list.replaceChildren(
      ...rows.map((row) => {
        const li = document.createElement('li');
        const strong = document.createElement('strong');
        strong.textContent = nameOf(row);
        li.append(strong);
        const facts = row.querySelector('[data-device-facts]');
        if (facts) {
          const span = document.createElement('span');
          span.className = 'confirm-facts';
          span.textContent = facts.textContent.replace(/\s+/g, ' ').trim();
          li.append(span);
        }
        return li;
      }),
    );
    more.hidden = extra === 0;
    more.textContent = extra === 1 ? 'And 1 more session.' : `And ${extra} more sessions.`;
    pending = target;
    dialog.showModal();
    yes.focus();
    return true;
  }

  document.querySelectorAll('form[data-confirm]').forEach((f) => {
    f.addEventListener('submit', (event) => {
      if (f.querySelector('input[name="confirm"]')) {
        return; // confirmed: let it post
      }
      event.preventDefault();
      ask(f);
    });
  });

  yes.addEventListener('click', () => {
    if (!pending) {
      return;
    }
    const confirm = document.createElement('input');
    confirm.type = 'hidden';
    confirm.name = 'confirm';
    confirm.value = '1';
    pending.append(confirm);
    yes.disabled = true;
    pending.submit();
  });
  no.addEventListener('click', () => dialog.close());
  // The close event comes a moment after close() (Cancel, or Escape): by
  // then the person may have asked again, and the dialog be open for that.
  dialog.addEventListener('close', () => {
    if (!dialog.open) {
      pending = null;
    }
  });
})();
