// Optline console: templates and number quality on the overview (GET /v1/templates/health), with a resume button
// for the opt-out guard's own pauses (POST /v1/templates/{name}/resume; hidden for read-only keys by the
// write-only class). Its own file beside console.js; it reads the key the console keeps in sessionStorage and
// writes every value with textContent.
'use strict';
(function () {
  var KEY = 'optline.console.apiKey';
  var $ = function (id) {
    return document.getElementById(id);
  };

  function when(ms) {
    return new Date(ms).toLocaleString(undefined, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    });
  }
  function pct(x) {
    return (x * 100).toFixed(1) + ' %';
  }
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text) n.textContent = text;
    if (cls) n.className = cls;
    return n;
  }
  function call(method, path) {
    var key = sessionStorage.getItem(KEY);
    var init = {
      method: method,
      headers: { accept: 'application/json', authorization: 'Bearer ' + key },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    };
    return fetch(path, init).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error((body && body.code + ': ' + body.detail) || 'HTTP ' + res.status);
        return body;
      });
    });
  }

  // One sentence per stopped template: who stopped it and why, in words.
  function pausedText(t) {
    var name = "Template '" + t.name + "' ";
    if (t.pausedBy === 'opt_out_guard' && t.guard) {
      var g = t.guard;
      return (
        name +
        "is paused by Optline's opt-out guard: " +
        g.optOuts +
        ' opt-out(s) after ' +
        g.notifications +
        ' notification(s) within ' +
        g.windowHours +
        ' h (' +
        pct(g.optOutRate) +
        ', above the ' +
        pct(g.threshold) +
        ' threshold)' +
        (t.pausedAt ? ', since ' + when(t.pausedAt) : '') +
        '.' +
        (t.resumable ? '' : ' Meta also reports it ' + t.metaStatus + ': only Meta can lift that.')
      );
    }
    return (
      name +
      'is ' +
      t.status +
      ' by Meta' +
      (t.metaStatus ? ' (' + t.metaStatus + ')' : '') +
      (t.pausedAt ? ' since ' + when(t.pausedAt) : '') +
      ': its sends are refused until Meta reinstates it; Optline cannot lift it.'
    );
  }
  function numberText(n) {
    return (
      'Number ' +
      n.phone +
      ': quality ' +
      n.event +
      (n.currentLimit ? ', messaging limit ' + n.currentLimit : '') +
      ' (Meta, ' +
      when(n.receivedAt) +
      ').'
    );
  }

  function render(h) {
    var stopped = h.templates.filter(function (t) {
      return t.status !== 'active';
    });
    var list = $('paused-templates');
    list.replaceChildren.apply(
      list,
      stopped.map(function (t) {
        var li = el('li', null, 'status-opted_out');
        li.appendChild(el('span', pausedText(t)));
        if (t.resumable) {
          var b = el('button', "Resume '" + t.name + "'", 'secondary write-only');
          b.type = 'button';
          b.addEventListener('click', function () {
            resume(b, t.name);
          });
          li.appendChild(document.createTextNode(' '));
          li.appendChild(b);
        }
        return li;
      }),
    );
    var nums = $('number-quality');
    nums.replaceChildren.apply(
      nums,
      h.numbers.length
        ? h.numbers.map(function (n) {
            return el(
              'li',
              numberText(n),
              n.event === 'FLAGGED' || n.event === 'DOWNGRADE' ? 'status-opted_out' : null,
            );
          })
        : [el('li', 'Meta has not reported a quality rating for your number yet.', 'muted')],
    );
    $('quality').classList.toggle('attention', stopped.length > 0);
    $('quality-status').textContent = stopped.length
      ? stopped.length + ' template(s) paused: their notifications are refused (TEMPLATE_PAUSED).'
      : h.templates.length + ' template(s) known, none paused.';
  }
  function load() {
    if (!sessionStorage.getItem(KEY)) return Promise.resolve();
    return call('GET', '/v1/templates/health').then(render, function (e) {
      $('quality-status').textContent = 'Could not load template health: ' + e.message;
    });
  }
  function resume(btn, name) {
    btn.disabled = true;
    return call('POST', '/v1/templates/' + encodeURIComponent(name) + '/resume').then(
      function () {
        return load().then(function () {
          $('quality-status').textContent = "Template '" + name + "' resumed: its notifications are allowed again.";
        });
      },
      function (e) {
        btn.disabled = false;
        $('quality-status').textContent = 'Could not resume: ' + e.message;
      },
    );
  }
  function clear() {
    $('paused-templates').replaceChildren();
    $('number-quality').replaceChildren();
    $('quality-status').textContent = '';
  }
  function start() {
    if (!$('quality')) return;
    // The console shows #app once signed in and hides it when signed out: load then, leave nothing after.
    new MutationObserver(function () {
      if ($('app').hidden) clear();
      else load();
    }).observe($('app'), { attributes: true, attributeFilter: ['hidden'] });
    if (!$('app').hidden) load();
    var tab = document.querySelector('.tab[data-tab="overview-section"]');
    if (tab) tab.addEventListener('click', load);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
