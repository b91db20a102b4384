"""Dump importers: kcat -J output, choreo's own JSONL, plain JSON lines;
gzip/zstd, stdin, globs. Entry point: ``runner.import_files``."""
