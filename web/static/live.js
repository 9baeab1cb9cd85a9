/* live.js -- progressive enhancement: reloads a page holding an element with data-live="SECONDS"
 * (an orchestrated benchmark while it runs) every SECONDS; without JavaScript the page still works,
 * it just needs a manual reload. */
(function () {
  var el = document.querySelector('[data-live]');
  if (!el) return;
  var s = parseFloat(el.getAttribute('data-live'));
  if (!(s >= 1)) s = 2;
  window.setTimeout(function () { window.location.reload(); }, s * 1000);
})();
