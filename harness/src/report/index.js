// The class page's table sorts by submission or by score when its heading is clicked (again:
// the other way), and the address remembers it (#sort=score, #sort=name-desc), so a link opens
// the table sorted. Inlined into the page; without it the table keeps the order it was written in.
(function () {
  var table = document.querySelector('table.index'); if (!table) return;
  var body = table.tBodies[0];
  function sortBy(th, asc) {
    var key = th.getAttribute('data-sort');
    table.querySelectorAll('th[data-sort]').forEach(function (o) { o.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.getAttribute('data-' + key), y = b.getAttribute('data-' + key);
      var c = key === 'score' ? parseFloat(x) - parseFloat(y)
        : x.localeCompare(y, undefined, { numeric: true, sensitivity: 'base' });
      if (c !== 0) return asc ? c : -c;
      return a.getAttribute('data-name').localeCompare(b.getAttribute('data-name'));
    });
    rows.forEach(function (r, i) { r.cells[0].textContent = i + 1; body.appendChild(r); });
  }
  // Names A to Z first, scores highest first; a second click turns it round.
  function natural(key) { return key === 'name'; }
  table.querySelectorAll('th[data-sort]').forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () {
      var key = th.getAttribute('data-sort'), now = th.getAttribute('aria-sort');
      var asc = now === 'none' ? natural(key) : now !== 'ascending';
      sortBy(th, asc);
      var hash = '#sort=' + key + (asc === natural(key) ? '' : '-' + (asc ? 'asc' : 'desc'));
      if (history.replaceState) history.replaceState(null, '', hash);
    });
  });
  var m = /^#sort=(name|score)(?:-(asc|desc))?$/.exec(location.hash);
  if (m) {
    var th = table.querySelector('th[data-sort="' + m[1] + '"]');
    sortBy(th, m[2] ? m[2] === 'asc' : natural(m[1]));
  }
})();
