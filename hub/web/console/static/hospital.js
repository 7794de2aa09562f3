/* Hospital indicators: each card loads its own chart and table from /console/api/hospital/{indicator}. */
"use strict";
(function () {
  const {config, t, formatNumber, getJson, viewParams: params} = window.HIE;
  const view = config.view;
  const lang = config.lang;
  const SERIES = ["current", "previous", "year_ago"];
  const NEXT = {"institution.district": "district", "institution.institution": "institution"};

  /** Where a click on a cell leads: the next level down (district → institution → department). */
  function drillUrl(level, code) {
    const name = NEXT[level];
    if (!name) return null;
    const query = params({[name]: code});
    if (name === "institution") query.delete("district");
    return "/console/hospital?" + query.toString();
  }

  function text(tag, content, attributes) {
    const element = document.createElement(tag);
    if (content !== undefined && content !== null) element.textContent = content;
    for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
    return element;
  }

  function valueCell(cell, series, unit, indicator) {
    const withheld = cell.suppressed[series];
    const value = withheld ? null : cell[series];
    const td = text("td", null, {
      "class": "num " + series, "data-series": series, "data-suppressed": String(withheld),
      "data-value": value === null || value === undefined ? "" : String(value)});
    const shown = formatNumber(value, unit, lang);
    // a shown number leads to its lineage (the facts behind it); a withheld one leads nowhere
    const traced = !withheld && value !== null && value !== undefined && value !== 0 && series !== "year_ago";
    td.appendChild(traced ? text("a", shown, {"class": "lineage", title: t("lineage.link"),
      href: "/console/lineage?" + params({chart: indicator, code: cell.code, label: cell.label, series}).toString()})
      : document.createTextNode(shown));
    if (withheld) td.title = t("cell.suppressed");
    return td;
  }

  /** A change as the server computed it (per cent, one decimal): signed, — when unknown or withheld. */
  function changeCell(cell, name) {
    const withheld = cell.suppressed[name];
    const value = withheld ? null : cell[name];
    const shown = value === null || value === undefined ? "—" : (value > 0 ? "+" : "") + value.toFixed(1) + "%";
    const td = text("td", shown, {"class": "num change", "data-change": name, "data-suppressed": String(withheld),
                                  "data-value": value === null || value === undefined ? "" : String(value)});
    if (withheld) td.title = t("cell.suppressed");
    return td;
  }

  function renderTable(card, data) {
    const table = text("table", null, {"class": "cells"});
    const head = table.createTHead().insertRow();
    const level = data.level.split(".")[1];
    for (const label of [t("level." + level), t("period.current"), t("period.previous"), t("period.year_ago"),
                         t("cell.change"), t("cell.yoy")]) head.appendChild(text("th", label));
    const body = table.createTBody();
    for (const cell of data.cells) {
      const row = body.insertRow();
      row.dataset.code = cell.code;
      const name = text("td", null, {"class": "name"});
      const url = drillUrl(data.level, cell.code);
      name.appendChild(url ? text("a", cell.label, {href: url, "class": "drill"}) : text("span", cell.label));
      row.appendChild(name);
      for (const series of SERIES) row.appendChild(valueCell(cell, series, data.unit, data.indicator));
      for (const name of ["change", "yoy"]) row.appendChild(changeCell(cell, name));
    }
    card.querySelector(".table").replaceChildren(table);
  }

  function renderChart(card, data) {
    const element = card.querySelector(".chart");
    if (typeof echarts === "undefined") return;  // the table still shows every number
    const chart = echarts.init(element, null, {renderer: "canvas"});
    chart.setOption({
      animation: false,
      tooltip: {trigger: "axis", valueFormatter: (value) => formatNumber(value, data.unit, lang)},
      legend: {data: SERIES.map((series) => t("period." + series)), bottom: 0},
      grid: {left: 60, right: 16, top: 16, bottom: 56},
      xAxis: {type: "category", data: data.cells.map((cell) => cell.label), axisLabel: {interval: 0, rotate: 20}},
      yAxis: {type: "value", axisLabel: {formatter: (value) => formatNumber(value, data.unit, lang)}},
      series: SERIES.map((series) => ({
        name: t("period." + series), type: "bar",
        data: data.cells.map((cell) => cell.suppressed[series] ? null : cell[series])})),
    });
    chart.on("click", (event) => {
      const url = drillUrl(data.level, data.cells[event.dataIndex].code);
      if (url) window.location.assign(url);
    });
    window.addEventListener("resize", () => chart.resize());
  }

  async function load(card) {
    const status = card.querySelector(".status");
    try {
      const data = await getJson(`/console/api/hospital/${card.dataset.indicator}?` + params().toString());
      if (!data.available) {
        status.textContent = t("chart.not_at_level");
        card.dataset.state = "not_available";
        return;
      }
      status.textContent = data.cells.length ? "" : t("chart.empty");
      renderTable(card, data);
      if (data.cells.length) renderChart(card, data);
      card.dataset.state = "loaded";
      card.dispatchEvent(new CustomEvent("hie:cells", {bubbles: true, detail: data}));  // the map reuses them (map.js)
    } catch (error) {
      status.textContent = t("chart.failed") + " (" + error.message + ")";
      card.dataset.state = "failed";
    }
  }

  window.HIE.dashboard.startCards(".card[data-indicator]", "hospital", (card) => card.dataset.indicator, load);
})();
