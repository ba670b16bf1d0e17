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
    return isNaN(d.getTime()) ? String(ms) : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
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
    var next = null, base = null;
    function load(more) {
      if (!more || base === null) base = typeof path === 'function' ? path() : path;
      var url = base + (more && next ? '&cursor=' + encodeURIComponent(next) : '');
      var table = $(tableId);
      table.setAttribute('aria-busy', 'true');
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
      }).finally(function () { table.removeAttribute('aria-busy'); });
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
    return Promise.all([api('GET', '/v1/business'), api('GET', '/v1/me').catch(function () { return null; })]).then(function (r) {
      showSignedIn(r[0]);
      applyRole(r[1]);
      showTab('overview-section');
      return Promise.all([loadTopics(), loadEvents(), loadReview(), loadMessages(), loadOverview()].map(function (p) { return p.catch(showError); }));
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

  // ---- role, tabs ----------------------------------------------------------------------------------------
  var canWrite = true;
  function applyRole(me) {
    canWrite = !me || (me.permissions || []).indexOf('write') >= 0;
    document.body.classList.toggle('read-only', !canWrite);
    $('role-note').hidden = canWrite;
    $('role-note').textContent = canWrite ? '' : 'This key may look, export and verify (role: ' + (me && me.role) + '); actions that change records are not shown.';
    $('who').textContent += me && me.role ? ' · role ' + me.role : '';
  }
  function showTab(id) {
    Array.prototype.forEach.call(document.querySelectorAll('.task'), function (s) { s.hidden = s.id !== id; });
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (b) {
      if (b.getAttribute('data-tab') === id) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
    });
  }

  // ---- words ---------------------------------------------------------------------------------------------
  var topics = {}; // key -> name, and id -> key
  var topicIds = {};
  function loadTopics() {
    return api('GET', '/v1/topics').then(function (r) {
      var list = (r && (r.data || r)) || [];
      var sel = $('f-topic');
      var opt = function (label, value) { var o = el('option', label); o.value = value; return o; };
      sel.replaceChildren(opt('Any', ''));
      list.forEach(function (t) { topics[t.key] = t.name || t.key; topicIds[t.id] = t.key; sel.appendChild(opt(t.name || t.key, t.key)); });
    });
  }
  function topicName(k) { return topics[k] || k; }
  var CHANNEL = { web: 'on the web page', whatsapp: 'on WhatsApp', sms: 'by SMS', email: 'by email', ivr: 'on a phone call', api: 'through the API', import: 'by import', console: 'in the console' };
  var TYPE = { opt_in: 'Opted in', opt_out: 'Opted out', confirmed: 'Confirmed on WhatsApp', confirmation_failed: 'The WhatsApp confirmation could not be delivered', erased: 'Erased', number_changed: 'Changed number' };
  var ACTION = { checked_box: 'ticked', staff_request: 'asked staff', keyword: 'sent a keyword', button: 'pressed a button', replied_yes: 'replied YES', link_click: 'clicked the link', preference_page: 'used the preference page' };
  function words(s) { return String(s || '').replace(/_/g, ' '); }
  function browserOf(ua) {
    if (!ua) return null;
    var b = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : null;
    var os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : null;
    return b && os ? b + ' on ' + os : b || os || ua.slice(0, 60);
  }
  // An `expired` event is the business's rule ending a consent (never the person's opt-out): say which and why.
  function expirySentence(e) {
    var ev = e.evidence || {};
    var what = (e.topics || []).map(function (k) { return "'" + topicName(k) + "'"; }).join(', ') || 'the consent';
    var days = typeof ev.days === 'number' ? ev.days + ' days' : 'the set time';
    return e.action === 'pending_expired'
      ? 'Consent to ' + what + ' expired: it was never confirmed on WhatsApp within ' + days + ' (not an opt-out; a new opt-in is needed)'
      : 'Consent to ' + what + ' lapsed after ' + days + ', the validity the business set (not an opt-out; a new opt-in renews it)';
  }
  function sentence(e) {
    if (e.type === 'expired') return expirySentence(e);
    var parts = [(TYPE[e.type] || words(e.type)) + ' ' + (CHANNEL[e.channel] || words(e.channel))];
    var what = e.scope === 'all' ? 'every topic' : (e.topics || []).map(function (k) { return "'" + topicName(k) + "'"; }).join(', ');
    parts.push((ACTION[e.action] || words(e.action)) + (what ? ' ' + what : ''));
    var ev = e.evidence || {};
    if (ev.ip) parts.push('from ' + ev.ip);
    if (ev.userAgent) parts.push(browserOf(ev.userAgent));
    if (ev.ticket) parts.push('ticket ' + ev.ticket);
    if (ev.reason) parts.push('reason: ' + ev.reason);
    return parts.join(', ');
  }
  var STATUS = { opted_in: 'Agreed to receive', opted_out: 'Does not want', pending: 'Agreed, waiting for WhatsApp confirmation for', expired: 'Consent expired (not an opt-out) for' };

  // ---- overview ------------------------------------------------------------------------------------------
  var chart = null;
  function day(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function loadOverview() {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    var to = Date.now() + 86400000, from = to - 31 * 86400000;
    var q = 'from=' + day(from) + '&to=' + day(to) + '&bucket=day&tz=' + encodeURIComponent(tz);
    return Promise.all([
      api('GET', '/v1/reports/events?' + q).catch(function () { return null; }),
      api('GET', '/v1/reports/events?' + q + '&groupBy=channel').catch(function () { return null; }),
      api('GET', '/v1/reports/totals').catch(function () { return null; }),
      api('GET', '/v1/review-items?status=open&limit=200'),
      api('GET', '/v1/messages?status=unknown&limit=200'),
    ]).then(function (r) {
      var series = r[0] && r[0].series && r[0].series[0] ? r[0].series[0].points : [];
      drawChart(series);
      fill('channel-table', (r[1] && r[1].series || []).map(function (s) {
        var sum = function (k) { return s.points.reduce(function (a, p) { return a + p[k]; }, 0); };
        return [CHANNEL[s.key] ? words(s.key) : (s.key || '—'), sum('optIns'), sum('optOuts')];
      }), 3, 'Nothing in the last 30 days.');
      fill('totals-table', (r[2] && r[2].topics || []).map(function (t) { return [topicName(t.topic), t.optedIn, t.optedOut, t.pending]; }), 4, 'No consent recorded yet.');
      $('count-people').textContent = r[2] ? String(r[2].people) : '–';
      $('count-review').textContent = String(r[3].data.length) + (r[3].nextCursor ? '+' : '');
      $('count-messages').textContent = String(r[4].data.length) + (r[4].nextCursor ? '+' : '');
    });
  }
  function drawChart(points) {
    if (typeof window.Chart !== 'function') { $('chart-caption').textContent = 'The chart could not be drawn.'; return; }
    var labels = points.map(function (p) { return new Date(p.start).toLocaleDateString(undefined, { month: 'short', day: 'numeric' }); });
    var data = { labels: labels, datasets: [
      { label: 'Opt-ins', data: points.map(function (p) { return p.optIns; }), borderColor: '#1b6e20', backgroundColor: '#1b6e20' },
      { label: 'Opt-outs', data: points.map(function (p) { return p.optOuts; }), borderColor: '#a4161a', backgroundColor: '#a4161a' },
    ] };
    if (chart) { chart.data = data; chart.update(); return; }
    chart = new window.Chart($('chart-events'), { type: 'line', data: data, options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    $('chart-caption').textContent = 'Opt-ins and opt-outs per day, in your time zone: ' + points.reduce(function (a, p) { return a + p.optIns; }, 0) + ' opt-in(s), ' + points.reduce(function (a, p) { return a + p.optOuts; }, 0) + ' opt-out(s).';
  }

  // ---- person --------------------------------------------------------------------------------------------
  function lookUp(phone) {
    $('lookup-status').textContent = 'Looking up…';
    $('results').replaceChildren();
    return api('GET', '/v1/people?q=' + encodeURIComponent(phone)).then(function (res) {
      var found = res && res.data ? res.data : [];
      if (found.length === 0) {
        $('person').hidden = true;
        current = null;
        $('lookup-status').textContent = 'Nobody in this business matches "' + phone + '".';
        return;
      }
      if (found.length > 1) {
        $('lookup-status').textContent = found.length + ' people match.';
        found.forEach(function (p) { var li = el('li'); li.appendChild(personButton(p.id).firstChild); li.appendChild(document.createTextNode(' ' + (p.phone || p.waId || p.bsuid || ''))); $('results').appendChild(li); });
        return;
      }
      return openPerson(found[0].id);
    }, function (e) { $('lookup-status').textContent = ''; throw e; });
  }
  function openPerson(id) {
    var eid = encodeURIComponent(id);
    return Promise.all([api('GET', '/v1/people/' + eid), api('GET', '/v1/people/' + eid + '/events'), api('GET', '/v1/people/' + eid + '/proof').catch(function () { return null; }),
      api('GET', '/v1/messages?limit=200&personId=' + eid).catch(function () { return { data: [] }; })]).then(function (r) {
      var p = r[0].person;
      showTab('person-section');
      $('pref-box').hidden = true;
      $('consent-words').replaceChildren.apply($('consent-words'), r[0].consent.length ? r[0].consent.map(function (c) {
        return el('li', (STATUS[c.status] || words(c.status)) + ' ' + topicName(c.topic) + ' (since ' + when(c.decidedAt) + ')', 'status-' + c.status);
      }) : [el('li', 'No consent recorded.')]);
      $('timeline').replaceChildren.apply($('timeline'), r[1].data.map(function (e) {
        var li = el('li');
        li.appendChild(el('time', when(e.occurredAt)));
        li.appendChild(el('span', ' ' + sentence(e) + '.'));
        if (e.textHash) li.appendChild(el('span', ' Shown the text below (' + e.textHash.slice(0, 12) + '…).', 'muted'));
        return li;
      }));
      var texts = (r[2] && r[2].texts) || [];
      $('texts').replaceChildren.apply($('texts'), texts.length ? texts.map(function (t) {
        var f = el('figure', null, 'text');
        f.appendChild(el('blockquote', t.body || t.text || ''));
        f.appendChild(el('figcaption', (t.name || 'text') + ' · ' + (t.language || '') + ' · hash ' + t.hash, 'muted'));
        return f;
      }) : [el('p', 'No text was shown (no opt-in with a text).', 'muted')]);
      $('person-messages').replaceChildren.apply($('person-messages'), r[3].data.length ? r[3].data.map(function (m) {
        var what = m.kind === 'confirmation' ? 'Confirmation' : (m.template && m.template.name ? "Template '" + m.template.name + "'" : words(m.kind));
        var topic = m.topicId ? topicName(topicIds[m.topicId] || m.topicId) : null;
        return el('li', when(m.createdAt) + ': ' + what + (topic ? ' about ' + topic : '') + '. Allowed by the send gate when queued' + (topic ? ' (consent to ' + topic + ')' : '') + ' and checked again before sending. ' + (m.statusText || m.status));
      }) : [el('li', 'No messages.')]);
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
  function prefLink() {
    if (!current) return Promise.resolve();
    return api('POST', '/v1/people/' + encodeURIComponent(current.id) + '/preference-link').then(function (l) {
      $('pref-url').value = l.url;
      $('pref-exp').textContent = when(l.expiresAt);
      $('pref-status').textContent = '';
      $('pref-box').hidden = false;
      $('pref-url').focus();
      $('pref-url').select();
    });
  }
  function copyPref() {
    var v = $('pref-url').value;
    var done = function () { $('pref-status').textContent = 'Copied.'; };
    if (navigator.clipboard && navigator.clipboard.writeText) return navigator.clipboard.writeText(v).then(done, function () { $('pref-url').select(); document.execCommand('copy'); done(); });
    $('pref-url').select(); document.execCommand('copy'); done();
    return Promise.resolve();
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
  function filterQuery() {
    var q = '';
    var add = function (k, v) { if (v) q += '&' + k + '=' + encodeURIComponent(v); };
    add('type', $('f-type').value); add('channel', $('f-channel').value); add('topic', $('f-topic').value);
    if ($('f-from').value) add('from', String(new Date($('f-from').value + 'T00:00').getTime()));
    if ($('f-to').value) add('to', String(new Date($('f-to').value + 'T00:00').getTime() + 86400000));
    return q;
  }
  function csvCell(v) { var s = v === null || v === undefined ? '' : String(v); return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? '"' + (/^[=+\-@]/.test(s) ? "'" : '') + s.replace(/"/g, '""') + '"' : s; }
  function downloadCsv() {
    var rows = [['occurred_at', 'recorded_at', 'type', 'scope', 'topics', 'channel', 'action', 'actor', 'person_id', 'event_id', 'hash']];
    var pages = 0;
    function next(cursor) {
      return api('GET', '/v1/events?limit=200' + filterQuery() + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '')).then(function (r) {
        r.data.forEach(function (e) { rows.push([new Date(e.occurredAt).toISOString(), new Date(e.recordedAt).toISOString(), e.type, e.scope, (e.topics || []).join(' '), e.channel, e.action, e.actor, e.personId, e.id, e.hash]); });
        if (r.nextCursor && ++pages < 500) return next(r.nextCursor);
      });
    }
    return next(null).then(function () {
      var blob = new Blob([rows.map(function (r) { return r.map(csvCell).join(','); }).join('\r\n') + '\r\n'], { type: 'text/csv' });
      var url = URL.createObjectURL(blob);
      var a = document.createElement('a');
      a.href = url; a.download = 'ledger.csv';
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    });
  }
  function verify() {
    var out = $('verify-result');
    out.replaceChildren(el('span', 'Verifying…'));
    return api('GET', '/v1/ledger/verify').then(function (r) {
      out.replaceChildren();
      $('last-verify').textContent = 'Ledger last verified ' + when(Date.now()) + ': ' + (r.ok ? 'intact' : r.problems.length + ' problem(s)') + '.';
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
    actions.appendChild(button('Opt out', function (ev) { return act(ev.currentTarget, function () { return resolve(it.id, 'opted_out'); }); }, 'danger write-only'));
    actions.appendChild(button('No action', function (ev) { return act(ev.currentTarget, function () { return resolve(it.id, 'no_action'); }); }, 'secondary write-only'));
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
    actions.appendChild(button('Retry', function (ev) { return act(ev.currentTarget, function () { return decide(m.id, 'retry'); }); }, 'secondary write-only'));
    actions.appendChild(button('Drop', function (ev) { return act(ev.currentTarget, function () { return decide(m.id, 'drop'); }); }, 'danger write-only'));
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
    loadEvents = pagedList('events-table', 'more-events', function () { return '/v1/events?limit=50' + filterQuery(); }, eventRow, 8, 'No events match.');
    $('filter-form').addEventListener('submit', function (ev) { ev.preventDefault(); act(ev.submitter || null, loadEvents); });
    $('csv').addEventListener('click', function (ev) { act(ev.currentTarget, downloadCsv); });
    $('print-proof').addEventListener('click', function () { window.print(); });
    $('pref-link').addEventListener('click', function (ev) { act(ev.currentTarget, prefLink); });
    $('pref-copy').addEventListener('click', function (ev) { act(ev.currentTarget, copyPref); });
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (b) {
      b.addEventListener('click', function () { showTab(b.getAttribute('data-tab')); var h = document.querySelector('#' + b.getAttribute('data-tab') + ' h2'); if (h) { h.tabIndex = -1; h.focus(); } });
    });
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
