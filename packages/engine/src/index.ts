// Placeholder while the engine is written: see docs/engine.md for the API.
export {};
