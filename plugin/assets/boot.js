// Loads the Backchannel wasm UI. Kept as a file (not inline) so the popup's
// Content-Security-Policy can forbid inline script.
import init from "/assets/ui/backchannel.js";

init().catch((error) => {
  // The page still works without the bundle: the form and Refresh link remain.
  console.error("Backchannel UI failed to start; the plain form still works.", error);
});
