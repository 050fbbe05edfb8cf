import { unstable_cache } from 'next/cache';
import { products } from '../../lib/catalogue.js';
import { bump, instance } from '../../lib/counter.js';

// A large ISR page (about 2 MB of HTML plus its RSC payload): stored compressed in Redis.
export const revalidate = 3600;

const load = unstable_cache(
  async () => `data:catalogue|${instance()}|${bump('catalogue')}|${Date.now()}`,
  ['catalogue'],
  { tags: ['catalogue'], revalidate: 3600 },
);

export default async function Page() {
  const data = await load();
  const items = products(1100, 11);
  return (
    <main className="catalogue">
      <p id="data">{data}</p>
      {items.map((p) => (
        <article className="product-card" data-id={p.id} key={p.id}>
          <a href={`/products/${p.id}`} className="product-link">
            <span className="thumb" data-src={`/images/${p.id}.webp`} title={p.alt} />
            <h2 className="product-title">{p.title}</h2>
          </a>
          <p className="product-description">{p.description}</p>
          <div className="product-meta">
            <span className="price">${p.price}</span>
            <span className="stock">{p.stock} in stock</span>
            <button type="button" className="add-to-cart" data-product={p.id}>
              Add to cart
            </button>
          </div>
        </article>
      ))}
    </main>
  );
}
