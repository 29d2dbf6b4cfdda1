"""Rendering the output folder (DESIGN §3): ``files`` builds ``{path: text}`` from the answers
(pure), ``writer`` plans the writes and makes them (atomic, manifest, three-way merges, backups)."""

from quickstart.render.files import data_layer_blocks, render_files
from quickstart.render.writer import FileStatus, WriteResult, write_folder

__all__ = ["FileStatus", "WriteResult", "data_layer_blocks", "render_files", "write_folder"]
