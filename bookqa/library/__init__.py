"""The library of books on disk: book folders (manifest, build, load, list, remove), uploads, the sample book."""
