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
  const note = /** @type {HTMLElement} */ (document.getElementById('note'));

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

  /**
   * A chart's DOM, built once; `update` then changes only texts and path data, so a reader's
   * focus, selection and screen-reader position survive the redraw every second.
   */
  function createChart(chart) {
    const figure = el('figure', { class: 'chart', 'data-chart': chart.id });
    const caption = el('figcaption');
    const plot = el('div', { class: 'plot' });
    const axis = el('div', { class: 'y-axis', 'aria-hidden': 'true' });
    const axisMax = el('span', { class: 'axis-max' });
    axis.append(axisMax, el('span', {}, '0'));
    const picture = svg('svg', {
      viewBox: `0 0 ${VIEW_WIDTH} ${VIEW_HEIGHT}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-labelledby': `${chart.id}-title ${chart.id}-desc`,
    });
    const title = svg('title', { id: `${chart.id}-title` });
    const desc = svg('desc', { id: `${chart.id}-desc` });
    picture.append(title, desc);
    for (const fraction of [0, 0.5, 1]) {
      const y = String(VIEW_HEIGHT * fraction);
      picture.append(svg('line', { class: 'grid', x1: '0', x2: String(VIEW_WIDTH), y1: y, y2: y }));
    }
    const time = el('div', { class: 'x-axis', 'aria-hidden': 'true' });
    const axisStart = el('span');
    time.append(axisStart, el('span', {}, 'now'));
    const legend = el('ul', { class: 'legend' });
    const paths = new Map();
    const legends = new Map();
    for (const line of chart.lines) {
      const path = svg('path', { class: 'series', 'data-key': line.key });
      colour(path, 'stroke', line.colour);
      picture.append(path);
      paths.set(line.key, path);
      const item = el('li', { 'data-key': line.key });
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      colour(swatch, 'background-color', line.colour);
      const text = el('span', { class: 'legend-text' });
      item.append(swatch, text);
      legend.append(item);
      legends.set(line.key, text);
    }
    plot.append(axis, picture);
    figure.append(caption, plot, time, legend);
    return {
      figure,
      update(next, start) {
        caption.textContent = `${next.title} (${next.unit})`;
        title.textContent = next.title;
        desc.textContent = next.summary;
        axisMax.textContent = String(next.max);
        axisStart.textContent = start;
        for (const line of next.lines) {
          const path = paths.get(line.key);
          if (line.path) path?.setAttribute('d', line.path);
          else path?.removeAttribute('d');
          const text = legends.get(line.key);
          if (text) text.textContent = line.legend;
        }
      },
    };
  }

  /** The sections on the page, by queue name, in the order last drawn. */
  let sections = new Map();

  function createSection(queue) {
    const section = el('section', { class: 'queue', 'aria-label': `queue ${queue.queue}` });
    const charts = el('div', { class: 'charts' });
    const depth = createChart(queue.depth);
    const throughput = createChart(queue.throughput);
    charts.append(depth.figure, throughput.figure);
    section.append(el('h2', {}, queue.queue), charts);
    return { section, depth, throughput };
  }

  function render(model) {
    heading.textContent = model.source ? `Taskwire · ${model.source} · ${model.windowLabel}` : `Taskwire · ${model.windowLabel}`;
    notice.textContent = model.notice ?? '';
    notice.hidden = !model.notice;
    note.textContent = model.note ?? '';
    note.hidden = !model.note;
    const names = model.queues.map((q) => q.queue);
    // The same queues in the same order (nearly always): update in place. Otherwise rebuild,
    // reusing no ids, since chart ids follow the queues' positions.
    if (names.join('\n') !== [...sections.keys()].join('\n')) {
      sections = new Map(model.queues.map((queue) => [queue.queue, createSection(queue)]));
      main.replaceChildren(...[...sections.values()].map((s) => s.section));
    }
    for (const queue of model.queues) {
      const drawn = sections.get(queue.queue);
      drawn.depth.update(queue.depth, model.axisStart);
      drawn.throughput.update(queue.throughput, model.axisStart);
    }
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
          const points = (path?.getAttribute('d')?.match(/[ML]/g) ?? []).length;
          return { key, legend: item.querySelector('.legend-text')?.textContent ?? '', points };
        }),
      };
    });
    return {
      notice: notice.hidden ? null : notice.textContent,
      note: note.hidden ? null : note.textContent,
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
