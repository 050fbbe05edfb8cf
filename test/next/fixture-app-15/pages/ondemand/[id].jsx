import { bump, instance } from '../../lib/counter.js';

// Classic ISR (Pages Router), regenerated on demand by res.revalidate (pages/api/revalidate-page.js).
export async function getStaticPaths() {
  return { paths: [], fallback: 'blocking' };
}

export async function getStaticProps({ params }) {
  const name = `od-${params.id}`;
  return { props: { data: `data:${name}|${instance()}|${bump(name)}|${Date.now()}` }, revalidate: 3600 };
}

export default function OnDemand({ data }) {
  return <p id="data">{data}</p>;
}
