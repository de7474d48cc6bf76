/*
 * times.js — shows every time on the page in the browser's own time zone,
 * and tells the server that zone so that its next page is written in it.
 *
 * The server writes each time as
 *
 *   <time datetime="2026-12-03T09:12:00Z" data-when="kind" title="…">text</time>
 *
 * in the zone of the tz cookie below, or in UTC, labelled "UTC", when it
 * has none: a page is true without this script. Here each text and title is
 * written again in the zone Intl reports, in the words the server uses
 * (templates/localtime.go):
 *
 *   daytime  "Today, 07:05", "Yesterday, 22:10", "3 Dec, 09:12", "3 Dec 2025, 09:12"
 *   recent   "just now", "5 minutes ago", else daytime in lower case ("today, 07:05")
 *   clock    "07:05"
 *   date     "3 Dec 2026"
 *   since    "07:05" today, else daytime in lower case ("yesterday, 22:10")
 *
 *   section[data-day]   a day of the activity page; the days are grouped
 *                       again by the local day, since an event near midnight
 *                       belongs to another day in another zone
 *   [data-zone-note]    the sentence that says which zone times are in
 *
 * The zone is kept in the latch_tz cookie (__Host-latch_tz over https, as
 * latch names its cookies there), a year long.
 */
(() => {
  'use strict';

  let zone;
  try {
    zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  // An IANA name, the shape the server accepts (templates.zoneName).
  if (typeof zone !== 'string' || zone.length > 64 || !/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(zone)) {
    return;
  }

  const SHORT = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
    'October', 'November', 'December'];
  let wallClock;
  try {
    wallClock = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (e) {
    return; // a zone Intl names but cannot use ("Etc/Unknown")
  }

  const secure = location.protocol === 'https:';
  const cookie = (secure ? '__Host-' : '') + 'latch_tz';
  if (!document.cookie.split('; ').includes(cookie + '=' + zone)) {
    document.cookie = `${cookie}=${zone}; path=/; max-age=31536000; samesite=lax${secure ? '; secure' : ''}`;
  }

  // local returns the date and wall-clock time in the zone at ms (since
  // the epoch), its day number on the calendar (days since 1 January 1970)
  // and the zone's offset from UTC in minutes.
  function local(ms) {
    const p = {};
    for (const { type, value } of wallClock.formatToParts(ms)) {
      p[type] = value;
    }
    const l = {
      y: Number(p.year),
      mo: Number(p.month),
      d: Number(p.day),
      h: Number(p.hour) % 24,
      mi: Number(p.minute),
    };
    l.day = Date.UTC(l.y, l.mo - 1, l.d) / 864e5;
    const wall = Date.UTC(l.y, l.mo - 1, l.d, l.h, l.mi, Number(p.second));
    l.offset = Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
    return l;
  }

  const pad = (n) => String(n).padStart(2, '0');
  const clock = (l) => `${pad(l.h)}:${pad(l.mi)}`;
  const isoDate = (l) => `${l.y}-${pad(l.mo)}-${pad(l.d)}`;

  const nowMs = Date.now();
  const now = local(nowMs);

  function daytime(l) {
    switch (now.day - l.day) {
      case 0:
        return `Today, ${clock(l)}`;
      case 1:
        return `Yesterday, ${clock(l)}`;
    }
    const year = l.y === now.y ? '' : ` ${l.y}`;
    return `${l.d} ${SHORT[l.mo - 1]}${year}, ${clock(l)}`;
  }

  const lowerFirst = (s) => s.charAt(0).toLowerCase() + s.slice(1);

  function recent(ms, l) {
    const d = nowMs - ms;
    if (d < 60e3) {
      return 'just now';
    }
    if (d < 3600e3) {
      const n = Math.floor(d / 60e3);
      return n === 1 ? '1 minute ago' : `${n} minutes ago`;
    }
    const s = daytime(l);
    return s.charAt(0).toLowerCase() + s.slice(1);
  }

  function title(l) {
    const s = `${l.d} ${LONG[l.mo - 1]} ${l.y}, ${clock(l)}`;
    if (zone === 'UTC') {
      return `${s} UTC`;
    }
    const a = Math.abs(l.offset);
    return `${s} ${zone} (UTC${l.offset < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)})`;
  }

  function dayLabel(l) {
    switch (now.day - l.day) {
      case 0:
        return 'Today';
      case 1:
        return 'Yesterday';
    }
    return `${l.d} ${LONG[l.mo - 1]} ${l.y}`;
  }

  const at = (el) => Date.parse(el.getAttribute('datetime') || '');

  for (const el of document.querySelectorAll('time[data-when]')) {
    const ms = at(el);
    if (Number.isNaN(ms)) {
      continue;
    }
    const l = local(ms);
    let text;
    switch (el.dataset.when) {
      case 'daytime':
        text = daytime(l);
        break;
      case 'recent':
        text = recent(ms, l);
        break;
      case 'clock':
        text = clock(l);
        break;
      case 'date':
        text = `${l.d} ${SHORT[l.mo - 1]} ${l.y}`;
        break;
      case 'since':
        text = now.day === l.day ? clock(l) : lowerFirst(daytime(l));
        break;
      default:
        continue;
    }
    el.textContent = text;
    el.title = title(l);
  }

  const note = document.querySelector('[data-zone-note]');
  if (note) {
    note.textContent = `Times are in your time zone, ${zone}.`;
  }

  // The activity page's days: collect the events, newest first as the
  // server listed them, and group them again by their local day.
  const days = Array.from(document.querySelectorAll('section[data-day]'));
  if (days.length === 0) {
    return;
  }
  const groups = [];
  for (const section of days) {
    for (const item of section.querySelectorAll('ol > li')) {
      const t = item.querySelector('time[data-when]');
      const ms = t ? at(t) : NaN;
      if (Number.isNaN(ms)) {
        return; // leave the server's days alone rather than guess
      }
      const l = local(ms);
      const last = groups[groups.length - 1];
      if (last && last.key === isoDate(l)) {
        last.items.push(item);
      } else {
        groups.push({ key: isoDate(l), l, items: [item] });
      }
    }
  }
  const blank = days[0].cloneNode(true);
  blank.querySelector('ol').replaceChildren();
  const sections = groups.map((g) => {
    const s = blank.cloneNode(true);
    s.dataset.day = g.key;
    s.setAttribute('aria-labelledby', 'day-' + g.key);
    const head = s.querySelector('h2');
    head.id = 'day-' + g.key;
    const t = head.querySelector('time');
    t.dateTime = g.key;
    t.textContent = dayLabel(g.l);
    s.querySelector('ol').append(...g.items);
    return s;
  });
  days[0].before(...sections);
  days.forEach((s) => s.remove());
})();
