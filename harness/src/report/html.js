// Optional: adds expand/collapse buttons to the html report; the page works without it.
(function () {
  var t = document.querySelector('.tools'); if (!t) return;
  function all(open, onlyBad) {
    document.querySelectorAll('details.case').forEach(function (d) {
      d.open = open && (!onlyBad || !d.classList.contains('pass') && !d.classList.contains('skip'));
    });
  }
  [['Expand problems', function () { all(true, true); }], ['Expand all', function () { all(true, false); }],
   ['Collapse all', function () { all(false, false); }]].forEach(function (b) {
    var e = document.createElement('button'); e.type = 'button'; e.textContent = b[0]; e.onclick = b[1]; t.appendChild(e);
  });
})();
