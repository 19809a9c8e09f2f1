// ECharts (vendored, /static/vendor/echarts.esm.min.js) as a Preact hook: loaded on first use
// only, so the pages without charts do not pay for it.
import { useEffect, useRef, useState } from 'preact/hooks';

let loading = null;
/** The ECharts module, imported once. */
export const loadECharts = () => (loading ||= import('echarts'));

/**
 * A chart in the returned ref's element, drawn with `option` (and again whenever it changes),
 * resized with its element, disposed of on unmount. `prepare(echarts)` runs once before the
 * first draw (e.g. registerMap); the chart waits until `ready` is true. `onClick(params)` hears
 * a click on a figure (ECharts' own event parameters: dataIndex, name, value…).
 */
export function useChart(option, { ready = true, prepare = null, theme = null, onClick = null } = {}) {
  const ref = useRef(null);
  const chart = useRef(null);
  const clicked = useRef(onClick);
  clicked.current = onClick;
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    let gone = false;
    let observer = null;
    loadECharts().then((echarts) => {
      if (gone || !ref.current) return;
      if (prepare) prepare(echarts);
      chart.current = echarts.init(ref.current, theme, { renderer: 'canvas' });
      chart.current.on('click', (params) => clicked.current && clicked.current(params));
      observer = new ResizeObserver(() => chart.current && chart.current.resize());
      observer.observe(ref.current);
      setLoaded(true);
    });
    return () => {
      gone = true;
      if (observer) observer.disconnect();
      if (chart.current) chart.current.dispose();
      chart.current = null;
    };
  }, [ready]);

  useEffect(() => {
    if (loaded && ready && chart.current && option) chart.current.setOption(option, true);
  }, [loaded, ready, option]);

  return ref;
}
