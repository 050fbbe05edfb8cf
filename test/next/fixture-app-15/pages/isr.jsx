import { bump, instance } from '../lib/counter.js';

// Classic ISR (Pages Router): stored as a PAGES entry through the `cacheHandler` handler.
export async function getStaticProps() {
  return { props: { data: `data:isr|${instance()}|${bump('isr')}|${Date.now()}` }, revalidate: 3600 };
}

export default function Isr({ data }) {
  return <p id="data">{data}</p>;
}
