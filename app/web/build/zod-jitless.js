// Evaluated before `ai` makes any schema: zod probes `new Function` (to compile faster
// parsers) unless told not to, and the playground's Content-Security-Policy refuses that;
// the browser reports the refusal as an error even though zod catches it.
import { config } from 'zod/v4/core';

config({ jitless: true });
