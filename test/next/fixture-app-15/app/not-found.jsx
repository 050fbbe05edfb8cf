export default function NotFound() {
  return <p>not found</p>;
}
