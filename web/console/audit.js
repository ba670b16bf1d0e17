// Optline console: the audit log tab (GET /v1/audit-log). Its own file beside console.js; it reads the key the
// console keeps in sessionStorage and writes every value with textContent.
'use strict';
(function () {
  var KEY = 'optline.console.apiKey';
  var $ = function (id) {
    return document.getElementById(id);
  };
  var ACTIONS = {
    'person.erase': 'Erased a person',
    'review.resolve': 'Resolved a review item',
    'message.resolve': 'Decided a message',
    'key.create': 'Created a key',
    'key.revoke': 'Revoked a key',
    'topic.create': 'Created a topic',
    'topic.names': 'Named a topic in other languages',
    'topic.archive': 'Archived a topic',
    'text.register': 'Registered an opt-in text',
    'business.update': 'Changed settings',
    'proof.download': 'Downloaded a proof',
  };
  var next = null;

  function when(ms) {
    return new Date(ms).toLocaleString(undefined, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    });
  }
  function cell(text, tag) {
    var c = document.createElement(tag || 'td');
    c.textContent = text === null || text === undefined ? '—' : String(text);
    return c;
  }
  function detailText(d) {
    var keys = Object.keys(d || {});
    return keys.length
      ? keys
          .map(function (k) {
            return k + ': ' + (typeof d[k] === 'object' ? JSON.stringify(d[k]) : String(d[k]));
          })
          .join('; ')
      : '—';
  }
  function get(path) {
    var key = sessionStorage.getItem(KEY);
    return fetch(path, {
      headers: { accept: 'application/json', authorization: 'Bearer ' + key },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error((body && body.code + ': ' + body.detail) || 'HTTP ' + res.status);
        return body;
      });
    });
  }
  function load(more) {
    var status = $('audit-status');
    status.textContent = 'Loading…';
    var url =
      '/v1/audit-log?limit=50' +
      ($('audit-action').value ? '&action=' + encodeURIComponent($('audit-action').value) : '') +
      (more && next ? '&cursor=' + encodeURIComponent(next) : '');
    return get(url).then(
      function (r) {
        var body = $('audit-table').tBodies[0];
        if (!more) body.replaceChildren();
        r.data.forEach(function (e) {
          var tr = document.createElement('tr');
          tr.appendChild(cell(when(e.at)));
          tr.appendChild(cell(ACTIONS[e.action] ? ACTIONS[e.action] + ' (' + e.action + ')' : e.action));
          tr.appendChild(cell(e.target));
          tr.appendChild(cell(e.actor));
          tr.appendChild(cell(detailText(e.detail)));
          body.appendChild(tr);
        });
        next = r.nextCursor;
        $('more-audit').hidden = !next;
        status.textContent = body.rows.length
          ? body.rows.length + ' action(s) shown, newest first.'
          : 'No actions recorded yet.';
      },
      function (e) {
        status.textContent = 'Could not load the audit log: ' + e.message;
      },
    );
  }
  function start() {
    var tab = document.querySelector('.tab[data-tab="audit-section"]');
    if (!tab) return;
    tab.addEventListener('click', function () {
      load(false);
    });
    $('audit-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      load(false);
    });
    $('more-audit').addEventListener('click', function () {
      load(true);
    });
    // Signing out leaves nothing of this business on the page.
    $('sign-out').addEventListener('click', function () {
      $('audit-table').tBodies[0].replaceChildren();
      $('audit-status').textContent = '';
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
