/* Optline opt-in widget. Usage (one tag, where the form should appear):
 *   <script src="__ORIGIN__/p/__SLUG__/widget.js" data-topics="delivery,billing" data-lang="es" async></script>
 * It inserts an iframe of the hosted page in compact mode, sized to its content (the frame posts its height). Everything the person does happens inside that
 * frame, on the Optline origin: the embedding site never sees the phone number or the choices. */
(function () {
  var script = document.currentScript;
  if (!script) return;
  var params = new URLSearchParams({ embed: '1' });
  var topics = script.getAttribute('data-topics');
  var lang = script.getAttribute('data-lang');
  if (topics) params.set('topics', topics);
  if (lang) params.set('lang', lang);
  var frame = document.createElement('iframe');
  frame.src = '__ORIGIN__/p/__SLUG__/opt-in?' + params.toString();
  frame.title = script.getAttribute('data-title') || '__TITLE__';
  frame.loading = 'lazy';
  frame.referrerPolicy = 'no-referrer';
  frame.style.width = '100%';
  frame.style.border = '0';
  frame.style.height = (parseInt(script.getAttribute('data-height') || '', 10) || 720) + 'px';
  // The frame reports its content's height (web/static/frame-height.js): only from the Optline origin and from
  // this frame, and only a plausible number, so another frame or site cannot resize it.
  var origin = new URL('__ORIGIN__').origin;
  window.addEventListener('message', function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== 'optline:height' || typeof data.height !== 'number') return;
    if (data.height > 0 && data.height < 10000) frame.style.height = Math.ceil(data.height) + 'px';
  });
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
