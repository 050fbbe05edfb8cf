import { cacheLife, cacheTag } from 'next/cache';
import { products } from '../../lib/catalogue.js';
import { bump, instance } from '../../lib/counter.js';

// A large cached page (about 2 MB of HTML plus its RSC payload): stored compressed in Redis.
async function getCatalogue() {
  'use cache';
  cacheTag('catalogue');
  cacheLife({ stale: 300, revalidate: 3600, expire: 86400 });
  const n = bump('catalogue');
  return { data: `data:catalogue|${instance()}|${n}|${Date.now()}`, items: products(1100, 11) };
}

export default async function Page() {
  const { data, items } = await getCatalogue();
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
