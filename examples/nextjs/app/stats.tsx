import { snapshot } from '../lib/larder';

/** The cache's live stats, read on every request. */
export function Stats() {
  const { cache, dbQueries, pid } = snapshot();
  const rows: [string, string | number][] = [
    ['hits', cache.hits],
    ['misses', cache.misses],
    ['hit rate', `${(cache.hitRate * 100).toFixed(1)}%`],
    ['entries', cache.size],
    ['loads', cache.loads],
    ['database queries', dbQueries],
    ['process', pid],
  ];
  return (
    <table id="stats" style={{ borderCollapse: 'collapse' }}>
      <tbody>
        {rows.map(([name, value]) => (
          <tr key={name}>
            <th style={{ textAlign: 'left', paddingRight: '1.5rem', fontWeight: 500 }}>{name}</th>
            <td data-stat={name}>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
