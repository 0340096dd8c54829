"""Media adapters: files <-> arrays <-> the image-like canvas the engine optimises."""
