/*
 * sessions.js — the sessions page's "Select all" box and a count on its
 * "End selected sessions" button. Everything works without it: each
 * device's Select box joins the bulk form through its form="bulk-end"
 * attribute, and the button posts whatever is ticked.
 *
 *   [data-select-all]  hidden wrapper of a checkbox that ticks every Select box; revealed here
 *   [data-bulk-end]    the bulk form's button, whose label gains the count
 */
(() => {
  'use strict';

  const form = document.getElementById('bulk-end');
  const wrap = document.querySelector('[data-select-all]');
  const all = wrap && wrap.querySelector('input[type="checkbox"]');
  if (!form || !all) {
    return;
  }
  const button = form.querySelector('[data-bulk-end]');
  const label = button ? button.textContent : '';

  // form.elements holds the boxes outside the form that name it with their
  // form attribute, which is how the page avoids nested forms.
  const boxes = () =>
    Array.from(form.elements).filter((el) => el.type === 'checkbox' && el.name === 'ids');

  function sync() {
    const list = boxes();
    const n = list.filter((b) => b.checked).length;
    all.checked = n > 0 && n === list.length;
    all.indeterminate = n > 0 && n < list.length;
    if (button) {
      button.textContent = n === 0 ? label : n === 1 ? 'End 1 selected session' : `End ${n} selected sessions`;
    }
  }

  all.addEventListener('change', () => {
    boxes().forEach((b) => {
      b.checked = all.checked;
    });
    sync();
  });
  boxes().forEach((b) => b.addEventListener('change', sync));
  // A page restored from the back-forward cache keeps its ticks.
  window.addEventListener('pageshow', sync);

  wrap.hidden = false;
  sync();
})();
