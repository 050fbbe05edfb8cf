import { updateTagAction } from '../actions.js';

// References the Server Action, so the build lists it (and a browser can submit it).
export default function Page() {
  return (
    <form action={updateTagAction}>
      <input name="tag" defaultValue="uc-1" />
      <button type="submit">updateTag</button>
    </form>
  );
}
