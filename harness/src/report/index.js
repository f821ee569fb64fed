// The class page's table sorts by submission or by score when its heading is clicked (again:
// the other way). Inlined into the page; without it the table keeps the order it was written in.
(function () {
  var table = document.querySelector('table.index'); if (!table) return;
  var body = table.tBodies[0];
  table.querySelectorAll('th[data-sort]').forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () {
      var key = th.getAttribute('data-sort');
      // Names A to Z first; scores highest first.
      var asc = th.getAttribute('aria-sort') === 'none' ? key === 'name'
        : th.getAttribute('aria-sort') !== 'ascending';
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
    });
  });
})();
