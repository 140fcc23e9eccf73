// The official openai npm package against a live studio, calls spaced as a real program
// spaces them: STUDIO_URL, STUDIO_KEY, GAPS_MS (a JSON list of pauses). No retries, so a
// connection the server dropped shows as an error instead of being retried away.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: `${process.env.STUDIO_URL}/v1`,
  apiKey: process.env.STUDIO_KEY,
  maxRetries: 0,
});
const results = [];

async function attempt(name, call) {
  try {
    const value = await call();
    results.push({ name, ok: true });
    return value;
  } catch (error) {
    results.push({ name, ok: false, error: `${error?.constructor?.name}: ${error?.message}` });
    return undefined;
  }
}

const video = await attempt("create", () =>
  client.videos.create({ prompt: "A calm ocean at sunset", seconds: "4" }),
);
for (const gap of JSON.parse(process.env.GAPS_MS)) {
  await new Promise((resolve) => setTimeout(resolve, gap));
  await attempt(`retrieve after ${gap} ms`, () => client.videos.retrieve(video.id));
}
await attempt("list", () => client.videos.list({ limit: 5 }));
console.log(JSON.stringify({ id: video?.id, results }));
