// Optline console: the Import tab. Uploads a CSV file to POST /v1/imports (XMLHttpRequest, so the upload's own
// progress events drive the bar), follows the job at GET /v1/imports/{id} (rows read), says the result in words
// and downloads the refused rows (GET /v1/imports/{id}/rejects). Hidden for read-only keys by the write-only
// class. Its own file beside console.js; it reads the key the console keeps in sessionStorage and writes every
// value with textContent.
'use strict';
(function () {
  var KEY = 'optline.console.apiKey';
  var POLL_MS = 700;
  var $ = function (id) {
    return document.getElementById(id);
  };
  var CODES = {
    INVALID_PHONE: 'the phone number is not a valid number',
    UNKNOWN_TOPIC: 'a topic is not one of your topics',
    TOPIC_ARCHIVED: 'a topic is archived',
    UNKNOWN_TEXT: 'the opt-in text is not registered',
    TEXT_TOPICS_MISMATCH: 'the opt-in text does not cover the topics',
    VALIDATION_FAILED: 'a cell is missing or not in the expected form',
  };
  var job = null; // the job shown: { id, fileName }
  var timer = null;
  var xhr = null;

  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }
  function size(bytes) {
    if (bytes < 1024) return plural(bytes, 'byte', 'bytes');
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + ' KB';
    return (bytes / 1024 / 1024).toFixed(1) + ' MB';
  }
  function headers() {
    return { accept: 'application/json', authorization: 'Bearer ' + sessionStorage.getItem(KEY) };
  }
  // A problem from the API as an Error with its code and detail (the console's alert shows both).
  function problem(status, text) {
    var p = {};
    try {
      p = JSON.parse(text) || {};
    } catch (e) {
      p = {};
    }
    var err = new Error(p.detail || p.title || 'HTTP ' + status);
    err.code = p.code || 'HTTP_' + status;
    err.detail = (p.detail || p.title || String(text || '').slice(0, 300) || 'The request failed.') + ' (HTTP ' + status + ')';
    if (p.errors && p.errors[0] && p.errors[0].field) err.detail += ' Field: ' + p.errors[0].field + '.';
    return err;
  }
  function showError(err) {
    $('alert-code').textContent = err.code || 'ERROR';
    $('alert-detail').textContent = err.detail || err.message || 'The request failed.';
    $('alert').hidden = false;
    $('alert').focus();
  }
  function get(path, type) {
    return fetch(path, {
      headers: type ? { accept: type, authorization: headers().authorization } : headers(),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    }).then(
      function (res) {
        return (type ? res.blob() : res.text()).then(function (body) {
          if (res.ok) return type ? body : JSON.parse(body);
          return (type ? body.text() : Promise.resolve(body)).then(function (t) {
            throw problem(res.status, t);
          });
        });
      },
      function () {
        var err = new Error('Could not reach the server.');
        err.code = 'NETWORK';
        throw err;
      },
    );
  }

  // ---- the form ----------------------------------------------------------------------------------------------
  function kind() {
    return $('import-kind-optouts').checked ? 'opt-outs' : 'consents';
  }
  function onKind() {
    var consents = kind() === 'consents';
    $('import-text-field').hidden = !consents;
    $('import-confirm').disabled = !consents;
    if (!consents) $('import-confirm').checked = false;
  }
  function loadTexts() {
    return get('/v1/texts').then(
      function (r) {
        var sel = $('import-text');
        var keep = sel.value;
        var first = el('option', 'None: every row has text_hash');
        first.value = '';
        sel.replaceChildren(first);
        (r.data || []).forEach(function (t) {
          if (!t.usable) return;
          var o = el('option', t.name + ' v' + t.version + ' (' + t.language + '; ' + t.topicKeys.join(', ') + ')');
          o.value = t.hash;
          sel.appendChild(o);
        });
        sel.value = keep;
        if (sel.value !== keep) sel.value = '';
        // One usable text: the likely choice for a file without text_hash.
        if (!keep && sel.options.length === 2) sel.selectedIndex = 1;
      },
      function () {
        /* the select keeps "None"; the import says which rows need a text */
      },
    );
  }
  function query(file) {
    var q = '?kind=' + kind();
    if (kind() === 'consents' && $('import-text').value) q += '&text=' + encodeURIComponent($('import-text').value);
    var country = $('import-country').value.trim();
    if (country) q += '&defaultCountry=' + encodeURIComponent(country.toUpperCase());
    if ($('import-confirm').checked) q += '&confirm=true';
    if ($('import-dry-run').checked) q += '&dryRun=true';
    return q + '&fileName=' + encodeURIComponent((file.name || 'upload.csv').slice(0, 200));
  }

  // ---- upload --------------------------------------------------------------------------------------------
  function setUpload(loaded, total) {
    var bar = $('import-upload-bar');
    bar.max = total > 0 ? total : 1;
    bar.value = total > 0 ? Math.min(loaded, total) : 1;
    $('import-upload-text').textContent =
      total > 0 ? size(loaded) + ' of ' + size(total) + ' sent (' + Math.round((100 * loaded) / total) + ' %).' : '';
  }
  function upload(ev) {
    ev.preventDefault();
    var file = $('import-file').files[0];
    if (!file) {
      $('import-status').textContent = 'Choose a CSV file first.';
      $('import-file').focus();
      return;
    }
    stop();
    $('alert').hidden = true;
    $('import-result').hidden = true;
    $('import-progress').hidden = false;
    $('import-job-bar').removeAttribute('value');
    $('import-job-text').textContent = 'Waiting for the upload.';
    setUpload(0, file.size);
    $('import-upload').disabled = true;
    $('import-status').textContent = 'Uploading ' + file.name + '…';
    xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/imports' + query(file));
    var h = headers();
    xhr.setRequestHeader('Accept', h.accept);
    xhr.setRequestHeader('Authorization', h.authorization);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) setUpload(e.loaded, e.total);
    };
    xhr.upload.onload = function () {
      setUpload(file.size, file.size);
    };
    xhr.onload = function () {
      var r = xhr;
      xhr = null;
      if (r.status !== 202) {
        $('import-upload').disabled = false;
        $('import-status').textContent = 'The upload was refused.';
        $('import-job-text').textContent = '';
        showError(problem(r.status, r.responseText));
        return;
      }
      setUpload(file.size, file.size);
      var j = JSON.parse(r.responseText);
      job = { id: j.id, fileName: j.fileName };
      $('import-status').textContent = 'Uploaded ' + j.fileName + ': import ' + j.id + ' ' + j.status + '.';
      show(j);
    };
    xhr.onerror = xhr.onabort = function () {
      xhr = null;
      $('import-upload').disabled = false;
      $('import-status').textContent = 'The upload did not finish.';
      showError({ code: 'NETWORK', detail: 'The upload did not reach the server. Try again.' });
    };
    xhr.send(file);
  }

  // ---- the job -------------------------------------------------------------------------------------------
  function show(j) {
    var bar = $('import-job-bar');
    if (j.fileBytes > 0 && j.status !== 'queued' && j.status !== 'receiving') {
      bar.max = j.fileBytes;
      bar.value = j.status === 'done' ? j.fileBytes : Math.min(j.bytesRead, j.fileBytes);
    } else bar.removeAttribute('value');
    var state = {
      receiving: 'Receiving the file',
      queued: 'Waiting to start',
      running: 'Importing',
      done: 'Finished',
      failed: 'Failed',
    };
    $('import-job-text').textContent =
      (state[j.status] || j.status) + ': ' + plural(j.rowsRead, 'row', 'rows') + ' read (' + size(j.bytesRead) + ' of ' + size(j.fileBytes) + ').';
    if (j.status === 'done' || j.status === 'failed') return finish(j);
    timer = setTimeout(poll, POLL_MS);
  }
  function poll() {
    timer = null;
    if (!job || !sessionStorage.getItem(KEY)) return;
    get('/v1/imports/' + encodeURIComponent(job.id)).then(show, function (e) {
      $('import-upload').disabled = false;
      showError(e);
    });
  }
  function summary(j) {
    var c = j.counts;
    var dry = j.dryRun;
    var items = [
      plural(j.rowsRead, 'row', 'rows') + ' read from ' + j.fileName + '.',
      (dry ? 'Would be imported: ' : 'Imported: ') + c.imported + (j.kind === 'opt-outs' ? ' opt-out(s).' : ' row(s).'),
      'Duplicates (already recorded, left as they were): ' + c.duplicates + '.',
    ];
    var codes = Object.keys(j.refusedByCode || {});
    items.push(
      'Refused: ' +
        c.refused +
        (codes.length
          ? ' — ' +
            codes
              .map(function (k) {
                return j.refusedByCode[k] + ' because ' + (CODES[k] || k.toLowerCase().replace(/_/g, ' ')) + ' (' + k + ')';
              })
              .join('; ') +
            '.'
          : '.'),
    );
    items.push(
      (dry ? 'WhatsApp confirmations that would be queued: ' : 'WhatsApp confirmations queued: ') + c.confirmations + '.',
    );
    if (dry) items.push('Dry run: nothing was written.');
    return items;
  }
  function finish(j) {
    $('import-upload').disabled = false;
    var list = $('import-summary');
    if (j.status === 'failed') {
      $('import-status').textContent = 'Import ' + j.id + ' failed.';
      list.replaceChildren(el('li', 'The import stopped: ' + (j.error || 'no reason given') + '.', 'status-opted_out'));
      $('import-rejects').hidden = true;
    } else {
      $('import-status').textContent =
        (j.dryRun ? 'Dry run ' : 'Import ') + j.id + ' finished: ' + j.counts.imported +
        (j.dryRun ? ' would be imported, ' : ' imported, ') + j.counts.refused + ' refused.';
      list.replaceChildren.apply(
        list,
        summary(j).map(function (t, i) {
          return el('li', t, i === 3 && j.counts.refused > 0 ? 'status-opted_out' : null);
        }),
      );
      $('import-rejects').hidden = j.counts.refused === 0;
    }
    $('import-result').hidden = false;
    $('import-result-h').focus();
  }
  function downloadRejects() {
    if (!job) return;
    var id = job.id;
    var btn = $('import-rejects');
    btn.disabled = true;
    get('/v1/imports/' + encodeURIComponent(id) + '/rejects', 'text/csv')
      .then(function (blob) {
        var url = URL.createObjectURL(new Blob([blob], { type: 'text/csv' }));
        var a = document.createElement('a');
        a.href = url;
        a.download = id.replace(/[^A-Za-z0-9_-]/g, '_') + '-rejects.csv';
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () {
          URL.revokeObjectURL(url);
        }, 10000);
      }, showError)
      .then(function () {
        btn.disabled = false;
      });
  }
  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (xhr) {
      xhr.onabort = null;
      xhr.abort();
      xhr = null;
    }
  }
  // Signing out leaves nothing of this business on the page.
  function clear() {
    stop();
    job = null;
    $('import-form').reset();
    onKind();
    $('import-upload').disabled = false;
    $('import-progress').hidden = true;
    $('import-result').hidden = true;
    $('import-summary').replaceChildren();
    $('import-status').textContent = '';
    $('import-text').replaceChildren($('import-text').options[0]);
  }

  function start() {
    var tab = document.querySelector('.tab[data-tab="import-section"]');
    if (!tab) return;
    tab.addEventListener('click', loadTexts);
    $('import-form').addEventListener('submit', upload);
    $('import-kind-consents').addEventListener('change', onKind);
    $('import-kind-optouts').addEventListener('change', onKind);
    $('import-rejects').addEventListener('click', downloadRejects);
    new MutationObserver(function () {
      if ($('app').hidden) clear();
    }).observe($('app'), { attributes: true, attributeFilter: ['hidden'] });
    onKind();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
