// @ts-check
// The dashboard's webview: a renderer and nothing more. The extension host posts a finished
// model (SVG paths in a fixed box, theme colour variables, summaries in words; see
// src/dashboard/chartModel.ts) and this turns it into DOM with textContent and attributes
// only, never innerHTML, so a queue name cannot inject markup. It also answers `describe`
// with what the DOM holds, which is how the VS Code suite checks what was drawn.
(function () {
  'use strict';
  // @ts-ignore acquireVsCodeApi is provided by the webview host.
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const VIEW_WIDTH = 600;
  const VIEW_HEIGHT = 120;

  const heading = /** @type {HTMLElement} */ (document.getElementById('heading'));
  const notice = /** @type {HTMLElement} */ (document.getElementById('notice'));
  const main = /** @type {HTMLElement} */ (document.getElementById('queues'));

  /** @param {string} tag @param {Record<string, string>} [attributes] @param {string} [text] */
  function el(tag, attributes = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** @param {string} tag @param {Record<string, string>} [attributes] @param {string} [text] */
  function svg(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A theme colour on an element, through the CSSOM (the CSP allows no inline style attribute). */
  function colour(node, property, variable) {
    node.style.setProperty(property, `var(${variable})`);
  }

  function renderChart(chart, axisStart) {
    const figure = el('figure', { class: 'chart', 'data-chart': chart.id });
    figure.append(el('figcaption', {}, `${chart.title} (${chart.unit})`));
    const plot = el('div', { class: 'plot' });
    const axis = el('div', { class: 'y-axis', 'aria-hidden': 'true' });
    axis.append(el('span', { class: 'axis-max' }, String(chart.max)), el('span', {}, '0'));
    const picture = svg('svg', {
      viewBox: `0 0 ${VIEW_WIDTH} ${VIEW_HEIGHT}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-labelledby': `${chart.id}-title ${chart.id}-desc`,
    });
    picture.append(svg('title', { id: `${chart.id}-title` }, chart.title), svg('desc', { id: `${chart.id}-desc` }, chart.summary));
    for (const fraction of [0, 0.5, 1]) {
      const y = String(VIEW_HEIGHT * fraction);
      picture.append(svg('line', { class: 'grid', x1: '0', x2: String(VIEW_WIDTH), y1: y, y2: y }));
    }
    for (const line of chart.lines) {
      if (!line.path) continue;
      const path = svg('path', { class: 'series', d: line.path, 'data-key': line.key, 'data-points': String(line.points) });
      colour(path, 'stroke', line.colour);
      picture.append(path);
    }
    plot.append(axis, picture);
    const time = el('div', { class: 'x-axis', 'aria-hidden': 'true' });
    time.append(el('span', {}, axisStart), el('span', {}, 'now'));
    const legend = el('ul', { class: 'legend' });
    for (const line of chart.lines) {
      const item = el('li', { 'data-key': line.key });
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      colour(swatch, 'background-color', line.colour);
      item.append(swatch, el('span', { class: 'legend-text' }, line.legend));
      legend.append(item);
    }
    figure.append(plot, time, legend);
    return figure;
  }

  function render(model) {
    heading.textContent = model.source ? `Taskwire · ${model.source} · ${model.windowLabel}` : `Taskwire · ${model.windowLabel}`;
    notice.textContent = model.notice ?? '';
    notice.hidden = !model.notice;
    const sections = model.queues.map((queue) => {
      const section = el('section', { class: 'queue', 'aria-label': `queue ${queue.queue}` });
      section.append(el('h2', {}, queue.queue));
      const charts = el('div', { class: 'charts' });
      charts.append(renderChart(queue.depth, model.axisStart), renderChart(queue.throughput, model.axisStart));
      section.append(charts);
      return section;
    });
    main.replaceChildren(...sections);
  }

  /** What the page shows, read back from the DOM. */
  function describe() {
    const charts = [...document.querySelectorAll('figure.chart')].map((figure) => {
      const picture = figure.querySelector('svg');
      const names = (picture?.getAttribute('aria-labelledby') ?? '').split(' ');
      return {
        id: figure.getAttribute('data-chart') ?? '',
        title: picture?.querySelector('title')?.textContent ?? '',
        summary: picture?.querySelector('desc')?.textContent ?? '',
        accessibleName: names.map((id) => document.getElementById(id)?.textContent ?? '').join(' '),
        axisMax: figure.querySelector('.axis-max')?.textContent ?? '',
        lines: [...figure.querySelectorAll('.legend li')].map((item) => {
          const key = item.getAttribute('data-key') ?? '';
          const path = picture?.querySelector(`path[data-key="${key}"]`);
          // Points counted from the path as drawn: one M or L command each.
          const points = path ? (path.getAttribute('d')?.match(/[ML]/g) ?? []).length : 0;
          return { key, legend: item.querySelector('.legend-text')?.textContent ?? '', points };
        }),
      };
    });
    return {
      notice: notice.hidden ? null : notice.textContent,
      heading: heading.textContent ?? '',
      queues: [...document.querySelectorAll('section.queue h2')].map((h) => h.textContent ?? ''),
      charts,
    };
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message?.type === 'model') render(message.model);
    else if (message?.type === 'describe') vscode.postMessage({ type: 'described', requestId: message.requestId, report: describe() });
  });
  vscode.postMessage({ type: 'ready' });
})();
