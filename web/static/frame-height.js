/* Optline widget frame: tells the page that embeds it how tall its content is, so the widget script can size
 * the iframe (no cut-off submit button, no empty space). Only a number is sent; the page works without it. */
(function () {
  if (window.parent === window) return;
  var last = 0;
  function report() {
    var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h === last) return;
    last = h;
    // The embedding page's origin is not known here; the message carries nothing but the height.
    window.parent.postMessage({ type: 'optline:height', height: h }, '*');
  }
  if (typeof ResizeObserver === 'function') new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener('load', report);
  report();
})();
