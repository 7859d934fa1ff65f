// This package's public surface is built in a later issue (see shared/DESIGN.md); it exports nothing yet.
export {};
