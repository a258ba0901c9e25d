"""Reading a book: PDF -> pages (labels, printed lines with font and box) -> outline and headings -> cleaning
(page furniture, contents, index, references) -> section-aware chunks."""
