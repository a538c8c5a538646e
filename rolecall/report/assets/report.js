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
  // drawn elements that reach outside their picture's view box (they would be cut off)
  function overflow(id) {
    var svg = document.getElementById(id), view = svg.viewBox.baseVal, count = 0;
    svg.querySelectorAll("path, rect, text, line").forEach(function (el) {
      if (el.closest("defs")) return;
      var box = el.getBBox();
      if (box.x < view.x - 0.5 || box.y < view.y - 0.5 || box.x + box.width > view.x + view.width + 0.5 ||
          box.y + box.height > view.y + view.height + 0.5) count++;
    });
    return count;
  }
  root.setAttribute("data-graph-overflow", overflow("crew-graph"));
  root.setAttribute("data-timeline-overflow", overflow("timeline"));
})();
