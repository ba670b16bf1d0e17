// Optline compliance console. Vanilla script, no dependencies. Every value from the API is written with
// textContent (never as markup); the API key lives in sessionStorage only; nothing is logged.
'use strict';
(function () {
  var KEY = 'optline.console.apiKey';
  var $ = function (id) { return document.getElementById(id); };
  var current = null; // the person shown: { id }

  // ---- helpers -------------------------------------------------------------------------------------------
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  function when(ms) {
    if (ms === null || ms === undefined) return '—';
    var d = new Date(ms);
    return isNaN(d.getTime()) ? String(ms) : d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
  }
  function json(v) { return v === null || v === undefined ? '—' : JSON.stringify(v, null, 2); }
  function cell(content, cls) {
    var td = document.createElement('td');
    if (content instanceof Node) td.appendChild(content); else td.textContent = content === null || content === undefined ? '—' : String(content);
    if (cls) td.className = cls;
    return td;
  }
  function code(text, cls) { return el('code', text === null || text === undefined ? '—' : text, cls); }
  function pre(v) { return el('pre', json(v)); }
  function fill(table, rows, columns, emptyText) {
    var body = $(table).tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      var tr = document.createElement('tr');
      var td = cell(emptyText, 'empty');
      td.colSpan = columns;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    rows.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (c) { tr.appendChild(c instanceof HTMLTableCellElement ? c : cell(c)); });
      body.appendChild(tr);
    });
  }
  // A list the API pages with a cursor: the first page replaces the table, "Load more" appends the next.
  function pagedList(tableId, moreId, path, render, columns, emptyText) {
    var next = null;
    function load(more) {
      var url = path + (more && next ? '&cursor=' + encodeURIComponent(next) : '');
      return api('GET', url).then(function (res) {
        var rows = res.data.map(render);
        if (more) {
          var body = $(tableId).tBodies[0];
          rows.forEach(function (cells) {
            var tr = document.createElement('tr');
            cells.forEach(function (c) { tr.appendChild(c instanceof HTMLTableCellElement ? c : cell(c)); });
            body.appendChild(tr);
          });
        } else {
          fill(tableId, rows, columns, emptyText);
        }
        next = res.nextCursor;
        $(moreId).hidden = !next;
      });
    }
    $(moreId).addEventListener('click', function (ev) { act(ev.currentTarget, function () { return load(true); }); });
    return function () { return load(false); };
  }
  function button(label, onClick, cls) {
    var b = el('button', label, cls);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }
  function personButton(personId) {
    if (!personId) return cell('—');
    var b = button('Open ' + personId, function (ev) {
      act(ev.currentTarget, function () { return openPerson(personId).then(function () { $('person-title').focus(); }); });
    }, 'secondary');
    return cell(b);
  }

  // ---- errors --------------------------------------------------------------------------------------------
  function showError(err) {
    $('alert-code').textContent = err.code || 'ERROR';
    var detail = err.detail || err.message || 'The request failed.';
    if (err.status) detail += ' (HTTP ' + err.status + (err.requestId ? ', request ' + err.requestId : '') + ')';
    $('alert-detail').textContent = detail;
    $('alert').hidden = false;
    $('alert').focus();
  }
  function clearError() { $('alert').hidden = true; }

  // ---- API -----------------------------------------------------------------------------------------------
  function api(method, path, body) {
    var key = sessionStorage.getItem(KEY);
    var headers = { accept: 'application/json' };
    if (key) headers.authorization = 'Bearer ' + key;
    var init = { method: method, headers: headers, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' };
    if (body !== undefined) { headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!res.ok) {
          var p = data && typeof data === 'object' ? data : {};
          var err = new Error(p.detail || p.title || ('HTTP ' + res.status));
          err.code = p.code || 'HTTP_' + res.status;
          err.detail = p.detail || p.title || text.slice(0, 300) || res.statusText;
          err.status = res.status;
          err.requestId = p.requestId || res.headers.get('x-request-id');
          if (res.status === 401) signOut(true);
          throw err;
        }
        return data;
      });
    }, function (e) {
      var err = new Error('Could not reach the server: ' + (e && e.message ? e.message : 'network error'));
      err.code = 'NETWORK';
      err.detail = err.message;
      throw err;
    });
  }
  /** Runs an action with its button disabled; shows any failure in the alert. */
  function act(btn, fn) {
    if (btn) btn.disabled = true;
    return Promise.resolve().then(fn).catch(showError).then(function () {
      // The erase button stays disabled once the person is erased (the re-render decided that).
      if (btn) btn.disabled = btn.id === 'erase' ? !!(current && current.erasedAt) : false;
    });
  }

  // ---- sign in / out -------------------------------------------------------------------------------------
  function showSignedIn(business) {
    $('sign-in').hidden = true;
    $('app').hidden = false;
    $('sign-out').hidden = false;
    $('who').hidden = false;
    $('who').textContent = 'Signed in to ' + (business.displayName || '') + ' (' + (business.slug || business.id || '') + ')';
  }
  function signIn(key) {
    sessionStorage.setItem(KEY, key);
    return api('GET', '/v1/business').then(function (business) {
      showSignedIn(business);
      $('phone').focus();
      return Promise.all([loadEvents(), loadReview(), loadMessages()].map(function (p) { return p.catch(showError); }));
    });
  }
  function signOut(expired) {
    sessionStorage.removeItem(KEY);
    current = null;
    $('app').hidden = true;
    $('sign-out').hidden = true;
    $('who').hidden = true;
    $('who').textContent = '';
    $('sign-in').hidden = false;
    $('api-key').value = '';
    $('person').hidden = true;
    $('person-details').replaceChildren();
    $('lookup-status').textContent = '';
    $('verify-result').replaceChildren();
    ['consent-table', 'history-table', 'events-table', 'review-table', 'messages-table'].forEach(function (t) { $(t).tBodies[0].replaceChildren(); });
    if (!expired) { clearError(); $('api-key').focus(); }
  }

  // ---- person --------------------------------------------------------------------------------------------
  function lookUp(phone) {
    $('lookup-status').textContent = 'Looking up…';
    return api('GET', '/v1/people?phone=' + encodeURIComponent(phone)).then(function (res) {
      var found = res && res.data ? res.data : [];
      if (found.length === 0) {
        $('person').hidden = true;
        current = null;
        $('lookup-status').textContent = 'No person with that number in this business.';
        return;
      }
      return openPerson(found[0].id);
    }, function (e) { $('lookup-status').textContent = ''; throw e; });
  }
  function openPerson(id) {
    return Promise.all([api('GET', '/v1/people/' + encodeURIComponent(id)), api('GET', '/v1/people/' + encodeURIComponent(id) + '/events')]).then(function (r) {
      var p = r[0].person;
      current = { id: p.id, erasedAt: p.erasedAt };
      var dl = $('person-details');
      dl.replaceChildren();
      [['Person', p.id], ['Phone', p.phone], ['WhatsApp id', p.waId], ['BSUID', p.bsuid], ['Country', p.country], ['Language', p.language],
        ['Created', when(p.createdAt)], ['Last inbound', when(p.lastInboundAt)], ['Unreachable since', when(p.unreachableAt)],
        ['Erased', when(p.erasedAt)], ['Events', p.eventCount]].forEach(function (row) {
        dl.appendChild(el('dt', row[0]));
        dl.appendChild(el('dd', row[1] === null || row[1] === undefined ? '—' : row[1]));
      });
      $('person-title').textContent = 'Person ' + (p.phone || p.id) + (p.erasedAt ? ' (erased)' : '');
      fill('consent-table', r[0].consent.map(function (c) {
        return [c.topic, cell(c.status, 'status-' + c.status), when(c.decidedAt), cell(code(c.eventId))];
      }), 4, 'No consent recorded.');
      fill('history-table', r[1].data.map(function (e) {
        return [e.seq, e.type, e.scope + (e.topics && e.topics.length ? ': ' + e.topics.join(', ') : ''), e.channel, e.action,
          when(e.occurredAt), when(e.recordedAt), e.actor, cell(pre(e.evidence)), cell(code(e.textHash, 'hash'))];
      }), 10, 'No events.');
      $('erase').disabled = !!p.erasedAt;
      $('person').hidden = false;
      $('lookup-status').textContent = 'Showing ' + (p.phone || p.id) + ': ' + r[1].data.length + ' event(s).';
    });
  }
  function downloadProof() {
    if (!current) return Promise.resolve();
    var id = current.id;
    return api('GET', '/v1/people/' + encodeURIComponent(id) + '/proof').then(function (proof) {
      var blob = new Blob([JSON.stringify(proof, null, 2)], { type: 'application/json' });
      var url = URL.createObjectURL(blob);
      var a = document.createElement('a');
      a.href = url;
      a.download = 'consent-proof-' + id.replace(/[^A-Za-z0-9_-]/g, '_') + '.json';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    });
  }
  function askErase() {
    if (!current) return;
    $('erase-reason').value = '';
    $('erase-dialog').showModal();
    $('erase-cancel').focus();
  }
  function erase() {
    var id = current && current.id;
    var reason = $('erase-reason').value.trim();
    $('erase-dialog').close();
    if (!id) return Promise.resolve();
    return api('POST', '/v1/people/' + encodeURIComponent(id) + '/erase', reason ? { reason: reason } : {}).then(function (r) {
      return openPerson(id).then(function () {
        $('lookup-status').textContent = 'Erased ' + id + '; ' + r.cancelledMessages + ' queued message(s) cancelled.';
        $('erase').focus();
        return loadEvents();
      });
    });
  }

  // ---- ledger --------------------------------------------------------------------------------------------
  var loadEvents = function () { return Promise.resolve(); };
  function eventRow(e) {
    return [when(e.recordedAt), e.type, e.scope + (e.topics && e.topics.length ? ': ' + e.topics.join(', ') : ''), e.channel, e.action,
      when(e.occurredAt), e.actor, personButton(e.personId)];
  }
  function verify() {
    var out = $('verify-result');
    out.replaceChildren(el('span', 'Verifying…'));
    return api('GET', '/v1/ledger/verify').then(function (r) {
      out.replaceChildren();
      if (r.ok) {
        out.appendChild(el('span', 'ok', 'ok'));
        out.appendChild(document.createTextNode(' — ' + r.events + ' event(s) of ' + r.people + ' person(s) verified.'));
        return;
      }
      out.appendChild(el('span', r.problems.length + ' problem(s) found', 'bad'));
      var ul = el('ul');
      r.problems.forEach(function (p) {
        ul.appendChild(el('li', 'Person ' + p.personId + (p.eventId ? ', event ' + p.eventId : '') + (p.seq !== null ? ' (#' + p.seq + ')' : '') + ': ' + p.problem));
      });
      out.appendChild(ul);
    }, function (e) { out.replaceChildren(); throw e; });
  }

  // ---- review items --------------------------------------------------------------------------------------
  var loadReview = function () { return Promise.resolve(); };
  function reviewRow(it) {
    var actions = el('div', null, 'actions');
    actions.appendChild(button('Opt out', function (ev) { return act(ev.currentTarget, function () { return resolve(it.id, 'opted_out'); }); }, 'danger'));
    actions.appendChild(button('No action', function (ev) { return act(ev.currentTarget, function () { return resolve(it.id, 'no_action'); }); }, 'secondary'));
    return [when(it.createdAt), it.reason, cell(pre(it.detail)), personButton(it.personId), cell(actions)];
  }
  function resolve(id, resolution) {
    return api('POST', '/v1/review-items/' + encodeURIComponent(id) + '/resolve', { resolution: resolution }).then(function () {
      return Promise.all([loadReview(), loadEvents()]).then(function () { $('refresh-review').focus(); });
    });
  }

  // ---- messages ------------------------------------------------------------------------------------------
  var loadMessages = function () { return Promise.resolve(); };
  function messageRow(m) {
    var err = (m.errorCode ? m.errorCode + (m.errorDetail ? ': ' + m.errorDetail : '') : '—') + (m.statusText ? ' ' + m.statusText : '');
    var actions = el('div', null, 'actions');
    actions.appendChild(button('Retry', function (ev) { return act(ev.currentTarget, function () { return decide(m.id, 'retry'); }); }, 'secondary'));
    actions.appendChild(button('Drop', function (ev) { return act(ev.currentTarget, function () { return decide(m.id, 'drop'); }); }, 'danger'));
    return [when(m.createdAt), cell(code(m.id)), m.kind, m.status, m.attempts, err, personButton(m.personId), cell(actions)];
  }
  function decide(id, action) {
    return api('POST', '/v1/messages/' + encodeURIComponent(id) + '/resolve', { action: action }).then(function (r) {
      $('messages-status').textContent = 'Message ' + id + ': ' + r.outcome +
        (r.reasons && r.reasons.length ? ' (' + r.reasons.join(', ') + ')' : '') + '.';
      return loadMessages().then(function () { $('refresh-messages').focus(); });
    });
  }

  // ---- wiring --------------------------------------------------------------------------------------------
  function start() {
    loadEvents = pagedList('events-table', 'more-events', '/v1/events?limit=50', eventRow, 8, 'No events yet.');
    loadReview = pagedList('review-table', 'more-review', '/v1/review-items?status=open&limit=50', reviewRow, 5, 'No open review items.');
    loadMessages = pagedList('messages-table', 'more-messages', '/v1/messages?status=unknown&limit=50', messageRow, 8, 'No messages need a decision.');
    $('alert-close').addEventListener('click', clearError);
    $('sign-in-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var key = $('api-key').value.trim();
      if (!key) return;
      clearError();
      act(ev.submitter, function () { return signIn(key).catch(function (e) { sessionStorage.removeItem(KEY); throw e; }); });
    });
    $('sign-out').addEventListener('click', function () { signOut(false); });
    $('lookup-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError();
      act(ev.submitter, function () { return lookUp($('phone').value.trim()); });
    });
    $('download-proof').addEventListener('click', function (ev) { act(ev.currentTarget, downloadProof); });
    $('erase').addEventListener('click', askErase);
    $('erase-dialog').querySelector('form').addEventListener('submit', function (ev) { ev.preventDefault(); });
    $('erase-cancel').addEventListener('click', function () { $('erase-dialog').close(); $('erase').focus(); });
    $('erase-confirm').addEventListener('click', function () { act($('erase'), erase); });
    $('refresh-events').addEventListener('click', function (ev) { act(ev.currentTarget, loadEvents); });
    $('verify').addEventListener('click', function (ev) { act(ev.currentTarget, verify); });
    $('refresh-review').addEventListener('click', function (ev) { act(ev.currentTarget, loadReview); });
    $('refresh-messages').addEventListener('click', function (ev) { act(ev.currentTarget, loadMessages); });
    var saved = sessionStorage.getItem(KEY);
    if (saved) act(null, function () { return signIn(saved); });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
