/* Pages of cube charts (hub/web/console/dashboard.py): each card loads /console/api/{page}/{chart} on its
   own and shows the cube API's cells as a chart and, a click away, as a table (every value; withheld —). */
"use strict";
(function () {
  const {config, t, formatNumber, getJson, csrfToken, viewParams: params, element} = window.HIE;
  const view = config.view;
  const lang = config.lang;
  const DISTRICT = "institution.district", INSTITUTION = "institution.institution";

  /** Where a click on a place leads: a district to its institutions, an institution to itself alone. */
  function drillUrl(level, code) {
    if (level === DISTRICT) return `/console/${config.page}?` + params({district: code}).toString();
    if (level === INSTITUTION && !view.institution) {
      const query = params({institution: code});
      query.delete("district");
      return `/console/${config.page}?` + query.toString();
    }
    return null;
  }

  /** The lineage view of a cell: the query's own parameters, one ``code`` per group-by level in order
      (a date level's value too: it narrows the period), and the cell's names for the heading. */
  function lineageUrl(query, codes, names) {
    for (const code of codes) query.append("code", String(code));
    query.set("label", names.join(" · "));
    return "/console/lineage?" + query.toString();
  }

  /** The page's one note that rates, sums and distinct counts have no link, shown once a card has one. */
  function noteUntraced(names, traced) {
    const note = document.getElementById("untraced-note");
    if (note && names.some((name) => !traced.includes(name))) note.hidden = false;
  }


  /** A code's name: the answer's labels, else the label table (code.<level>.<code>), else the code. */
  function nameOf(data, level, code) {
    const named = (data.labels[level] || {})[code];
    if (named) return named;
    const key = `code.${level}.${code}`;
    const label = t(key);
    return label === key ? String(code) : label;
  }

  /** A value as shown: money in fen in yuan (÷ 100), rates with %, the rest as counted. */
  function shown(value, unit) {
    if (value === null || value === undefined) return formatNumber(null, "", lang);
    if (unit === "分") return formatNumber(value / 100, "元", lang);
    return formatNumber(value, unit === "元" ? "元" : "", lang) + (unit === "%" ? "%" : "");
  }

  function plotted(value, unit) {
    return value === null || value === undefined ? null : unit === "分" ? value / 100 : value;
  }

  /** An axis tick: money and large counts as the table writes them, small rates with their own precision. */
  function axisLabel(value, unit) {
    if (unit === "分") return formatNumber(value, "元", lang);
    if (Math.abs(value) >= 1e4) return formatNumber(value, "", lang);
    return String(Number(value.toPrecision(4)));
  }

  function unitCaption(unit) {
    if (!unit || unit === "%") return unit === "%" ? "（%）" : "";
    return `（${unit === "分" ? "元" : unit}）`;
  }

  function renderTable(card, data) {
    const table = element("table", null, {"class": "cells"});
    const head = table.createTHead().insertRow();
    for (const level of data.group_by) head.appendChild(element("th", t("axis." + level)));
    for (const name of data.values) {
      head.appendChild(element("th", t(`value.${data.cube}.${name}`) + unitCaption(data.units[name]), {"class": "num"}));
    }
    const body = table.createTBody();
    for (const cell of data.cells) {
      const row = body.insertRow();
      row.dataset.key = data.group_by.map((level) => cell[level]).join("|");
      for (const level of data.group_by) {
        const td = element("td", null, {"class": "name", "data-level": level, "data-code": cell[level]});
        const url = data.by === "place" && level === data.group_by[0] ? drillUrl(level, cell[level]) : null;
        td.appendChild(url ? element("a", nameOf(data, level, cell[level]), {href: url, "class": "drill"})
                           : element("span", nameOf(data, level, cell[level])));
        row.appendChild(td);
      }
      for (const name of data.values) {
        const value = cell[name];
        const td = element("td", null, {
          "class": "num", "data-name": name, "data-suppressed": String(Boolean(cell.suppressed && value === null)),
          "data-value": value === null || value === undefined ? "" : String(value)});
        // a shown count leads to its facts (lineage); a withheld cell, a rate or a sum leads nowhere
        const traced = data.traced.includes(name) && !cell.suppressed && value !== null && value !== undefined && value !== 0;
        td.appendChild(traced ? element("a", shown(value, data.units[name]), {"class": "lineage", title: t("lineage.link"),
          href: lineageUrl(params({page: config.page, chart: data.chart, value: name}),
                           data.group_by.map((level) => cell[level]),
                           data.group_by.map((level) => nameOf(data, level, cell[level])))})
          : document.createTextNode(shown(value, data.units[name])));
        if (cell.suppressed && value === null) td.title = t("cell.suppressed");
        row.appendChild(td);
      }
    }
    card.querySelector(".table").replaceChildren(table);
  }

  function renderChart(card, data) {
    if (typeof echarts === "undefined") return;  // the table still shows every number
    const [first, series] = data.group_by;
    const unit = data.units[data.plot];
    // a trend shows every unit of its window: no cell is nothing counted (0), a rate without cells is undefined
    const categories = data.axis || [...new Set(data.cells.map((cell) => cell[first]))];
    const groups = series ? [...new Set(data.cells.map((cell) => cell[series]))] : [null];
    const empty = data.axis && !data.query.indicators.includes(data.plot) ? 0 : null;
    const valueAt = (category, group) => {
      const cell = data.cells.find((c) => c[first] === category && (group === null || c[series] === group));
      return cell ? plotted(cell[data.plot], unit) : empty;
    };
    const chart = echarts.init(card.querySelector(".chart"), null, {renderer: "canvas"});
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis", valueFormatter: (value) => shown(unit === "分" ? value * 100 : value, unit)},
      legend: {data: groups.map((group) => group === null ? t(`value.${data.cube}.${data.plot}`) : nameOf(data, series, group)),
               bottom: 0},
      grid: {left: 64, right: 16, top: 16, bottom: data.kind === "line" ? 56 : 84},
      xAxis: {type: "category", data: categories.map((code) => nameOf(data, first, code)),
              axisLabel: {interval: data.kind === "line" ? "auto" : 0, rotate: 20}},
      yAxis: {type: "value", axisLabel: {formatter: (value) => axisLabel(value, unit)}},
      series: groups.map((group) => ({
        name: group === null ? t(`value.${data.cube}.${data.plot}`) : nameOf(data, series, group),
        type: data.kind, connectNulls: false,
        data: categories.map((category) => valueAt(category, group))})),
    });
    chart.on("click", (event) => {
      const url = data.by === "place" ? drillUrl(first, categories[event.dataIndex]) : null;
      if (url) window.location.assign(url);
    });
    window.addEventListener("resize", () => chart.resize());
  }

  async function load(card) {
    const status = card.querySelector(".status");
    try {
      const data = await getJson(`/console/api/${config.page}/${card.dataset.chart}?` + params().toString());
      card.querySelector(".period").textContent = `${data.period.from} – ${data.period.to}`;
      const notes = [];
      if (!data.cells.length) notes.push(t("chart.empty"));
      if (data.omitted.length) notes.push(t("chart.district_only"));
      if (data.suppressed_cells) notes.push(t("chart.withheld").replace("{n}", String(data.suppressed_cells)));
      if (data.cells.length) noteUntraced(data.values, data.traced);
      status.textContent = notes.join(" ");
      renderTable(card, data);
      if (data.cells.length) renderChart(card, data);
      card.dataset.state = "loaded";
      card.dispatchEvent(new CustomEvent("hie:cells", {bubbles: true, detail: data}));  // the map reuses them (map.js)
    } catch (error) {
      status.textContent = t("chart.failed") + " (" + error.message + ")";
      card.dataset.state = "failed";
    }
  }

  /** The card's table as a file: POST /console/api/export/{page}/{chart} (CSRF), saved under the hub's name. */
  async function download(card, page, chart, format) {
    const status = card.querySelector(".status");
    try {
      const response = await fetch(`/console/api/export/${page}/${chart}?` + params({format}).toString(), {
        method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrfToken()}});
      if (!response.ok) throw new Error(((await response.json().catch(() => ({}))).code) || String(response.status));
      const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      const url = URL.createObjectURL(await response.blob());
      const link = element("a", null, {href: url, download: named ? named[1] : `${chart}.${format}`});
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      status.textContent = t("chart.failed") + " (" + error.message + ")";
    }
  }

  /** The card's CSV and XLSX buttons (hospital.js uses them too). */
  function exportButtons(card, page, chart) {
    for (const button of card.querySelectorAll("button.export")) {
      button.addEventListener("click", () => download(card, page, chart, button.dataset.format));
    }
  }

  // One card of any dashboard page: its export buttons, its chart/table toggle, its data (loaded on its
  // own: one slow cube never holds the others). The page's period form resubmits on a new date.
  function startCards(selector, page, chartOf, loadCard) {
    for (const card of document.querySelectorAll(selector)) {
      exportButtons(card, page, chartOf(card));
      const toggle = card.querySelector(".toggle");
      toggle.addEventListener("click", () => {
        const showTable = toggle.dataset.show === "table";
        card.querySelector(".table").hidden = !showTable;
        card.querySelector(".chart").hidden = showTable;
        toggle.dataset.show = showTable ? "chart" : "table";
        toggle.textContent = t(showTable ? "chart.chart" : "chart.table");
      });
      loadCard(card);
    }
    const asOf = document.getElementById("as-of");
    if (asOf) asOf.addEventListener("change", () => document.getElementById("view-form").requestSubmit(document.querySelector(".units button.active")));
  }

  function start() {
    startCards(".card[data-chart]", config.page, (card) => card.dataset.chart, load);
  }

  window.HIE.dashboard = {start, startCards, drillUrl, shown, exportButtons, lineageUrl, noteUntraced};
})();
