"""README.md's generated blocks (op table, catalogue limitations) match the catalogue."""

from pathlib import Path

from torchfuzz.generator.coverage import update_readme

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_blocks_match_the_catalogue():
    text = README.read_text()
    assert update_readme(text) == text, (
        "README.md's op table or generated limitations are stale: "
        "run `torchfuzz ops --write-readme` to regenerate them"
    )
