/* The exchange monitor: each card loads its own part from /console/api/monitor/… (the viewer's scope). */
"use strict";
(function () {
  const {config, t, formatNumber, getJson, element: text, when} = window.HIE;
  const lang = config.lang;
  const COUNTS = ["received", "accepted", "refused", "processed", "rejected", "pending"];


  function table(headers, rows, className) {
    const element = text("table", null, {"class": "cells " + (className || "")});
    const head = element.createTHead().insertRow();
    for (const label of headers) head.appendChild(text("th", label));
    const body = element.createTBody();
    for (const row of rows) body.appendChild(row);
    return element;
  }

  function row(cells, data) {
    const tr = document.createElement("tr");
    for (const [name, value] of Object.entries(data || {})) tr.dataset[name] = value === null ? "" : value;
    for (const cell of cells) tr.appendChild(cell instanceof Node ? cell : text("td", cell));
    return tr;
  }

  function count(name, value) {
    return text("td", formatNumber(value, "", lang), {"class": "num", "data-count": name, "data-value": String(value)});
  }


  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    if (h) return `${h}h ${m}m`;
    if (m) return `${m}m ${s % 60}s`;
    return `${s}${t("monitor.seconds")}`;
  }

  function period() {
    const range = document.getElementById("monitor-range").value;
    if (range === "7d") {
      return new URLSearchParams({grain: "day", since: new Date(Date.now() - 7 * 86400e3).toISOString()});
    }
    return new URLSearchParams({grain: "hour"});
  }

  async function card(id, url, draw) {
    const element = document.getElementById(id);
    if (!element) return;
    const status = element.querySelector(".status");
    element.dataset.state = "loading";
    try {
      const data = await getJson(url);
      status.textContent = "";
      draw(element, data);
      element.dataset.state = "loaded";
    } catch (error) {
      status.textContent = t("chart.failed") + " (" + error.message + ")";
      element.dataset.state = "failed";
    }
  }

  /** A label of the page's language, or ``fallback`` where the table has none (a value it does not know). */
  function label(key, fallback) {
    const found = (config.labels || {})[key];
    return found === undefined ? fallback : found;
  }

  /** The fault table's meaning of a code in the page's language (the API gives both; the code stays a code). */
  function meaningOf(entry) {
    return lang === "zh" ? (entry.message_zh || entry.message) : entry.message;
  }

  function memberName(member) {
    return member === null ? t("monitor.member.unknown") : member;
  }

  function drawTraffic(element, data) {
    const rows = data.rows.map((entry) => row(
      [text("td", memberName(entry.member)), text("td", when(entry.start)), ...COUNTS.map((n) => count(n, entry[n]))],
      {member: entry.member === null ? "" : entry.member, start: entry.start}));
    rows.push(row([text("td", t("monitor.total")), text("td", ""), ...COUNTS.map((n) => count(n, data.totals[n]))],
                  {total: "true"}));
    element.querySelector(".table").replaceChildren(
      table([t("monitor.member"), t("monitor.bucket"), ...COUNTS.map((n) => t("monitor." + n))], rows, "traffic"));
    element.dataset.since = data.since;
    element.dataset.until = data.until;
    if (!data.rows.length) element.querySelector(".status").textContent = t("monitor.empty");
    const chartElement = element.querySelector(".chart");
    if (typeof echarts === "undefined" || !data.rows.length) return;  // the table holds every number
    const buckets = [...new Set(data.rows.map((entry) => entry.start))].sort();
    const members = [...new Set(data.rows.map((entry) => memberName(entry.member)))];
    const chart = echarts.getInstanceByDom(chartElement) || echarts.init(chartElement, null, {renderer: "canvas"});
    chart.setOption({
      animation: false, tooltip: {trigger: "axis"}, legend: {data: members, bottom: 0, type: "scroll"},
      grid: {left: 50, right: 16, top: 16, bottom: 90},
      xAxis: {type: "category", data: buckets.map(when), axisLabel: {rotate: 20}},
      yAxis: {type: "value", minInterval: 1},
      series: members.map((member) => ({
        name: member, type: "bar", stack: "received",
        data: buckets.map((bucket) => {
          const found = data.rows.find((entry) => entry.start === bucket && memberName(entry.member) === member);
          return found ? found.received : 0;
        })})),
    }, true);
  }

  function drawRejections(element, data) {
    const rows = data.rejections.map((entry) => row([
      text("td", t("monitor.stage." + entry.stage)), text("td", entry.code, {"class": "code"}),
      text("td", meaningOf(entry) || "—", {"class": "meaning"}), count("count", entry.count),
      count("members", entry.members),
      text("td", entry.fields.map((f) => `${f.field} (${f.count})`).join("; "))],
      {stage: entry.stage, code: entry.code}));
    element.querySelector(".table").replaceChildren(table(
      [t("monitor.stage"), t("monitor.code"), t("monitor.meaning"), t("monitor.count"), t("monitor.members"),
       t("monitor.fields")], rows, "rejections"));
    if (!rows.length) element.querySelector(".status").textContent = t("monitor.empty");
  }

  function drawSilent(element, data) {
    const rows = data.members.map((entry) => row([
      text("td", entry.member), text("td", entry.name), text("td", label("monitor.kind." + entry.kind, entry.kind)),
      text("td", entry.last_received_at ? when(entry.last_received_at) : t("monitor.never")),
      text("td", duration(entry.silent_s), {"class": "num"})], {member: entry.member}));
    element.querySelector(".table").replaceChildren(table(
      [t("monitor.member"), t("level.institution"), t("monitor.etl.kind"), t("monitor.last_received"),
       t("monitor.silent_for")], rows, "silent"));
    if (!rows.length) element.querySelector(".status").textContent = t("monitor.empty");
  }

  function drawBacklog(element, data) {
    const rows = data.members.map((entry) => row([
      text("td", entry.member), count("count", entry.count), text("td", when(entry.oldest_received_at)),
      text("td", duration(entry.age_s), {"class": "num"})], {member: entry.member}));
    rows.push(row([text("td", t("monitor.total")), count("count", data.count), text("td", when(data.oldest_received_at)),
                   text("td", data.count ? duration(data.age_s) : "—", {"class": "num"})], {total: "true"}));
    element.querySelector(".table").replaceChildren(table(
      [t("monitor.member"), t("monitor.pending"), t("monitor.oldest"), t("monitor.age")], rows, "backlog"));
  }

  function drawEtl(element, data) {
    const runs = data.runs.map((run) => row([
      text("td", String(run.id)), text("td", label("monitor.etl.kind." + run.kind, run.kind)),
      text("td", label("monitor.etl.status." + run.status, run.status)), text("td", when(run.started_at)),
      text("td", run.seconds === null ? "—" : String(run.seconds), {"class": "num"}),
      text("td", `${run.rows_read ?? "—"} / ${run.rows_written ?? "—"} / ${run.rows_rejected ?? "—"}`, {"class": "num"}),
      text("td", run.error_code || "")], {run: run.id, status: run.status}));
    const checks = data.reconcile.map((check) => row([
      text("td", when(check.checked_at)), count("pairs", check.pairs), count("differing", check.differing),
      text("td", `${check.oltp_rows} / ${check.mart_rows}`, {"class": "num"})], {check: check.id}));
    const last = text("p", `${t("monitor.etl.last_finished")}: ${when(data.last_finished_at)}` +
                      (data.last_finished_age_s === null ? "" : ` (${duration(data.last_finished_age_s)})`));
    element.querySelector(".table").replaceChildren(last,
      table(["#", t("monitor.etl.kind"), t("monitor.etl.status"), t("monitor.etl.started"), t("monitor.etl.seconds"),
             t("monitor.etl.rows"), t("monitor.etl.error")], runs, "etl-runs"),
      text("h3", t("monitor.reconcile")),
      table([t("monitor.reconcile.checked"), t("monitor.reconcile.pairs"), t("monitor.reconcile.differing"),
             t("monitor.reconcile.rows")], checks, "reconcile"));
  }

  const DETAIL = ["stage", "code", "message", "http_status", "field", "envelope_sha256", "request_message_id", "action",
                  "cert_serial", "item_index", "message_row_id", "document_type", "document_sha256", "verdict",
                  "kind", "reply_id", "created_at", "fetched_at", "acked_at"];

  const TIMES = new Set(["created_at", "fetched_at", "acked_at"]);

  /** A journey detail's value as the reader sees it: stages, verdicts, reply kinds and meanings in the
   * page's language, times in China time; ids, digests and codes as they are. */
  function detailValue(name, step) {
    const value = step[name];
    if (name === "message") return meaningOf(step);
    if (name === "stage") return label("monitor.stage." + value, value);
    if (name === "verdict") return label("monitor.verdict." + value, value);
    if (name === "kind") return label("monitor.reply." + value, value);
    if (TIMES.has(name)) return when(value);
    return String(value);
  }

  function drawJourney(element, data) {
    const parts = [];
    for (const journey of data.journeys) {
      parts.push(text("h3", `${memberName(journey.member)} · ${journey.message_id}`, {"class": "journey-member"}));
      const rows = journey.steps.map((step) => {
        const detail = text("td", null, {"class": "detail"});
        for (const name of DETAIL) {
          if (step[name] === undefined || step[name] === null) continue;
          detail.appendChild(text("span", `${label("monitor.key." + name, name)}: ${detailValue(name, step)}`,
                                  {"data-key": name, "data-value": String(step[name])}));
          detail.appendChild(document.createElement("br"));
        }
        return row([text("td", label("monitor.step." + step.step, step.step), {"class": "step"}),
                    text("td", when(step.at || step.created_at)), detail],
                   {step: step.step, code: step.code || ""});
      });
      parts.push(table([t("monitor.step"), t("monitor.at"), t("monitor.detail")], rows, "journey"));
    }
    element.querySelector(".table").replaceChildren(...parts);
  }

  async function journey() {
    const element = document.getElementById("card-journey");
    const id = document.getElementById("journey-id").value.trim();
    if (!id) return;
    element.querySelector(".table").replaceChildren();
    element.dataset.state = "loading";
    try {
      drawJourney(element, await getJson("/console/api/monitor/journey/" + encodeURIComponent(id)));
      element.querySelector(".status").textContent = "";
      element.dataset.state = "loaded";
    } catch (error) {
      element.querySelector(".status").textContent = error.message === "exchange.message.not_found"
        ? t("monitor.journey.none") : t("chart.failed") + " (" + error.message + ")";
      element.dataset.state = "failed";
    }
  }

  function loadPeriod() {
    card("card-traffic", "/console/api/monitor/traffic?" + period().toString(), drawTraffic);
    const since = period();
    since.delete("grain");
    card("card-rejections", "/console/api/monitor/rejections?" + since.toString(), drawRejections);
  }

  function loadSilent() {
    const hours = document.getElementById("quiet-hours").value || "24";
    card("card-silent", "/console/api/monitor/silent?" + new URLSearchParams({quiet_hours: hours}), drawSilent);
  }

  const toggle = document.querySelector("#card-traffic .toggle");
  toggle.addEventListener("click", () => {
    const element = document.getElementById("card-traffic");
    const showTable = toggle.dataset.show === "table";
    element.querySelector(".table").hidden = !showTable;
    element.querySelector(".chart").hidden = showTable;
    toggle.dataset.show = showTable ? "chart" : "table";
    toggle.textContent = t(showTable ? "chart.chart" : "chart.table");
  });
  document.getElementById("monitor-range").addEventListener("change", loadPeriod);
  document.getElementById("quiet-hours").addEventListener("change", loadSilent);
  document.getElementById("journey-form").addEventListener("submit", (event) => {
    event.preventDefault();
    journey();
  });
  loadPeriod();
  loadSilent();
  card("card-backlog", "/console/api/monitor/backlog", drawBacklog);
  if (config.etl) card("card-etl", "/console/api/monitor/etl", drawEtl);
  if (document.getElementById("journey-id").value) journey();
  window.addEventListener("resize", () => {
    const chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(document.querySelector("#card-traffic .chart"));
    if (chart) chart.resize();
  });
})();
