// Proves that JavaScript was served with a working content type: turns the status line green.
(function () {
  var el = document.getElementById("script-status");
  if (el) {
    el.textContent = "JavaScript ran: js/app.js was served as " + "application/javascript.";
    el.className = "ok";
  }
})();
