// Sets data-* attributes on <html> saying what the browser laid out, so a headless browser test
// can read them. The page's Content-Security-Policy allows this script by its sha256 only.
(function () {
  var root = document.documentElement;
  function size(id) {
    var box = document.getElementById(id).getBoundingClientRect();
    return Math.round(box.width) + "x" + Math.round(box.height);
  }
  root.setAttribute("data-graph-size", size("crew-graph"));
  root.setAttribute("data-timeline-size", size("timeline"));
  root.setAttribute("data-graph-nodes", document.querySelectorAll("#crew-graph .node").length);
  root.setAttribute("data-timeline-lanes", document.querySelectorAll("#timeline .lane").length);
})();
