/* The pivot browser: builds the cube API's export body from the page's choices, shows the pivot from
   POST /console/api/pivot, and downloads the same body as CSV or XLSX (POST /console/api/pivot/export). */
"use strict";
(function () {
  const {config, t, formatNumber, csrfToken, element} = window.HIE;
  const lang = config.lang;
  const byName = Object.fromEntries(config.cubes.map((cube) => [cube.name, cube]));
  const $ = (id) => document.getElementById(id);
  let shown = null;  // the body of the table on screen: the exports send exactly it
  const MAX_LINK_QUERY = 4096;


  function checkbox(container, kind, item) {
    const label = element("label", null, {"class": "pick"});
    const input = element("input", null, {type: "checkbox", name: kind, value: item.name, id: `pick-${kind}-${item.name}`});
    label.append(input, " " + (item.title || item.name) + (item.unit ? ` (${item.unit})` : ""));
    if (item.definition) label.title = item.definition;
    container.appendChild(label);
  }

  async function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                       headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()}});
  }

  /** A filter's value control: the members present (a list) or, for a long list, a text input of codes. */
  async function filterControl(cell, cube, level) {
    cell.replaceChildren(element("span", t("pivot.loading")));
    let found = null;
    try {
      const response = await fetch(`/console/api/pivot/members?cube=${encodeURIComponent(cube)}&level=${encodeURIComponent(level)}`,
                                   {credentials: "same-origin"});
      if (response.ok) found = await response.json();
    } catch (error) { found = null; }
    if (found && found.complete && found.members.length) {
      const select = element("select", null, {multiple: "", "data-filter": level, size: String(Math.min(6, found.members.length))});
      for (const member of found.members) select.appendChild(element("option", `${member.label} (${member.code})`, {value: member.code}));
      cell.replaceChildren(select);
    } else {
      cell.replaceChildren(element("input", null, {type: "text", "data-filter": level, placeholder: t("pivot.filter.codes")}));
    }
  }

  function showCube(name) {
    const cube = byName[name];
    for (const kind of ["measures", "indicators"]) {
      const container = $(`pivot-${kind}`);
      container.replaceChildren();
      for (const item of cube[kind]) checkbox(container, kind, item);
    }
    const body = $("pivot-levels").tBodies[0];
    body.replaceChildren();
    for (const dimension of cube.dimensions) {
      for (const level of dimension.levels) {
        const code = `${dimension.name}.${level.name}`;
        const row = body.insertRow();
        row.dataset.level = code;
        row.appendChild(element("td", `${dimension.title || dimension.name} · ${level.title || level.name}`));
        const axis = element("select", null, {"data-axis": code});
        for (const choice of ["none", "rows", "columns", "filter"]) {
          if (choice === "filter" && level.date) continue;  // dates are chosen by the period
          axis.appendChild(element("option", t(`pivot.axis.${choice}`), {value: choice}));
        }
        row.appendChild(element("td")).appendChild(axis);
        const values = row.appendChild(element("td", null, {"class": "filter"}));
        axis.addEventListener("change", () => {
          if (axis.value === "filter") filterControl(values, name, code);
          else values.replaceChildren();
        });
      }
    }
  }

  function period() {
    const choice = $("pivot-period").value;
    if (choice === "all") return null;
    if (choice === "custom") return {from: $("pivot-from").value, to: $("pivot-to").value};
    const spec = {...config.periods[choice]};
    if ($("pivot-as-of").value) spec.as_of = $("pivot-as-of").value;
    return spec;
  }

  /** The export body of the page's choices (docs/cubes.md: the /query body plus rows and columns). */
  function body() {
    const picked = (kind) => [...document.querySelectorAll(`input[name=${kind}]:checked`)].map((input) => input.value);
    const axes = [...document.querySelectorAll("select[data-axis]")];
    const on = (axis) => axes.filter((select) => select.value === axis).map((select) => select.dataset.axis);
    const filters = [];
    for (const control of document.querySelectorAll("[data-filter]")) {
      const values = control.tagName === "SELECT" ? [...control.selectedOptions].map((option) => option.value)
        : control.value.split(/[,，\s]+/).filter(Boolean);
      if (values.length) filters.push({level: control.dataset.filter, in: values});
    }
    const query = {cube: $("pivot-cube").value, measures: picked("measures"), indicators: picked("indicators"),
                   rows: on("rows"), columns: on("columns"), filters};
    const spec = period();
    if (spec) query.period = spec;
    if (spec && $("pivot-compare").checked) query.compare = "year_ago";
    return query;
  }

  /** Where a shown cell of a plain count leads: the lineage view of that cell, the link carrying the
      pivot's query (its period as the table showed it) and one code per level, rows then columns. */
  function lineageUrl(asked, data, line, column) {
    const rows = data.row_codes[line];
    const slot = data.slots[column - data.row_levels.length];
    const item = data.lines[line][column];
    if (!rows || !slot || !slot.codes || slot.year_ago || !data.traced.includes(slot.value)) return null;
    if (item.withheld || item.value === null || item.value === undefined || item.value === 0) return null;
    const query = {...asked};
    if (data.period) query.period = {from: data.period.from, to: data.period.to};
    const carried = JSON.stringify(query);
    if (carried.length > MAX_LINK_QUERY) return null;  // the hub refuses a longer query (pivot.MAX_LINK_QUERY)
    const names = [...data.lines[line].slice(0, data.row_levels.length).map((entry) => entry.text),
                   data.header[column].split("｜").slice(1).join("｜")].filter(Boolean);
    const params = new URLSearchParams({page: "pivot", query: carried, value: slot.value});
    for (const code of [...rows, ...slot.codes]) params.append("code", String(code));
    params.set("label", names.join(" · "));
    return "/console/lineage?" + params.toString();
  }

  function renderTable(data, asked) {
    const table = element("table", null, {"class": "cells pivot", id: "pivot-cells"});
    const head = table.createTHead().insertRow();
    for (const title of data.header) head.appendChild(element("th", title));
    const tbody = table.createTBody();
    data.lines.forEach((line, index) => {
      const row = tbody.insertRow();
      if (data.row_levels.length && index === data.lines.length - 1) row.className = "total";
      line.forEach((item, column) => {
        if ("text" in item) { row.appendChild(element("td", item.text, {"class": "name"})); return; }
        const text = item.withheld ? "—" : formatNumber(item.value, data.units[column], lang);
        const td = element("td", null, {
          "class": "num", "data-withheld": String(item.withheld),
          "data-value": item.value === null || item.value === undefined ? "" : String(item.value)});
        const url = lineageUrl(asked, data, index, column);
        td.appendChild(url ? element("a", text, {"class": "lineage", href: url, title: t("lineage.link")})
                           : document.createTextNode(text));
        if (item.withheld) td.title = t("cell.suppressed");
        row.appendChild(td);
      });
    });
    $("pivot-table").replaceChildren(table);
    const span = data.period ? `${data.period.from} – ${data.period.to}` : t("pivot.period.all");
    $("pivot-summary").textContent = t("pivot.summary").replace("{period}", span).replace("{suppressed}", data.suppressed_cells);
    $("pivot-notes").replaceChildren(...data.notes.map((note) => element("li", note)));
    // the one note on links: shown when some value or a total has none
    $("untraced-note").hidden = !(data.slots.some((slot) => !slot.codes || slot.year_ago || !data.traced.includes(slot.value))
                                  || data.row_levels.length);
  }

  async function run() {
    const asked = body();
    const result = $("pivot-result");
    if (!asked.measures.length && !asked.indicators.length) { $("pivot-status").textContent = t("pivot.pick"); return; }
    $("pivot-status").textContent = t("pivot.loading");
    result.dataset.state = "loading";
    try {
      const response = await post("/console/api/pivot", asked);
      const data = await response.json();
      if (!response.ok) throw new Error(data.code || String(response.status));
      renderTable(data, asked);
      shown = asked;
      $("pivot-status").textContent = "";
      result.dataset.state = "loaded";
      for (const id of ["pivot-export-csv", "pivot-export-xlsx"]) $(id).disabled = false;
    } catch (error) {
      $("pivot-status").textContent = `${t("pivot.failed")} (${error.message})`;
      result.dataset.state = "failed";
    }
  }

  /** The file name the hub gives (filename*, UTF-8), else the plain one. */
  function filename(disposition, fallback) {
    const named = /filename\*=UTF-8''([^;]+)/.exec(disposition || "");
    if (named) return decodeURIComponent(named[1]);
    const plain = /filename="([^"]+)"/.exec(disposition || "");
    return plain ? plain[1] : fallback;
  }

  async function download(format) {
    if (!shown) return;
    $("pivot-status").textContent = t("pivot.loading");
    try {
      const response = await post(`/console/api/pivot/export?format=${format}`, shown);
      if (!response.ok) throw new Error(((await response.json().catch(() => ({}))).code) || String(response.status));
      const url = URL.createObjectURL(await response.blob());
      const link = element("a", null, {href: url, download: filename(response.headers.get("Content-Disposition"), `pivot.${format}`)});
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      $("pivot-status").textContent = "";
    } catch (error) {
      $("pivot-status").textContent = `${t("pivot.failed")} (${error.message})`;
    }
  }

  $("pivot-cube").addEventListener("change", (event) => showCube(event.target.value));
  $("pivot-period").addEventListener("change", (event) => { $("pivot-custom").hidden = event.target.value !== "custom"; });
  $("pivot-run").addEventListener("click", run);
  for (const id of ["pivot-export-csv", "pivot-export-xlsx"]) $(id).addEventListener("click", (event) => download(event.target.dataset.format));
  showCube($("pivot-cube").value);
})();
