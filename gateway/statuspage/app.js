/* app.js - the status page's behaviour: poll /status.json every second and /history.json every
   minute, and draw them.  Plain DOM and SVG, no libraries (the page must work offline). */
"use strict";

(function () {
  var SVGNS = "http://www.w3.org/2000/svg";
  var IDLE_W = 20;           /* below this a flow is shown as idle */
  var lastOk = 0;            /* Date.now() of the last good status */
  var history = [];

  function $(id) { return document.getElementById(id); }

  function num(v) { return typeof v === "number" && isFinite(v) ? v : 0; }

  /* 850 W, 4.2 kW, 12 kW: the precision a household reads at a glance */
  function watts(w) {
    var a = Math.abs(w);
    if (a < 1000) return Math.round(a) + " W";
    if (a < 10000) return (a / 1000).toFixed(1) + " kW";
    return Math.round(a / 1000) + " kW";
  }

  function hhmm(t) {
    var d = new Date(t * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function setText(id, s) { var e = $(id); if (e && e.textContent !== s) e.textContent = s; }

  /* An arrowhead per flow and direction, so the direction reads without the animation. */
  function addMarkers() {
    var defs = document.querySelector("#flow defs");
    ["pv", "grid", "bat", "ev"].forEach(function (name) {
      var color = getComputedStyle(document.documentElement).getPropertyValue("--" + name).trim();
      [["f", "M0 0 L10 5 L0 10 z"], ["r", "M10 0 L0 5 L10 10 z"]].forEach(function (m) {
        var mk = el("marker", { id: "arrow-" + name + "-" + m[0], viewBox: "0 0 10 10", refX: "5", refY: "5",
                                markerWidth: "16", markerHeight: "16", markerUnits: "userSpaceOnUse",
                                orient: "auto" });
        mk.appendChild(el("path", { d: m[1], fill: color }));
        defs.appendChild(mk);
      });
    });
  }

  /* direction: 1 = from the outer node to the house, -1 = from the house out, 0 = idle */
  function setFlow(name, w, dir) {
    var line = $("flow-" + name);
    var idle = Math.abs(w) < IDLE_W;
    line.setAttribute("class", "flowline " + name + (idle ? "" : dir > 0 ? " fwd" : " rev"));
    if (idle) line.removeAttribute("marker-mid");
    else line.setAttribute("marker-mid", "url(#arrow-" + name + "-" + (dir > 0 ? "f" : "r") + ")");
    line.style.strokeWidth = String(3 + Math.min(7, Math.abs(w) / 1000));
  }

  function renderStatus(s) {
    var site = num(s.site && s.site.power_w), pv = num(s.pv && s.pv.power_w);
    var bat = num(s.battery && s.battery.power_w), soc = num(s.battery && s.battery.soc_pct);
    var ev = num(s.ev && s.ev.power_w);
    /* the site balances: site + pv + battery = house + ev */
    var house = s.house && typeof s.house.power_w === "number" ? s.house.power_w : site + pv + bat - ev;

    setText("pv-w", watts(pv));
    setText("grid-w", watts(site));
    setText("grid-label", Math.abs(site) < IDLE_W ? "Grid" : site > 0 ? "Grid \u00b7 import" : "Grid \u00b7 export");
    setText("bat-w", watts(bat));
    setText("ev-w", watts(ev));
    setText("house-w", watts(house));
    setText("soc", Math.round(soc) + "%");
    var ring = 2 * Math.PI * 54;
    $("soc-ring").style.strokeDasharray = (ring * Math.max(0, Math.min(100, soc)) / 100).toFixed(1) + " 400";
    var fill = $("soc-fill"), h = 22 * Math.max(0, Math.min(100, soc)) / 100;
    fill.setAttribute("y", String(7 + 22 - h));
    fill.setAttribute("height", String(h));

    setFlow("pv", pv, 1);
    setFlow("grid", site, site > 0 ? 1 : -1);
    setFlow("bat", bat, bat > 0 ? 1 : -1);
    setFlow("ev", ev, -1);

    if (typeof s.time === "number") {
      var d = new Date(s.time * 1000);
      setText("clock", d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" }) +
              " " + d.toLocaleTimeString());
    }

    renderControls(Array.isArray(s.active_controls) ? s.active_controls : []);

    var gw = s.gateway || {};
    var mode = $("mode");
    mode.textContent = gw.mode || "\u2014";
    mode.className = "mode " + String(gw.mode || "").replace(/[^a-z-]/g, "");
    setText("reason", gw.reason || "");
    setText("price", typeof s.price === "number" ? s.price.toFixed(s.price < 1 ? 3 : 2) : "no price signal");
  }

  function describe(c) {
    var kinds = {
      opModExpLimW: "Export limit", opModImpLimW: "Import limit", opModMaxLimW: "Output limit",
      opModTargetW: "Battery target", opModFixedW: "Fixed output", opModConnect: "Connect",
      opModEnergize: "Energize", SIMPLE: "Demand response level", ELECTRICITY_PRICE: "Price"
    };
    var what = kinds[c.kind] || c.kind || "Utility control";
    if (typeof c.value === "number") {
      what += " " + (/W$/.test(c.kind || "") ? watts(c.value) : c.kind === "opModMaxLimW" || c.kind === "opModFixedW" ?
              c.value + "%" : String(c.value));
    }
    return what;
  }

  function optOut(id, button) {
    button.disabled = true;
    fetch("opt-out", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Gridedge-Action": "opt-out" },
      body: "event=" + encodeURIComponent(String(id))
    }).then(function (r) {
      return r.json().then(function (j) {
        button.textContent = r.ok ? "Opted out" : (j && j.error ? j.error : "Failed");
      });
    }).catch(function () {
      button.textContent = "Failed";
      button.disabled = false;
    });
  }

  function renderControls(list) {
    var ul = $("controls");
    var key = JSON.stringify(list);
    if (ul.getAttribute("data-key") === key) return;
    ul.setAttribute("data-key", key);
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    if (!list.length) {
      var li = document.createElement("li");
      li.className = "none";
      li.textContent = "No utility control in force \u2014 the local price policy applies.";
      ul.appendChild(li);
      return;
    }
    list.forEach(function (c) {
      var li = document.createElement("li");
      var badge = document.createElement("span");
      badge.className = "badge " + (c.source === "oadr" ? "oadr" : "sep");
      badge.textContent = c.source === "oadr" ? "OpenADR" : "2030.5";
      var id = document.createElement("span");
      id.className = "id";
      id.textContent = String(c.id);
      var what = document.createElement("div");
      what.className = "what";
      what.textContent = describe(c);
      li.appendChild(badge);
      li.appendChild(id);
      li.appendChild(what);
      if (c.source === "oadr") {
        /* the household may opt out of an OpenADR event (POST /opt-out, with the action header
           that a page of another site cannot send) */
        var out = document.createElement("button");
        out.className = "optout";
        out.type = "button";
        out.textContent = "Opt out";
        out.addEventListener("click", function () { optOut(c.id, out); });
        li.appendChild(out);
      }
      if (typeof c.end === "number") {
        var when = document.createElement("div");
        when.className = "when";
        when.textContent = (typeof c.start === "number" ? hhmm(c.start) + " \u2013 " : "until ") + hhmm(c.end);
        li.appendChild(when);
      }
      ul.appendChild(li);
    });
  }

  function el(name, attrs, text) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderChart() {
    var svg = $("chart");
    var W = Math.max(300, Math.round(svg.getBoundingClientRect().width || 1000)), H = 230;
    var L = 52, R = 44, T = 10, B = 26;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    $("chart-empty").hidden = history.length > 0;
    var now = history.length ? history[history.length - 1].time : Date.now() / 1000;
    var t0 = now - 86400;
    var lo = 0, hi = 1000;
    history.forEach(function (p) {
      ["site_w", "pv_w", "battery_w", "ev_w"].forEach(function (k) {
        lo = Math.min(lo, num(p[k])); hi = Math.max(hi, num(p[k]));
      });
    });
    /* round the range to whole kW so the gridlines land on readable numbers */
    var step = hi - lo > 8000 ? 2000 : 1000;
    lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
    function x(t) { return L + (t - t0) / 86400 * (W - L - R); }
    function y(w) { return T + (hi - w) / (hi - lo) * (H - T - B); }
    function ysoc(p) { return T + (100 - p) / 100 * (H - T - B); }

    for (var w = lo; w <= hi; w += step) {
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(w), y2: y(w), "class": w === 0 ? "zero" : "axis" }));
      svg.appendChild(el("text", { x: L - 8, y: y(w) + 4, "text-anchor": "end" }, (w / 1000) + " kW"));
    }
    [0, 50, 100].forEach(function (p) {
      svg.appendChild(el("text", { x: W - R + 8, y: ysoc(p) + 4 }, p + "%"));
    });
    /* a label every 3 hours on the hour */
    var first = Math.ceil(t0 / 3600) * 3600;
    for (var t = first; t <= now; t += 3600) {
      if (new Date(t * 1000).getHours() % 3) continue;
      svg.appendChild(el("line", { x1: x(t), x2: x(t), y1: T, y2: H - B, "class": "axis" }));
      svg.appendChild(el("text", { x: x(t), y: H - 6, "text-anchor": "middle" }, hhmm(t)));
    }
    if (!history.length) return;
    var area = "M" + x(history[0].time) + " " + ysoc(0);
    history.forEach(function (p) { area += " L" + x(p.time).toFixed(1) + " " + ysoc(num(p.soc_pct)).toFixed(1); });
    area += " L" + x(history[history.length - 1].time) + " " + ysoc(0) + " Z";
    svg.appendChild(el("path", { d: area, "class": "socarea" }));
    [["site_w", "grid"], ["pv_w", "pv"], ["battery_w", "bat"], ["ev_w", "ev"]].forEach(function (s) {
      var d = "";
      history.forEach(function (p, i) {
        d += (i ? " L" : "M") + x(p.time).toFixed(1) + " " + y(num(p[s[0]])).toFixed(1);
      });
      svg.appendChild(el("path", { d: d, "class": "series " + s[1] }));
    });
  }

  function setConn() {
    var conn = $("conn"), age = (Date.now() - lastOk) / 1000;
    if (lastOk && age < 3) {
      conn.className = "conn live";
      setText("conn-text", "live");
    } else {
      conn.className = "conn stale";
      setText("conn-text", lastOk ? "no update for " + Math.round(age) + " s" : "connecting\u2026");
    }
  }

  function pollStatus() {
    fetch("status.json", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) { lastOk = Date.now(); renderStatus(s); })
      .catch(function () {})
      .then(function () { setConn(); setTimeout(pollStatus, 1000); });
  }

  function pollHistory() {
    fetch("history.json", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (h) { if (Array.isArray(h)) { history = h; renderChart(); } })
      .catch(function () {})
      .then(function () { setTimeout(pollHistory, 60000); });
  }

  addMarkers();
  window.addEventListener("resize", renderChart);
  renderChart();
  pollStatus();
  pollHistory();
})();
