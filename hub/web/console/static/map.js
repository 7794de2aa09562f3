/* The district map card (hub/web/console/geo.py, _map_card.html): the region's boundaries from
   /console/api/map, coloured with the cells a by-district card of this page already received (the card
   announces them with the event "hie:cells"; the map asks the cube nothing). A withheld cell is drawn as
   no data, never its value; a click on a district follows the card table's own drill link. */
"use strict";
(function () {
  const card = document.getElementById("card-map");
  if (!card) return;
  const DISTRICT = "institution.district";
  const MAP = "hie-region";
  // this script runs before console.js (it must hear the cards' answers), so HIE is read when used
  const element = (...parts) => window.HIE.element(...parts);
  const sources = JSON.parse(card.dataset.sources);
  const answers = {};  // card element id -> the answer it announced
  let boundaries = null, chart = null, chosen = 0, showTable = false;

  // registered before the cards' scripts run, so no card's answer is missed
  document.addEventListener("hie:cells", (event) => {
    answers[event.target.id] = event.detail;
    if (sources[chosen].card === event.target.id) draw();
  });
  document.addEventListener("DOMContentLoaded", start);


  /** The answer's cells by district: code -> {value (null when withheld or undefined), withheld, text}. */
  function cellsOf(answer, source) {
    const {formatNumber, config} = window.HIE;
    const found = new Map();
    if (answer.indicator !== undefined) {  // a hospital card (hospital.py)
      if (answer.level !== DISTRICT) return null;
      for (const cell of answer.cells) {
        const withheld = Boolean(cell.suppressed[source.value]);
        const value = withheld ? null : cell[source.value];
        found.set(cell.code, {value, withheld, text: formatNumber(value, answer.unit, config.lang)});
      }
      return found;
    }
    if (answer.group_by[0] !== DISTRICT || answer.group_by.length !== 1) return null;  // a cube chart (dashboard.py)
    for (const cell of answer.cells) {
      const value = cell[source.value] === undefined ? null : cell[source.value];
      const withheld = Boolean(cell.suppressed) && value === null;
      found.set(cell[DISTRICT], {value, withheld, text: window.HIE.dashboard.shown(value, answer.units[source.value])});
    }
    return found;
  }

  /** The drill link of the source card's table for a district (the same href), or null when it has none. */
  function drillOf(code) {
    const source = document.getElementById(sources[chosen].card);
    const link = source && [...source.querySelectorAll("[data-code] a.drill")]
      .find((a) => a.closest("[data-code]").dataset.code === code);
    return link ? link.getAttribute("href") : null;
  }

  function caption(answer) {
    const {t} = window.HIE;
    const period = answer.period ? `${answer.period.from} – ${answer.period.to}` : t("period.current");
    return `${t(sources[chosen].label)} · ${period}`;
  }

  function renderTable(features, cells) {
    const {t} = window.HIE;
    const table = element("table", null, {"class": "cells"});
    const head = table.createTHead().insertRow();
    head.appendChild(element("th", t("level.district")));
    head.appendChild(element("th", t(sources[chosen].label), {"class": "num"}));
    const body = table.createTBody();
    for (const feature of features) {
      const {code, name} = feature.properties;
      const cell = cells.get(code);
      const row = body.insertRow();
      row.dataset.code = code;
      const place = element("td", null, {"class": "name"});
      const href = drillOf(code);
      place.appendChild(href ? element("a", name, {href, "class": "drill"}) : element("span", name));
      row.appendChild(place);
      const value = cell ? cell.value : null;
      const td = element("td", cell ? cell.text : "—", {"class": "num", "data-value": value === null ? "" : String(value),
                                                        "data-suppressed": String(Boolean(cell && cell.withheld))});
      td.title = cell && cell.withheld ? t("cell.suppressed") : value === null ? t("map.no_data") : "";
      row.appendChild(td);
    }
    card.querySelector(".table").replaceChildren(table);
  }

  function renderMap(features, cells) {
    if (typeof echarts === "undefined") return;  // the table still shows every value
    const {t} = window.HIE;
    const names = Object.fromEntries(features.map((f) => [f.properties.code, f.properties.name]));
    const data = features.map((f) => {
      const cell = cells.get(f.properties.code);
      return {name: f.properties.code, value: cell ? cell.value : null, withheld: Boolean(cell && cell.withheld)};
    });
    const values = data.map((item) => item.value).filter((value) => value !== null);
    const low = values.length ? Math.min(...values) : 0;
    const high = values.length ? Math.max(...values) : 1;
    const text = (code) => (cells.get(code) || {}).text;
    const textOf = (value) => [...cells.values()].find((cell) => cell.value === value).text;
    chart = chart || echarts.init(card.querySelector(".chart"), null, {renderer: "canvas"});
    chart.setOption({
      animation: false,
      tooltip: {trigger: "item", formatter: (item) => {
        const cell = cells.get(item.name);
        const shown = !cell ? t("map.no_data") : cell.withheld ? t("map.withheld") : cell.value === null ? "—" : text(item.name);
        const html = echarts.format.encodeHTML;  // the tooltip is HTML: names are text
        return `${html(names[item.name] || item.name)}<br>${html(t(sources[chosen].label))}：${html(shown)}`;
      }},
      // the scale's two ends as the table writes them (the drawn cells' lowest and highest values)
      visualMap: {type: "continuous", show: values.length > 0, min: low, max: high > low ? high : low + 1, calculable: false, orient: "horizontal",
                  left: "center", bottom: 0, itemHeight: 120, inRange: {color: ["#deebf7", "#08519c"]},
                  text: values.length ? [textOf(high), textOf(low)] : ["", ""]},
      series: [{type: "map", map: MAP, nameProperty: "code", roam: false, top: 8, bottom: 36, data,
                itemStyle: {areaColor: "#e0e0e0", borderColor: "#ffffff", borderWidth: 1},
                label: {show: true, fontSize: 11, color: "#1f2d3d", textBorderColor: "#ffffff", textBorderWidth: 2, formatter: (item) => names[item.name] || item.name},
                emphasis: {label: {show: true}, itemStyle: {areaColor: "#fdd49e"}}, select: {disabled: true}}],
    }, true);
    chart.off("click");
    chart.on("click", (event) => {
      const href = drillOf(event.name);
      if (href) window.location.assign(href);
    });
  }

  function draw() {
    if (!boundaries) return;
    const {t} = window.HIE;
    const status = card.querySelector(".status");
    const answer = answers[sources[chosen].card];
    if (!answer) {
      status.textContent = t("map.waiting");
      return;
    }
    const cells = cellsOf(answer, sources[chosen]);
    if (cells === null) {  // the card is below districts: no map there
      card.hidden = true;
      return;
    }
    card.querySelector(".map-caption").textContent = caption(answer);
    const withheld = [...cells.values()].filter((cell) => cell.withheld).length;
    status.textContent = withheld ? t("chart.withheld").replace("{n}", String(withheld)) : "";
    const features = boundaries.map.features;
    renderTable(features, cells);
    renderMap(features, cells);
    card.dataset.state = "loaded";
    card.dataset.source = sources[chosen].card;
  }

  async function start() {
    const {t, getJson} = window.HIE;
    const toggle = card.querySelector(".toggle");
    toggle.addEventListener("click", () => {
      showTable = !showTable;
      card.querySelector(".table").hidden = !showTable;
      card.querySelector(".chart").hidden = showTable;
      toggle.textContent = t(showTable ? "chart.chart" : "chart.table");
      if (!showTable && chart) chart.resize();
    });
    const select = document.getElementById("map-source");
    if (select) select.addEventListener("change", () => { chosen = Number(select.value); card.dataset.state = "loading"; draw(); });
    window.addEventListener("resize", () => chart && chart.resize());
    try {
      const answer = await getJson("/console/api/map");
      if (!answer.available || !answer.map.features.length) {
        card.querySelector(".status").textContent = answer.available ? t("map.empty") : "";
        card.hidden = !answer.available;
        card.dataset.state = "empty";
        return;
      }
      boundaries = answer;
      card.querySelector(".map-schematic").hidden = !answer.schematic;
      if (typeof echarts !== "undefined") echarts.registerMap(MAP, answer.map);
      draw();
    } catch (error) {
      card.querySelector(".status").textContent = t("chart.failed") + " (" + error.message + ")";
      card.dataset.state = "failed";
    }
  }
})();
