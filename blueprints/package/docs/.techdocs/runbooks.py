"""MkDocs hook: serve runbooks/*.md (where every alert's runbook_url points) as runbooks/ pages.

MkDocs builds a single docs_dir (docs/), and runbooks/ sits beside it; this adds each runbook
to the site as if it were docs/runbooks/<Alert>.md, so mkdocs.yml's nav can list them.
"""

from pathlib import Path

from mkdocs.structure.files import File


def on_files(files, config):
    root = Path(config["config_file_path"]).parent
    for path in sorted((root / "runbooks").glob("*.md")):
        files.append(File(f"runbooks/{path.name}", str(root), config["site_dir"], config["use_directory_urls"]))
    return files
